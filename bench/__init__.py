"""Benchmarks of the validator: ``python -m bench`` (see ``bench/__main__.py``).

Never part of the test suite. They contact only 127.0.0.1: a loopback DNS server
(``tests/support/dnsserver.py``) and the server processes they start themselves.
"""
