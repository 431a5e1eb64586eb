"""Query and mutation logic, loaders."""
