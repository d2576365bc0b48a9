"""Typed keys of the objects an application shares with its handlers."""

from __future__ import annotations

from aiohttp import web

from ..checker import Checker
from ..config import Settings
from ..jobs import JobRunner
from ..metrics import Metrics
from ..mx import MxResolver
from ..store import Store

SETTINGS = web.AppKey("settings", Settings)
METRICS = web.AppKey("metrics", Metrics)
RESOLVER = web.AppKey("resolver", MxResolver)
CHECKER = web.AppKey("checker", Checker)
SHUTTING_DOWN = web.AppKey("shutting_down", list[bool])
STORE = web.AppKey("store", Store)
JOB_RUNNER = web.AppKey("job_runner", JobRunner)
API_KEY_NAME = web.RequestKey("api_key_name", str)  # the authenticated key's name, for the audit trail
