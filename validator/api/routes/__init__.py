"""Route handlers, one module per resource: parse (wire) → call → serialise."""
