"""MXNet operator converters, one module per op family; each registers itself."""
