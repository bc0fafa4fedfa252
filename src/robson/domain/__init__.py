"""The domain: value types, instruments, orders, fills, operations and positions. Stdlib only."""
