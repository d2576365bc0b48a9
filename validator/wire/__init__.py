"""Pure request parsing and JSON/CSV shapes, shared by the HTTP and command-line edges. No aiohttp here."""
