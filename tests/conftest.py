"""Fixtures shared by every test directory: the loopback DNS server, the stores, the scripted SMTP servers.

Only fixtures live here; the servers and helpers they start are in ``tests/support/`` so benchmarks
and scripts can use them without pytest (pytest puts the project root on ``sys.path``, see
``pythonpath`` in pyproject.toml).
"""

from __future__ import annotations

import os
import secrets
from collections.abc import AsyncIterator, Iterator
from urllib.parse import urlsplit

import pytest

from tests.support import redis_server
from tests.support.dnsserver import DnsServer
from tests.support.postgres_server import embedded_server
from tests.support.processes import unreachable
from tests.support.smtpserver import SmtpServers


@pytest.fixture(scope="session", autouse=True)
def data_home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """The default store (``$XDG_DATA_HOME/validator``) in a folder of the session's, for this process and
    every command it starts: a test never writes to the user's own store."""
    before = os.environ.get("XDG_DATA_HOME")
    os.environ["XDG_DATA_HOME"] = str(tmp_path_factory.mktemp("data-home"))
    yield
    if before is None:
        del os.environ["XDG_DATA_HOME"]
    else:
        os.environ["XDG_DATA_HOME"] = before


@pytest.fixture(scope="session")
def dns_server() -> Iterator[DnsServer]:
    """One DNS server on 127.0.0.1 (UDP and TCP, same port) for the whole session."""
    with DnsServer() as server:
        yield server


@pytest.fixture
def dns(dns_server: DnsServer) -> Iterator[DnsServer]:
    """The session's DNS server with an empty zone and zeroed counters for this test."""
    dns_server.clear()
    yield dns_server
    errors = list(dns_server.errors)
    dns_server.clear()
    assert not errors, f"the test DNS server failed: {errors!r}"


# --- Store fixtures: a fresh SQLite file or a fresh PostgreSQL database per test. ----------------
# PostgreSQL: the server at TEST_POSTGRES_URL (default 127.0.0.1:5432, trust auth), or, when it is
# unreachable, an embedded one started for the session (tests/support/postgres_server.py). Never skipped.
# Redis likewise: TEST_REDIS_URL (default 127.0.0.1:6379), else a private one (tests/support/redis_server.py).

POSTGRES_ADMIN_URL = os.environ.get("TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
_STAND_IN_NOTES: list[str] = []


def _say_now(request: pytest.FixtureRequest, note: str) -> None:
    """Say which server stands in for the configured one now (starting it takes seconds) and again at the end."""
    _STAND_IN_NOTES.append(note)
    plugins = request.config.pluginmanager
    reporter, capture = plugins.get_plugin("terminalreporter"), plugins.get_plugin("capturemanager")
    if reporter is not None and capture is not None:
        with capture.global_and_fixture_disabled():
            reporter.write_line(f"\n{note}")


@pytest.fixture(scope="session")
def postgres_admin_url(request: pytest.FixtureRequest) -> Iterator[str]:
    """The test server's maintenance database URL: the configured server's, else an embedded one's."""
    why = unreachable(POSTGRES_ADMIN_URL, 5432, "PostgreSQL")
    if why is None:
        yield POSTGRES_ADMIN_URL
        return
    with embedded_server() as url:
        _say_now(request, f"{why}: the PostgreSQL tests use an embedded PostgreSQL server at {urlsplit(url).netloc}")
        yield url


@pytest.fixture(scope="session")
def redis_url(request: pytest.FixtureRequest) -> Iterator[str]:
    """The Redis the replica tests share limits through: the configured server, else a private one."""
    why = redis_server.unreachable(REDIS_URL)
    if why is None:
        yield REDIS_URL
        return
    server = redis_server.binary()
    if isinstance(server, str):
        pytest.fail(f"{why}, and no redis-server can be started here: {server}", pytrace=False)
    with redis_server.private_server(server) as url:
        _say_now(request, f"{why}: the Redis tests use a private {server} at {urlsplit(url).netloc}")
        yield url


def pytest_terminal_summary(terminalreporter) -> None:  # type: ignore[no-untyped-def]
    """Say again at the end which servers the suite ran against where they were not the configured ones."""
    for note in _STAND_IN_NOTES:
        terminalreporter.write_line(note)


@pytest.fixture(scope="session")
def postgres_database(postgres_admin_url: str) -> Iterator[str]:
    """One database for this session on the test server (creating one per test costs ~0.5 s)."""
    import asyncio

    import asyncpg

    name = f"validator_test_{os.getpid()}_{secrets.token_hex(4)}"

    async def admin(sql: str) -> None:
        conn = await asyncpg.connect(postgres_admin_url)
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    asyncio.run(admin(f'CREATE DATABASE "{name}"'))
    yield urlsplit(postgres_admin_url)._replace(path=f"/{name}").geturl()
    asyncio.run(admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture
async def postgres_url(postgres_database: str) -> AsyncIterator[str]:
    """The session's database, emptied for this test: no tables, no schema_migrations."""
    import asyncpg

    conn = await asyncpg.connect(postgres_database)
    try:  # end connections a previous test may have left, then start from nothing
        await conn.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
        await conn.execute("DROP SCHEMA public CASCADE; CREATE SCHEMA public")
    finally:
        await conn.close()
    yield postgres_database


@pytest.fixture(params=["sqlite", "postgres"])
def store_url(request: pytest.FixtureRequest, tmp_path) -> str:
    """``VALIDATOR_DATABASE_URL`` of an empty store, once per backend."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'store' / 'validator.sqlite3'}"  # absolute: sqlite:////tmp/...
    return request.getfixturevalue("postgres_url")


@pytest.fixture
async def store(store_url: str):
    """An open store on an empty database, closed after the test."""
    from validator.store import open_store

    opened = await open_store(store_url)
    yield opened
    await opened.close()


# --- Scripted SMTP servers on loopback (tests/support/smtpserver.py) for the prober. -----------------


@pytest.fixture(scope="session")
def smtp_servers() -> Iterator[SmtpServers]:
    """One thread serving every scripted SMTP server of the session (127.0.x.y, one shared port)."""
    with SmtpServers() as servers:
        yield servers


@pytest.fixture
def smtp(smtp_servers: SmtpServers) -> Iterator[SmtpServers]:
    """The session's SMTP servers; those a test starts are stopped after it."""
    yield smtp_servers
    smtp_servers.stop_all()
