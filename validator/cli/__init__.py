"""The command line: one module per command group; ``main`` parses arguments and dispatches."""
