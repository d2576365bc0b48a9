"""The access log through a real aiohttp server: batched or through logging, the same masked line."""

import asyncio
import io
import logging

import pytest
from aiohttp import ClientSession, web

from validator.api.access_log import LOG_FORMAT, MaskedAccessLogger, flush_access_log


class _Collect(logging.Handler):
    """Not a plain stream handler: the access log must go through logging for it, masked the same."""

    def __init__(self) -> None:
        super().__init__()
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


async def _ok(request: web.Request) -> web.Response:
    return web.Response(text="ok")


@pytest.mark.parametrize("batched", [True, False], ids=["plain-stream-batched", "other-handler-through-logging"])
async def test_both_paths_log_the_same_masked_line(batched: bool) -> None:
    logger = logging.getLogger(f"test.access.{batched}")
    logger.handlers.clear()
    logger.propagate, logger.level = False, logging.INFO
    stream, collect = io.StringIO(), _Collect()
    if batched:
        handler = logging.StreamHandler(stream)
        handler.setFormatter(logging.Formatter(LOG_FORMAT))
        logger.addHandler(handler)
    else:
        logger.addHandler(collect)
    app = web.Application()
    app.router.add_get("/v1/x/{email}", _ok)
    runner = web.AppRunner(app, access_log=logger, access_log_class=MaskedAccessLogger)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        async with (
            ClientSession() as session,
            session.get(f"http://127.0.0.1:{port}/v1/x/first%2Elast%40example.com?token=s3cret") as response,
        ):
            assert response.status == 200
        text = await _logged(stream, collect, batched)
    finally:
        await runner.cleanup()
    assert '"GET /v1/x/f***@example.com?token=*" 200 ' in text
    assert "last" not in text and "s3cret" not in text
    assert (" INFO test.access.True 127.0.0.1 " in text) is batched  # the line logging's format would give


async def _logged(stream: io.StringIO, collect: _Collect, batched: bool) -> str:
    text = ""
    for _ in range(200):  # the line is logged once the response has gone, maybe after the client read it
        flush_access_log()
        text = stream.getvalue() if batched else "\n".join(collect.messages)
        if text:
            break
        await asyncio.sleep(0.01)
    return text
