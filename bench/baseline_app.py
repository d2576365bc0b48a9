"""Reference servers for the HTTP benchmark, run as their own processes like ``validator serve``.

``python -m bench.baseline_app plain --port N [--workers K]``
    the baseline: an aiohttp handler that decodes the JSON body and echoes the address.
``python -m bench.baseline_app email-validator --port N [--workers K]``
    the same, calling ``email_validator.validate_email(email, check_deliverability=False)``.

Both serve ``POST /v1/validate`` (the path our service uses), ``POST /v1/events`` (NDJSON
decoded line by line, for ``bench ingest``) and ``GET /healthz``, with no
access log, on 127.0.0.1. Several workers share the port through SO_REUSEPORT, as ours do.
"""

from __future__ import annotations

import argparse
import multiprocessing

import orjson
from aiohttp import web
from email_validator import EmailNotValidError, validate_email


async def echo(request: web.Request) -> web.Response:
    data = await request.json()
    return web.json_response({"email": data["email"], "ok": True})


async def email_validator_wrapper(request: web.Request) -> web.Response:
    data = await request.json()
    try:
        valid = validate_email(data["email"], check_deliverability=False)
    except EmailNotValidError as exc:
        return web.json_response({"email": data["email"], "ok": False, "message": str(exc)})
    return web.json_response({"email": data["email"], "normalized": valid.normalized, "ok": True})


async def events(request: web.Request) -> web.Response:
    """The least any event ingestion does: read NDJSON and decode each line (for ``bench ingest``)."""
    lines = [orjson.loads(line) for line in (await request.read()).splitlines() if line.strip()]
    return web.json_response({"count": len(lines)})


async def healthz(request: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})


HANDLERS = {"plain": echo, "email-validator": email_validator_wrapper}


def serve(kind: str, port: int, reuse_port: bool) -> None:
    app = web.Application()
    app.router.add_post("/v1/validate", HANDLERS[kind])
    app.router.add_post("/v1/events", events)
    app.router.add_get("/healthz", healthz)
    web.run_app(app, host="127.0.0.1", port=port, reuse_port=reuse_port or None, access_log=None, print=None)


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.baseline_app")
    parser.add_argument("kind", choices=sorted(HANDLERS))
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--workers", type=int, default=1)
    args = parser.parse_args()
    if args.workers == 1:
        serve(args.kind, args.port, reuse_port=False)
        return
    context = multiprocessing.get_context("spawn")
    children = [context.Process(target=serve, args=(args.kind, args.port, True)) for _ in range(args.workers)]
    for child in children:
        child.start()
    for child in children:
        child.join()  # SIGTERM reaches the children too: the bench signals the whole process group


if __name__ == "__main__":
    main()
