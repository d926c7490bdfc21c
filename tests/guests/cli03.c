// A freestanding C guest for WASI 0.3 with the component model async ABI written by hand
// (no wit-bindgen, no libc). `wasm-tools component new` turns the core imports and exports
// named below into canonical built-ins and a callback-lifted `wasi:cli/run@0.3.0#run`.
//
// Scenarios (args[1]): none / "hello" prints hello and the args; "big MIB" writes MIB MiB to
// stdout in 4 MiB stream writes; "cat" copies stdin to stdout; "exit N" exits with code N;
// "err" returns err from run.

typedef unsigned char u8;
typedef unsigned int u32;
typedef unsigned long long u64;
typedef unsigned long size_t;

#define IMPORT(module, name) __attribute__((import_module(module), import_name(name)))
#define EXPORT(name) __attribute__((export_name(name)))

#define STDOUT "wasi:cli/stdout@0.3.0"
#define STDIN "wasi:cli/stdin@0.3.0"

IMPORT("wasi:cli/environment@0.3.0", "get-arguments") void get_arguments(u32 *ret);
IMPORT("wasi:cli/exit@0.3.0", "exit-with-code") void exit_with_code(u32 code);

IMPORT(STDOUT, "write-via-stream") u32 stdout_write_via_stream(u32 rx);
IMPORT(STDOUT, "[stream-new-0]write-via-stream") u64 out_stream_new(void);
IMPORT(STDOUT, "[async-lower][stream-write-0]write-via-stream") u32 out_stream_write(u32 tx, const void *p, u32 n);
IMPORT(STDOUT, "[stream-drop-writable-0]write-via-stream") void out_stream_drop_writable(u32 tx);
IMPORT(STDOUT, "[async-lower][future-read-1]write-via-stream") u32 out_future_read(u32 f, void *p);
IMPORT(STDOUT, "[future-drop-readable-1]write-via-stream") void out_future_drop_readable(u32 f);

IMPORT(STDIN, "read-via-stream") void stdin_read_via_stream(u32 *ret);
IMPORT(STDIN, "[async-lower][stream-read-0]read-via-stream") u32 in_stream_read(u32 rx, void *p, u32 n);
IMPORT(STDIN, "[stream-drop-readable-0]read-via-stream") void in_stream_drop_readable(u32 rx);
IMPORT(STDIN, "[async-lower][future-read-1]read-via-stream") u32 in_future_read(u32 f, void *p);
IMPORT(STDIN, "[future-drop-readable-1]read-via-stream") void in_future_drop_readable(u32 f);

IMPORT("$root", "[waitable-set-new]") u32 waitable_set_new(void);
IMPORT("$root", "[waitable-set-wait]") u32 waitable_set_wait(u32 set, u32 *event);
IMPORT("$root", "[waitable-set-drop]") void waitable_set_drop(u32 set);
IMPORT("$root", "[waitable-join]") void waitable_join(u32 w, u32 set);
IMPORT("[export]wasi:cli/run@0.3.0", "[task-return]run") void task_return_run(u32 is_err);

#define BLOCKED 0xffffffffu
#define STATUS_COMPLETED 0
#define STATUS_DROPPED 1

// --- memory: a bump allocator is all cabi_realloc needs here ---------------------------------

extern u8 __heap_base;
static u8 *heap = &__heap_base;

static void *alloc(size_t size, size_t align) {
  size_t p = ((size_t)heap + align - 1) & ~(align - 1);
  size_t end = p + size;
  size_t have = __builtin_wasm_memory_size(0) * 65536;
  if (end > have) {
    if (__builtin_wasm_memory_grow(0, (end - have + 65535) / 65536) == (size_t)-1)
      __builtin_trap();
  }
  heap = (u8 *)end;
  return (void *)p;
}

EXPORT("cabi_realloc") void *cabi_realloc(void *old, size_t old_size, size_t align, size_t new_size) {
  u8 *p = alloc(new_size, align);
  for (size_t i = 0; i < old_size && i < new_size; i++) p[i] = ((u8 *)old)[i];
  return p;
}

static void *memcpy_(void *d, const void *s, size_t n) {
  for (size_t i = 0; i < n; i++) ((u8 *)d)[i] = ((const u8 *)s)[i];
  return d;
}

// --- waiting on one waitable at a time (blocking: allowed in an async-lifted task) ------------

static u32 wset;

static u32 wait_for(u32 waitable) {
  u32 event[2];
  waitable_join(waitable, wset);
  waitable_set_wait(wset, event);
  waitable_join(waitable, 0);
  return event[1];  // the payload: (count << 4) | status for streams, status for futures
}

// --- stdout --------------------------------------------------------------------------------

static u32 out_tx, out_done;

static void out_open(void) {
  u64 ends = out_stream_new();
  u32 rx = (u32)ends, tx = (u32)(ends >> 32);
  out_tx = tx;
  out_done = stdout_write_via_stream(rx);
}

static void out_write(const void *p, u32 n) {
  while (n > 0) {
    u32 r = out_stream_write(out_tx, p, n);
    if (r == BLOCKED) r = wait_for(out_tx);
    u32 count = r >> 4;
    if ((r & 0xf) == STATUS_DROPPED && count == 0) __builtin_trap();
    p = (const u8 *)p + count;
    n -= count;
  }
}

static void out_close(void) {
  u8 result[4];
  out_stream_drop_writable(out_tx);
  u32 r = out_future_read(out_done, result);
  if (r == BLOCKED) wait_for(out_done);
  out_future_drop_readable(out_done);
}

static size_t strlen_(const char *s) {
  size_t n = 0;
  while (s[n]) n++;
  return n;
}

static void out_str(const char *s) { out_write(s, strlen_(s)); }

static void out_uint(u64 v) {
  char buf[24];
  int i = 23;
  buf[i] = 0;
  do { buf[--i] = '0' + v % 10; v /= 10; } while (v);
  out_str(buf + i);
}

static int streq(const char *a, u32 alen, const char *b) {
  u32 blen = strlen_(b);
  if (alen != blen) return 0;
  for (u32 i = 0; i < alen; i++) if (a[i] != b[i]) return 0;
  return 1;
}

static u64 parse_uint(const char *s, u32 n) {
  u64 v = 0;
  for (u32 i = 0; i < n; i++) v = v * 10 + (s[i] - '0');
  return v;
}

// --- scenarios -----------------------------------------------------------------------------

typedef struct { const char *ptr; u32 len; } str;

static void big(u64 mib) {
  u32 chunk = 4u << 20;
  u8 *buf = alloc(chunk, 16);
  for (u32 i = 0; i < chunk; i++) buf[i] = 'a' + i % 26;
  for (u64 done = 0; done < mib; done += 4) {
    u32 n = (mib - done >= 4) ? chunk : (u32)((mib - done) << 20);
    out_write(buf, n);
  }
}

static void cat(void) {
  u32 ends[2];
  stdin_read_via_stream(ends);
  u32 rx = ends[0], done = ends[1];
  u32 chunk = 1u << 20;
  u8 *buf = alloc(chunk, 16);
  for (;;) {
    u32 r = in_stream_read(rx, buf, chunk);
    if (r == BLOCKED) r = wait_for(rx);
    u32 count = r >> 4;
    if (count) out_write(buf, count);
    if ((r & 0xf) == STATUS_DROPPED) break;
  }
  in_stream_drop_readable(rx);
  u8 result[4];
  if (in_future_read(done, result) == BLOCKED) wait_for(done);
  in_future_drop_readable(done);
}

EXPORT("[async-lift]wasi:cli/run@0.3.0#run") u32 run(void) {
  wset = waitable_set_new();
  out_open();
  struct { str *ptr; u32 len; } args;
  get_arguments((u32 *)&args);
  const char *what = args.len > 1 ? args.ptr[1].ptr : "hello";
  u32 what_len = args.len > 1 ? args.ptr[1].len : 5;
  u32 is_err = 0;
  if (streq(what, what_len, "big") && args.len > 2) {
    big(parse_uint(args.ptr[2].ptr, args.ptr[2].len));
  } else if (streq(what, what_len, "cat")) {
    cat();
  } else if (streq(what, what_len, "exit") && args.len > 2) {
    out_str("exiting\n");
    out_close();
    exit_with_code((u32)parse_uint(args.ptr[2].ptr, args.ptr[2].len));
    __builtin_trap();
  } else if (streq(what, what_len, "err")) {
    out_str("returning err\n");
    is_err = 1;
  } else {
    out_str("hello from C\nargc ");
    out_uint(args.len);
    out_str("\n");
    for (u32 i = 1; i < args.len; i++) {
      out_str("arg[");
      out_uint(i);
      out_str("] = '");
      out_write(args.ptr[i].ptr, args.ptr[i].len);
      out_str("'\n");
    }
  }
  out_close();
  waitable_set_drop(wset);
  task_return_run(is_err);
  return 0;  // EXIT
}

EXPORT("[callback][async-lift]wasi:cli/run@0.3.0#run") u32 run_callback(u32 event, u32 p1, u32 p2) {
  (void)event; (void)p1; (void)p2;
  __builtin_trap();  // run never returns WAIT or YIELD, so no event is ever delivered here
}

static void *unused_ = (void *)memcpy_;
