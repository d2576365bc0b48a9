"""The MX adapter: where a domain's mail goes, as one ``MxAnswer`` (``resolver.py``), from DNS
queries over c-ares (``queries.py``, the only module that knows aiodns and pycares)."""

from validator.mx.resolver import MxResolver, MxStats

__all__ = ["MxResolver", "MxStats"]
