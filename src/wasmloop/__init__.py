"""wasmloop: an asyncio-native host runtime for WebAssembly components."""
