"""Typed keys of the objects an application shares with its handlers."""

from __future__ import annotations

from collections.abc import Callable

from aiohttp import web

from validator.api.publishable import PublishableGate
from validator.bounces.ingest import Ingestor
from validator.bounces.rates import Thresholds
from validator.bounces.webhooks import WebhookSecrets
from validator.checker import Checker
from validator.config import Settings
from validator.metrics import Metrics
from validator.mx import MxResolver
from validator.priority import RealtimeGate
from validator.probe.prober import Prober
from validator.store import Store

SETTINGS = web.AppKey("settings", Settings)
METRICS = web.AppKey("metrics", Metrics)
RESOLVER = web.AppKey("resolver", MxResolver)
CHECKER = web.AppKey("checker", Checker)
PROBER = web.AppKey("prober", Prober)  # made whether or not probing is enabled; it opens nothing until asked
SHUTTING_DOWN = web.AppKey("shutting_down", list[bool])
STORE = web.AppKey("store", Store)
INGESTOR = web.AppKey("ingestor", Ingestor)
THRESHOLDS = web.AppKey("thresholds", Thresholds)
WEBHOOK_SECRETS = web.AppKey("webhook_secrets", WebhookSecrets)
REALTIME_GATE = web.AppKey("realtime_gate", RealtimeGate)  # validations in flight: bulk jobs wait meanwhile
JOB_WAKE: web.AppKey[Callable[[], None]] = web.AppKey(
    "job_wake"
)  # a job was queued: the runner, here or in the child, looks now
API_KEY_NAME = web.RequestKey("api_key_name", str)  # the authenticated key's name, for the audit trail
PUBLISHABLE_KEY = web.RequestKey("publishable_key", bool)  # answered as a web page may see it
PUBLISHABLE_GATE = web.AppKey("publishable_gate", PublishableGate)
API_KEY_ID = web.RequestKey("api_key_id", str)  # the authenticated key's id: owns the jobs it submits
API_KEY_ADMIN = web.RequestKey("api_key_admin", bool)  # the key has the admin scope (sees every key's jobs)
