"""The HTTP edge: aiohttp application, routes, wire format and error rendering."""

from validator.api.app import create_app

__all__ = ["create_app"]
