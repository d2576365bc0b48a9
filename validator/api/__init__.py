"""The HTTP edge: aiohttp application, routes, wire format and error rendering."""

from .app import create_app

__all__ = ["create_app"]
