"""The suppression list: how addresses map to keys, and streaming imports into the store."""
