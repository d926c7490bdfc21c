"""The component runtime: instances, resources, tasks, calls, instantiation."""
