"""A machine without Redis still runs the Redis tests: against a private server started for the session.

CI has Redis at 127.0.0.1:6379, so the stand-in is exercised here on purpose, with Debian's binary
unpacked as a laptop without ``redis-server`` on its PATH would get it (tests/support/redis_server.py).
"""

from __future__ import annotations

from pathlib import Path

import redis

from tests.support import redis_server
from tests.support.processes import free_port


def test_a_closed_port_is_said_to_be_unreachable():
    assert redis_server.unreachable(f"redis://127.0.0.1:{free_port()}/0") is not None


def test_debians_server_unpacked_serves_the_tests_and_keeps_nothing():
    server = redis_server.debian_binary()
    assert isinstance(server, Path), server
    with redis_server.private_server(server) as url:
        assert redis_server.unreachable(url) is None
        client = redis.Redis.from_url(url)
        try:
            client.set("validator-test", "kept")
            assert client.get("validator-test") == b"kept"
            assert client.config_get("save") == {"save": ""} and client.config_get("appendonly")["appendonly"] == "no"
            assert client.info("server")["executable"].startswith(str(server.parent))  # the unpacked one, not PATH's
        finally:
            client.close()
    assert redis_server.unreachable(url) is not None  # stopped with the block
