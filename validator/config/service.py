"""Settings of the HTTP service, its store, DNS, validation limits, signals and bounce learning."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

from validator.config.fields import SignalEffect, setting


@dataclass(frozen=True)
class ServiceSettings:
    """The service's own settings; the defaults run the embedded service on SQLite."""

    host: str = setting("VALIDATOR_HOST", "Address to listen on.", "127.0.0.1")
    port: int = setting("VALIDATOR_PORT", "TCP port to listen on.", 8080)
    database_url: str = setting(
        "VALIDATOR_DATABASE_URL",
        "Store location: `sqlite:///path` (embedded default) or `postgresql://...`. The default is one file per "
        "user wherever a command runs from (`docs/cli.md`); `serve` and the store commands print the one in use.",
        default_factory=lambda: default_database_url(os.environ),
        shown="`sqlite:///$XDG_DATA_HOME/validator/validator.sqlite3`",
    )
    store_timeout: float = setting(
        "VALIDATOR_STORE_TIMEOUT",
        "Longest seconds a write waits in all (behind earlier writes, for a connection and for locks) before "
        "answering 503.",
        5.0,
    )
    dns_nameservers: tuple[tuple[str, int], ...] = setting(
        "VALIDATOR_DNS_NAMESERVERS",
        "Comma-separated resolvers, each `ip` or `ip:port` (`[v6]:port` for IPv6). Empty: the system's.",
        (),
        shown="(system resolvers)",
    )
    dns_timeout: float = setting(
        "VALIDATOR_DNS_TIMEOUT",
        "Seconds one DNS try waits for an answer; a query answers `dns_timeout` after this times "
        "`VALIDATOR_DNS_TRIES` seconds without one ([docs/dns.md](docs/dns.md)).",
        2.0,
    )
    dns_tries: int = setting("VALIDATOR_DNS_TRIES", "DNS tries per query before answering `dns_timeout`.", 2)
    dns_max_inflight: int = setting(
        "VALIDATOR_DNS_MAX_INFLIGHT", "DNS queries outstanding at once; more wait their turn.", 200
    )
    dns_cache_size: int = setting("VALIDATOR_DNS_CACHE_SIZE", "Domains kept in the MX answer cache.", 100_000)
    dns_negative_ttl: float = setting(
        "VALIDATOR_DNS_NEGATIVE_TTL",
        "Longest seconds an NXDOMAIN / no-MX answer is cached (shorter if the zone's SOA says so).",
        300.0,
    )
    dns_max_ttl: float = setting("VALIDATOR_DNS_MAX_TTL", "Longest seconds a positive MX answer is cached.", 3600.0)
    dns_error_ttl: float = setting(
        "VALIDATOR_DNS_ERROR_TTL", "Seconds a SERVFAIL/timeout answer is cached (0 disables).", 5.0
    )
    default_timeout_ms: int = setting(
        "VALIDATOR_DEFAULT_TIMEOUT_MS", "Deadline of one validation when the request gives no `timeout_ms`.", 1500
    )
    max_timeout_ms: int = setting("VALIDATOR_MAX_TIMEOUT_MS", "Largest `timeout_ms` a request may ask for.", 30_000)
    lookup_max: int = setting("VALIDATOR_LOOKUP_MAX", "Most addresses in one `POST /v1/suppressions/lookup`.", 10_000)
    auth: bool = setting(
        "VALIDATOR_AUTH", "Require API keys (`Authorization: Bearer`). `false` only for local development.", True
    )
    publishable_rate_per_key: int = setting(
        "VALIDATOR_PUBLISHABLE_RATE_PER_KEY",
        "Validations per minute one publishable (`pk_`) key may ask, over every visitor (then 429).",
        600,
    )
    publishable_rate_per_ip: int = setting(
        "VALIDATOR_PUBLISHABLE_RATE_PER_IP",
        "Validations per minute one client (an IPv4 address, an IPv6 /64) may ask with publishable keys (then 429).",
        30,
    )
    batch_max: int = setting("VALIDATOR_BATCH_MAX", "Most addresses in one `POST /v1/validate/batch`.", 1000)
    max_message_bytes: int = setting(
        "VALIDATOR_MAX_MESSAGE_BYTES", "Largest raw bounce message `POST /v1/bounces` accepts, in bytes.", 10_485_760
    )
    chronic_soft_sends: int = setting(
        "VALIDATOR_CHRONIC_SOFT_SENDS",
        "Soft bounces of distinct sends that make an address chronic when they span `VALIDATOR_CHRONIC_SOFT_DAYS`.",
        3,
    )
    chronic_soft_days: float = setting(
        "VALIDATOR_CHRONIC_SOFT_DAYS", "Days the soft bounces of `VALIDATOR_CHRONIC_SOFT_SENDS` sends must span.", 60.0
    )
    chronic_soft_max_sends: int = setting(
        "VALIDATOR_CHRONIC_SOFT_MAX_SENDS", "Soft bounces of distinct sends that make an address chronic at once.", 5
    )
    health_hard_bounce: tuple[float, float] = setting(
        "VALIDATOR_HEALTH_HARD_BOUNCE", "Hard-bounce rate bands in percent: `warning,critical`.", (0.5, 1.0)
    )
    health_chronic_soft: tuple[float, float] = setting(
        "VALIDATOR_HEALTH_CHRONIC_SOFT", "Chronic soft-bounce rate bands in percent: `warning,critical`.", (1.0, 2.0)
    )
    health_complaint: tuple[float, float] = setting(
        "VALIDATOR_HEALTH_COMPLAINT", "Complaint rate bands in percent: `warning,critical`.", (0.05, 0.1)
    )
    health_total_bounce: tuple[float, float] = setting(
        "VALIDATOR_HEALTH_TOTAL_BOUNCE", "Account-wide total bounce rate in percent: `unhealthy,risky`.", (2.0, 5.0)
    )
    max_body_bytes: int = setting("VALIDATOR_MAX_BODY_BYTES", "Largest request body accepted, in bytes.", 1_048_576)
    body_idle_timeout: float = setting(
        "VALIDATOR_BODY_IDLE_TIMEOUT",
        "Seconds a request body may go without receiving a byte before the request is answered 408 and closed.",
        10.0,
    )
    bodies_in_flight: int = setting(
        "VALIDATOR_BODIES_IN_FLIGHT",
        "Request bodies still arriving that are read at once; others wait for a slot, up to "
        "`VALIDATOR_BODY_IDLE_TIMEOUT`, then get 503 `busy`.",
        64,
    )
    allow_smtputf8: bool = setting(
        "VALIDATOR_ALLOW_SMTPUTF8", "Accept internationalized addresses (flagged `smtputf8`).", True
    )
    allow_reserved_domains: bool = setting(
        "VALIDATOR_ALLOW_RESERVED_DOMAINS",
        "Accept special-use and reserved domains (`.test`, `.localhost`, ...): for test environments only.",
        False,
    )
    signal_disposable: SignalEffect = setting(
        "VALIDATOR_SIGNAL_DISPOSABLE", "Effect of a disposable domain: ignore, info, risky, block.", SignalEffect.BLOCK
    )
    signal_role_account: SignalEffect = setting(
        "VALIDATOR_SIGNAL_ROLE_ACCOUNT",
        "Effect of a role account (info@, sales@): ignore, info, risky, block.",
        SignalEffect.RISKY,
    )
    signal_free_provider: SignalEffect = setting(
        "VALIDATOR_SIGNAL_FREE_PROVIDER",
        "Effect of a free mailbox provider: ignore, info, risky, block.",
        SignalEffect.INFO,
    )
    signal_typo: SignalEffect = setting(
        "VALIDATOR_SIGNAL_TYPO",
        "Effect of a likely domain typo (with a suggestion): ignore, info, risky, block.",
        SignalEffect.RISKY,
    )
    workers: int = setting("VALIDATOR_WORKERS", "Server processes sharing the port (SO_REUSEPORT).", 1)
    access_log: bool = setting("VALIDATOR_ACCESS_LOG", "Write an access log line per request (addresses masked).", True)
    log_level: str = setting("VALIDATOR_LOG_LEVEL", "Logging level: DEBUG, INFO, WARNING, ERROR.", "INFO")
    shutdown_timeout: float = setting(
        "VALIDATOR_SHUTDOWN_TIMEOUT", "Seconds in-flight requests get to finish on SIGTERM.", 10.0
    )
    events_max: int = setting(
        "VALIDATOR_EVENTS_MAX", "Most events in one `POST /v1/events` body or one webhook request.", 10_000
    )
    webhook_max_age: float = setting(
        "VALIDATOR_WEBHOOK_MAX_AGE",
        "Seconds a webhook's signed time may differ from now before it is refused as a replay "
        "(SNS retries a message for up to an hour under its longest delivery policy).",
        3600.0,
    )
    ses_signing_certs: tuple[str, ...] = setting(
        "VALIDATOR_SES_SIGNING_CERTS",
        "Comma-separated paths of PEM files with the SNS signing certificates to trust (pinned: "
        "`SigningCertURL` is never fetched). With `VALIDATOR_SES_TOPIC_ARNS`, enables `/v1/webhooks/ses`.",
        (),
    )
    ses_topic_arns: tuple[str, ...] = setting(
        "VALIDATOR_SES_TOPIC_ARNS",
        "Comma-separated SNS topic ARNs whose notifications are accepted; any other is refused.",
        (),
    )
    sendgrid_verification_key: str = setting(
        "VALIDATOR_SENDGRID_VERIFICATION_KEY",
        "SendGrid Signed Event Webhook verification key (base64 DER EC public key, as SendGrid shows it). "
        "Enables `/v1/webhooks/sendgrid`.",
        "",
        secret=True,
    )
    mailgun_signing_key: str = setting(
        "VALIDATOR_MAILGUN_SIGNING_KEY",
        "Mailgun HTTP webhook signing key. Enables `/v1/webhooks/mailgun`.",
        "",
        secret=True,
    )
    postmark_webhook_user: str = setting(
        "VALIDATOR_POSTMARK_WEBHOOK_USER",
        "HTTP Basic user name Postmark sends (set in the webhook URL). With the password, enables "
        "`/v1/webhooks/postmark`.",
        "",
        secret=True,
    )
    postmark_webhook_password: str = setting(
        "VALIDATOR_POSTMARK_WEBHOOK_PASSWORD",
        "HTTP Basic password Postmark sends; compared in constant time.",
        "",
        secret=True,
    )
    sparkpost_webhook_user: str = setting(
        "VALIDATOR_SPARKPOST_WEBHOOK_USER",
        "HTTP Basic user name SparkPost sends (the webhook's `auth_type: basic`). With the password, enables "
        "`/v1/webhooks/sparkpost`.",
        "",
        secret=True,
    )
    sparkpost_webhook_password: str = setting(
        "VALIDATOR_SPARKPOST_WEBHOOK_PASSWORD",
        "HTTP Basic password SparkPost sends; compared in constant time.",
        "",
        secret=True,
    )
    mailjet_webhook_user: str = setting(
        "VALIDATOR_MAILJET_WEBHOOK_USER",
        "HTTP Basic user name Mailjet sends (set in the event URL). With the password, enables `/v1/webhooks/mailjet`.",
        "",
        secret=True,
    )
    mailjet_webhook_password: str = setting(
        "VALIDATOR_MAILJET_WEBHOOK_PASSWORD",
        "HTTP Basic password Mailjet sends; compared in constant time.",
        "",
        secret=True,
    )
    resend_signing_secret: str = setting(
        "VALIDATOR_RESEND_SIGNING_SECRET",
        "Resend webhook signing secret (`whsec_...`). Enables `/v1/webhooks/resend`.",
        "",
        secret=True,
    )


def default_database_url(environ: Mapping[str, str]) -> str:
    """The user's SQLite store, the same whatever the working folder: ``$XDG_DATA_HOME/validator/``
    (XDG Base Directory Specification: ``~/.local/share`` when unset or not absolute)."""
    base = environ.get("XDG_DATA_HOME", "")
    if not os.path.isabs(base):
        base = os.path.join(environ.get("HOME") or os.path.expanduser("~"), ".local", "share")
    return f"sqlite:///{os.path.join(base, 'validator', 'validator.sqlite3')}"
