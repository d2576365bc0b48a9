"""Settings: one frozen dataclass, read once from ``VALIDATOR_*`` variables at start-up.

This is the only module that reads the environment. Each field's metadata names its
variable and documents it; the README configuration table is checked against these
fields by a test. An invalid value raises ``ConfigError`` naming the variable, so the
process stops before it binds a port.
"""

from __future__ import annotations

import difflib
import ipaddress
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import MISSING, dataclass, field, fields, replace
from enum import StrEnum
from typing import Any

from validator.errors import ConfigError
from validator.netguard import IpNetwork, parse_networks


class SignalEffect(StrEnum):
    """What a risk signal does to a verdict whose checks otherwise passed."""

    IGNORE = "ignore"  # not even listed in reasons
    INFO = "info"  # listed in reasons; status and action unchanged
    RISKY = "risky"  # status risky, action confirm
    BLOCK = "block"  # status risky, action block


def _env(
    name: str, doc: str, default: Any = MISSING, *, secret: bool = False, shown: str | None = None, **kw: Any
) -> Any:
    """A setting: its variable, its README line, how the table shows its default; a ``secret`` one is
    left out of ``repr`` (so out of logs and tracebacks)."""
    meta = {"env": name, "doc": doc, "shown": shown}
    if "default_factory" in kw:
        return field(default_factory=kw.pop("default_factory"), metadata=meta, repr=not secret)
    return field(default=default, metadata=meta, repr=not secret)


@dataclass(frozen=True, slots=True)
class Settings:
    """Every setting of the service. The defaults run the embedded service on SQLite."""

    host: str = _env("VALIDATOR_HOST", "Address to listen on.", "127.0.0.1")
    port: int = _env("VALIDATOR_PORT", "TCP port to listen on.", 8080)
    database_url: str = _env(
        "VALIDATOR_DATABASE_URL",
        "Store location: `sqlite:///path` (embedded default) or `postgresql://...`. The default is one file per "
        "user wherever a command runs from (`docs/cli.md`); `serve` and the store commands print the one in use.",
        default_factory=lambda: default_database_url(os.environ),
        shown="`sqlite:///$XDG_DATA_HOME/validator/validator.sqlite3`",
    )
    store_timeout: float = _env(
        "VALIDATOR_STORE_TIMEOUT",
        "Longest seconds a write waits in all (behind earlier writes, for a connection and for locks) before "
        "answering 503.",
        5.0,
    )
    dns_nameservers: tuple[tuple[str, int], ...] = _env(
        "VALIDATOR_DNS_NAMESERVERS",
        "Comma-separated resolvers, each `ip` or `ip:port` (`[v6]:port` for IPv6). Empty: the system's.",
        (),
        shown="(system resolvers)",
    )
    dns_timeout: float = _env(
        "VALIDATOR_DNS_TIMEOUT",
        "Seconds one DNS try waits for an answer; a query answers `dns_timeout` after this times "
        "`VALIDATOR_DNS_TRIES` seconds without one ([docs/dns.md](docs/dns.md)).",
        2.0,
    )
    dns_tries: int = _env("VALIDATOR_DNS_TRIES", "DNS tries per query before answering `dns_timeout`.", 2)
    dns_max_inflight: int = _env(
        "VALIDATOR_DNS_MAX_INFLIGHT", "DNS queries outstanding at once; more wait their turn.", 200
    )
    dns_cache_size: int = _env("VALIDATOR_DNS_CACHE_SIZE", "Domains kept in the MX answer cache.", 100_000)
    dns_negative_ttl: float = _env(
        "VALIDATOR_DNS_NEGATIVE_TTL",
        "Longest seconds an NXDOMAIN / no-MX answer is cached (shorter if the zone's SOA says so).",
        300.0,
    )
    dns_max_ttl: float = _env("VALIDATOR_DNS_MAX_TTL", "Longest seconds a positive MX answer is cached.", 3600.0)
    dns_error_ttl: float = _env(
        "VALIDATOR_DNS_ERROR_TTL", "Seconds a SERVFAIL/timeout answer is cached (0 disables).", 5.0
    )
    default_timeout_ms: int = _env(
        "VALIDATOR_DEFAULT_TIMEOUT_MS", "Deadline of one validation when the request gives no `timeout_ms`.", 1500
    )
    max_timeout_ms: int = _env("VALIDATOR_MAX_TIMEOUT_MS", "Largest `timeout_ms` a request may ask for.", 30_000)
    lookup_max: int = _env("VALIDATOR_LOOKUP_MAX", "Most addresses in one `POST /v1/suppressions/lookup`.", 10_000)
    auth: bool = _env(
        "VALIDATOR_AUTH", "Require API keys (`Authorization: Bearer`). `false` only for local development.", True
    )
    publishable_rate_per_key: int = _env(
        "VALIDATOR_PUBLISHABLE_RATE_PER_KEY",
        "Validations per minute one publishable (`pk_`) key may ask, over every visitor (then 429).",
        600,
    )
    publishable_rate_per_ip: int = _env(
        "VALIDATOR_PUBLISHABLE_RATE_PER_IP",
        "Validations per minute one client address may ask with publishable keys (then 429).",
        30,
    )
    batch_max: int = _env("VALIDATOR_BATCH_MAX", "Most addresses in one `POST /v1/validate/batch`.", 1000)
    max_message_bytes: int = _env(
        "VALIDATOR_MAX_MESSAGE_BYTES", "Largest raw bounce message `POST /v1/bounces` accepts, in bytes.", 10_485_760
    )
    chronic_soft_sends: int = _env(
        "VALIDATOR_CHRONIC_SOFT_SENDS",
        "Soft bounces of distinct sends that make an address chronic when they span `VALIDATOR_CHRONIC_SOFT_DAYS`.",
        3,
    )
    chronic_soft_days: float = _env(
        "VALIDATOR_CHRONIC_SOFT_DAYS", "Days the soft bounces of `VALIDATOR_CHRONIC_SOFT_SENDS` sends must span.", 60.0
    )
    chronic_soft_max_sends: int = _env(
        "VALIDATOR_CHRONIC_SOFT_MAX_SENDS", "Soft bounces of distinct sends that make an address chronic at once.", 5
    )
    health_hard_bounce: tuple[float, float] = _env(
        "VALIDATOR_HEALTH_HARD_BOUNCE", "Hard-bounce rate bands in percent: `warning,critical`.", (0.5, 1.0)
    )
    health_chronic_soft: tuple[float, float] = _env(
        "VALIDATOR_HEALTH_CHRONIC_SOFT", "Chronic soft-bounce rate bands in percent: `warning,critical`.", (1.0, 2.0)
    )
    health_complaint: tuple[float, float] = _env(
        "VALIDATOR_HEALTH_COMPLAINT", "Complaint rate bands in percent: `warning,critical`.", (0.05, 0.1)
    )
    health_total_bounce: tuple[float, float] = _env(
        "VALIDATOR_HEALTH_TOTAL_BOUNCE", "Account-wide total bounce rate in percent: `unhealthy,risky`.", (2.0, 5.0)
    )
    max_body_bytes: int = _env("VALIDATOR_MAX_BODY_BYTES", "Largest request body accepted, in bytes.", 1_048_576)
    body_idle_timeout: float = _env(
        "VALIDATOR_BODY_IDLE_TIMEOUT",
        "Seconds a request body may go without receiving a byte before the request is answered 408 and closed.",
        10.0,
    )
    bodies_in_flight: int = _env(
        "VALIDATOR_BODIES_IN_FLIGHT",
        "Request bodies still arriving that are read at once; others wait for a slot, up to "
        "`VALIDATOR_BODY_IDLE_TIMEOUT`, then get 503 `busy`.",
        64,
    )
    allow_smtputf8: bool = _env(
        "VALIDATOR_ALLOW_SMTPUTF8", "Accept internationalized addresses (flagged `smtputf8`).", True
    )
    allow_reserved_domains: bool = _env(
        "VALIDATOR_ALLOW_RESERVED_DOMAINS",
        "Accept special-use and reserved domains (`.test`, `.localhost`, ...): for test environments only.",
        False,
    )
    signal_disposable: SignalEffect = _env(
        "VALIDATOR_SIGNAL_DISPOSABLE", "Effect of a disposable domain: ignore, info, risky, block.", SignalEffect.BLOCK
    )
    signal_role_account: SignalEffect = _env(
        "VALIDATOR_SIGNAL_ROLE_ACCOUNT",
        "Effect of a role account (info@, sales@): ignore, info, risky, block.",
        SignalEffect.RISKY,
    )
    signal_free_provider: SignalEffect = _env(
        "VALIDATOR_SIGNAL_FREE_PROVIDER",
        "Effect of a free mailbox provider: ignore, info, risky, block.",
        SignalEffect.INFO,
    )
    signal_typo: SignalEffect = _env(
        "VALIDATOR_SIGNAL_TYPO",
        "Effect of a likely domain typo (with a suggestion): ignore, info, risky, block.",
        SignalEffect.RISKY,
    )
    workers: int = _env("VALIDATOR_WORKERS", "Server processes sharing the port (SO_REUSEPORT).", 1)
    access_log: bool = _env("VALIDATOR_ACCESS_LOG", "Write an access log line per request (addresses masked).", True)
    log_level: str = _env("VALIDATOR_LOG_LEVEL", "Logging level: DEBUG, INFO, WARNING, ERROR.", "INFO")
    shutdown_timeout: float = _env(
        "VALIDATOR_SHUTDOWN_TIMEOUT", "Seconds in-flight requests get to finish on SIGTERM.", 10.0
    )
    events_max: int = _env(
        "VALIDATOR_EVENTS_MAX", "Most events in one `POST /v1/events` body or one webhook request.", 10_000
    )
    webhook_max_age: float = _env(
        "VALIDATOR_WEBHOOK_MAX_AGE",
        "Seconds a webhook's signed time may differ from now before it is refused as a replay "
        "(SNS retries a message for up to an hour under its longest delivery policy).",
        3600.0,
    )
    ses_signing_certs: tuple[str, ...] = _env(
        "VALIDATOR_SES_SIGNING_CERTS",
        "Comma-separated paths of PEM files with the SNS signing certificates to trust (pinned: "
        "`SigningCertURL` is never fetched). With `VALIDATOR_SES_TOPIC_ARNS`, enables `/v1/webhooks/ses`.",
        (),
    )
    ses_topic_arns: tuple[str, ...] = _env(
        "VALIDATOR_SES_TOPIC_ARNS",
        "Comma-separated SNS topic ARNs whose notifications are accepted; any other is refused.",
        (),
    )
    sendgrid_verification_key: str = _env(
        "VALIDATOR_SENDGRID_VERIFICATION_KEY",
        "SendGrid Signed Event Webhook verification key (base64 DER EC public key, as SendGrid shows it). "
        "Enables `/v1/webhooks/sendgrid`.",
        "",
        secret=True,
    )
    mailgun_signing_key: str = _env(
        "VALIDATOR_MAILGUN_SIGNING_KEY",
        "Mailgun HTTP webhook signing key. Enables `/v1/webhooks/mailgun`.",
        "",
        secret=True,
    )
    postmark_webhook_user: str = _env(
        "VALIDATOR_POSTMARK_WEBHOOK_USER",
        "HTTP Basic user name Postmark sends (set in the webhook URL). With the password, enables `/v1/webhooks/postmark`.",
        "",
        secret=True,
    )
    postmark_webhook_password: str = _env(
        "VALIDATOR_POSTMARK_WEBHOOK_PASSWORD",
        "HTTP Basic password Postmark sends; compared in constant time.",
        "",
        secret=True,
    )
    # --- SMTP RCPT probing (README "SMTP probing"): off unless enabled here AND asked for per request.
    smtp_probe: bool = _env(
        "VALIDATOR_SMTP_PROBE",
        'Allow SMTP RCPT probes (requests still opt in with `"smtp": true`). Needs outbound port 25.',
        False,
    )
    smtp_port: int = _env("VALIDATOR_SMTP_PORT", "TCP port of the MX hosts probed.", 25)
    smtp_helo_name: str = _env(
        "VALIDATOR_SMTP_HELO_NAME",
        "Name sent in EHLO/HELO: a fully qualified name whose A record is the probing IP and whose PTR "
        "matches (docs/probing.md). Probing refuses to start without a proper one.",
        "",
        shown="(the domain of `VALIDATOR_SMTP_MAIL_FROM`)",
    )
    smtp_mail_from: str = _env(
        "VALIDATOR_SMTP_MAIL_FROM",
        "Reverse path of `MAIL FROM`; empty sends the null sender `<>`. Best: an address at the HELO domain.",
        "",
        shown="(null sender `<>`)",
    )
    smtp_connect_timeout: float = _env(
        "VALIDATOR_SMTP_CONNECT_TIMEOUT", "Seconds to wait for a TCP connection and the server's greeting.", 5.0
    )
    smtp_command_timeout: float = _env(
        "VALIDATOR_SMTP_COMMAND_TIMEOUT", "Seconds to wait for the reply to one SMTP command.", 10.0
    )
    smtp_max_connections: int = _env(
        "VALIDATOR_SMTP_MAX_CONNECTIONS", "SMTP sessions open at once, over all MX hosts.", 50
    )
    smtp_max_connections_per_host: int = _env(
        "VALIDATOR_SMTP_MAX_CONNECTIONS_PER_HOST", "SMTP sessions open at once to one MX host.", 3
    )
    smtp_domain_rate: int = _env(
        "VALIDATOR_SMTP_DOMAIN_RATE",
        "Most RCPT TO probes per recipient domain in any 60 seconds; beyond it: `probe_throttled`.",
        60,
    )
    smtp_allow_networks: tuple[IpNetwork, ...] = _env(
        "VALIDATOR_SMTP_ALLOW_NETWORKS",
        "CIDR list of non-public networks MX hosts may be in (test or internal relays); they also count as routable.",
        (),
        shown="(none)",
    )
    smtp_tls_verify: bool = _env(
        "VALIDATOR_SMTP_TLS_VERIFY",
        "Verify MX certificates after STARTTLS (a failure is `smtp_unavailable`). Default: opportunistic TLS.",
        False,
    )
    smtp_result_ttl: float = _env(
        "VALIDATOR_SMTP_RESULT_TTL", "Seconds a probe's answer about one address is reused (0 disables).", 600.0
    )
    smtp_accept_all_ttl: float = _env(
        "VALIDATOR_SMTP_ACCEPT_ALL_TTL", "Seconds a domain's accept-all finding is reused.", 86400.0
    )
    smtp_session_recipients: int = _env(
        "VALIDATOR_SMTP_SESSION_RECIPIENTS", "Most RCPT TO commands in one SMTP session before it is closed.", 50
    )
    smtp_session_refusals: int = _env(
        "VALIDATOR_SMTP_SESSION_REFUSALS",
        "Refused RCPT TO after which an SMTP session is ended and another opened: below the error limits "
        "that make servers slow down or drop a client (Postfix: 10 and 20).",
        8,
    )
    smtp_idle_timeout: float = _env(
        "VALIDATOR_SMTP_IDLE_TIMEOUT", "Seconds an idle SMTP session is kept for reuse.", 30.0
    )
    smtp_block_backoff: float = _env(
        "VALIDATOR_SMTP_BLOCK_BACKOFF",
        "Seconds an MX host that refused the prober (`probe_blocked`) is not asked again (0 disables).",
        900.0,
    )
    smtp_limit_recovery: float = _env(
        "VALIDATOR_SMTP_LIMIT_RECOVERY",
        "Seconds without trouble after which a limit an MX host taught (by slowing a session down or dropping it) "
        "relaxes halfway back toward the configured one (0: never).",
        600.0,
    )
    redis_url: str = _env(
        "VALIDATOR_REDIS_URL",
        "Redis (`redis://host:6379/0`) where replicas share the prober's limits: connections per MX host, "
        "probes per domain, refusal backoff. Unset: a PostgreSQL store shares them, SQLite keeps them per process.",
        "",
        secret=True,
    )
    smtp_cache_size: int = _env(
        "VALIDATOR_SMTP_CACHE_SIZE", "Addresses (and, separately, domains) kept in the probe caches.", 100_000
    )
    probe_disagreement_threshold: int = _env(
        "VALIDATOR_PROBE_DISAGREEMENT_THRESHOLD",
        "Ingested hard bounces of addresses a probe had accepted, per domain, after which that domain's probe "
        "acceptances count as `accept_all`.",
        3,
    )
    job_max_rows: int = _env("VALIDATOR_JOB_MAX_ROWS", "Most rows in one bulk job (`POST /v1/jobs`).", 1_000_000)
    job_max_upload_bytes: int = _env(
        "VALIDATOR_JOB_MAX_UPLOAD_BYTES", "Largest bulk job upload, in bytes (streamed, never held whole).", 268_435_456
    )
    job_chunk_rows: int = _env(
        "VALIDATOR_JOB_CHUNK_ROWS", "Rows per chunk: the unit a runner claims, checks and stores at once.", 1000
    )
    job_workers: int = _env(
        "VALIDATOR_JOB_WORKERS", "Chunks this process works at once; `0` runs no job runner here.", 1
    )
    job_process: bool = _env(
        "VALIDATOR_JOB_PROCESS",
        "Run the job runner in a child process at idle CPU priority (SCHED_IDLE), away from real-time requests "
        "(`false`: in the service's process, sharing its event loop).",
        True,
    )
    job_slice: int = _env(
        "VALIDATOR_JOB_SLICE",
        "Most addresses a runner checks between yields to real-time requests (fewer when they cost more than "
        "`VALIDATOR_JOB_SLICE_MS`).",
        100,
    )
    job_slice_ms: float = _env(
        "VALIDATOR_JOB_SLICE_MS",
        "Milliseconds of CPU a runner's slice of checks or of result rendering takes before it yields to "
        "real-time requests.",
        1.0,
    )
    job_dns_max_inflight: int = _env(
        "VALIDATOR_JOB_DNS_MAX_INFLIGHT",
        "DNS queries jobs may hold of `VALIDATOR_DNS_MAX_INFLIGHT` (the rest are kept for real-time validations, "
        "which are also served first).",
        100,
    )
    job_timeout_ms: int = _env(
        "VALIDATOR_JOB_TIMEOUT_MS",
        "Deadline of a chunk's DNS lookups, and of each slice of its checks (what is unknown by then says so).",
        10_000,
    )
    job_lease_seconds: float = _env(
        "VALIDATOR_JOB_LEASE_SECONDS",
        "Seconds a claimed chunk stays with its runner; a dead runner's chunks are reclaimed after it.",
        60.0,
    )
    job_upload_lease_seconds: float = _env(
        "VALIDATOR_JOB_UPLOAD_LEASE_SECONDS",
        "Seconds a job upload may take; a `receiving` job older than this was abandoned (its process died) and "
        "is removed with its chunks by a job runner.",
        3600.0,
    )
    job_poll_seconds: float = _env(
        "VALIDATOR_JOB_POLL_SECONDS", "Seconds an idle runner waits before looking for work again.", 1.0
    )
    job_greylist_delay: float = _env(
        "VALIDATOR_JOB_GREYLIST_DELAY",
        "Seconds a job waits before asking greylisted addresses again (greylisting servers accept a retry after "
        "a few minutes).",
        300.0,
    )
    job_greylist_retries: int = _env(
        "VALIDATOR_JOB_GREYLIST_RETRIES",
        "Times a job asks a greylisted address again before reporting it `greylisted`.",
        2,
    )
    job_callback_secret: str = _env(
        "VALIDATOR_JOB_CALLBACK_SECRET",
        "Key of the HMAC-SHA256 signature of job callbacks (`X-Validator-Signature`); empty: unsigned.",
        "",
    )
    job_callback_allow: tuple[str, ...] = _env(
        "VALIDATOR_JOB_CALLBACK_ALLOW",
        "Comma-separated hosts and networks (CIDR) callbacks may reach although loopback or private.",
        (),
    )

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> Settings:
        """Parse every ``VALIDATOR_*`` variable; refuse unknown ones (a typo must not pass silently).
        Every bad variable is reported at once, one per line, so one run shows all there is to fix."""
        known = {f.metadata["env"]: f for f in fields(cls)}
        problems = [
            _unknown(name, known) for name in sorted(environ) if name.startswith("VALIDATOR_") and name not in known
        ]
        values = _parsed({f.name: (environ[env], env) for env, f in known.items() if env in environ}, problems)
        values.setdefault("database_url", default_database_url(environ))
        return cls(**values).checked()

    def with_values(self, **raw: str | None) -> Settings:
        """Overlay textual values (CLI flags) onto these settings; ``None`` means not given. An error
        names the flag (``--port``), not the variable it overrides."""
        labels = {name: "--" + name.replace("_", "-") for name, text in raw.items() if text is not None}
        values = _parsed({name: (raw[name], label) for name, label in labels.items()}, [])  # type: ignore[misc]
        return replace(self, **values).checked(labels)

    def checked(self, labels: Mapping[str, str] | None = None) -> Settings:
        """Cross-field and range checks, naming the variable (or the flag in ``labels``) at fault."""

        def label(name: str) -> str:
            return (labels or {}).get(name) or env_name(name)

        problems = [
            ConfigError(f"{label(name)} must be at least {low}", field=label(name))
            for name, low in _MINIMUMS.items()
            if getattr(self, name) < low
        ]
        if self.port > 65535:
            problems.append(ConfigError(f"{label('port')} must be at most 65535", field=label("port")))
        if self.default_timeout_ms > self.max_timeout_ms:
            problems.append(
                ConfigError(
                    "VALIDATOR_DEFAULT_TIMEOUT_MS must not exceed VALIDATOR_MAX_TIMEOUT_MS",
                    field="VALIDATOR_DEFAULT_TIMEOUT_MS",
                )
            )
        if not self.database_url.startswith(("sqlite:///", "postgresql://", "postgres://")):
            problems.append(
                ConfigError(
                    f"{label('database_url')} must start with sqlite:/// or postgresql://", field=label("database_url")
                )
            )
        if self.log_level.upper() not in {"DEBUG", "INFO", "WARNING", "ERROR"}:
            problems.append(
                ConfigError(f"{label('log_level')} must be DEBUG, INFO, WARNING or ERROR", field=label("log_level"))
            )
        _raise_all(problems)
        self._check_pairs()
        self._check_smtp()
        return self

    def _check_pairs(self) -> None:
        """Settings that only work together: half a pair would leave a webhook open or silently off."""
        pairs = (
            ("ses_signing_certs", "ses_topic_arns"),  # a valid SNS signature proves only that *some* topic sent it
            ("postmark_webhook_user", "postmark_webhook_password"),
        )
        for first, second in pairs:
            have_first, have_second = bool(getattr(self, first)), bool(getattr(self, second))
            if have_first != have_second:
                missing, given = (second, first) if have_first else (first, second)
                raise ConfigError(
                    f"{env_name(missing)} must be set together with {env_name(given)}", field=env_name(missing)
                )

    def _check_smtp(self) -> None:
        if self.smtp_port > 65535:
            raise ConfigError("VALIDATOR_SMTP_PORT must be at most 65535", field="VALIDATOR_SMTP_PORT")
        if self.smtp_max_connections_per_host > self.smtp_max_connections:
            raise ConfigError(
                "VALIDATOR_SMTP_MAX_CONNECTIONS_PER_HOST must not exceed VALIDATOR_SMTP_MAX_CONNECTIONS",
                field="VALIDATOR_SMTP_MAX_CONNECTIONS_PER_HOST",
            )
        # These go on the wire verbatim: a space, CR, LF or NUL would split or forge a command.
        for name in ("smtp_helo_name", "smtp_mail_from"):
            value = getattr(self, name)
            if len(value) > 254 or not value.isascii() or any(c.isspace() or ord(c) < 32 or c in "<>" for c in value):
                raise ConfigError(
                    f"{env_name(name)} must be at most 254 ASCII characters without spaces, "
                    "control characters or angle brackets",
                    field=env_name(name),
                )
        if self.smtp_mail_from and "@" not in self.smtp_mail_from:
            raise ConfigError(
                "VALIDATOR_SMTP_MAIL_FROM must be an address (local@domain) or empty", field="VALIDATOR_SMTP_MAIL_FROM"
            )
        if self.smtp_probe:
            helo_name(self)
        if self.redis_url and not self.redis_url.startswith(("redis://", "rediss://", "unix://")):
            raise ConfigError(
                "VALIDATOR_REDIS_URL must start with redis://, rediss:// or unix://", field="VALIDATOR_REDIS_URL"
            )


# Names that only mean something on one machine or network (RFC 6761 localhost and invalid, RFC 6762
# .local, RFC 8375 home.arpa, and the customary localdomain, lan, internal): a receiving MTA cannot
# resolve them, and Postfix's reject_non_fqdn_helo_hostname / reject_unknown_helo_hostname refuse them.
_LOCAL_SUFFIXES = ("localhost", "localdomain", "local", "lan", "internal", "home.arpa", "invalid")
_LABEL = re.compile(r"(?!-)[a-z0-9-]{1,63}(?<!-)")


def helo_name(settings: Settings) -> str:
    """The name the prober greets with, or ``ConfigError`` naming the variable to set.

    ``VALIDATOR_SMTP_HELO_NAME``, else the domain of ``VALIDATOR_SMTP_MAIL_FROM``. It must be a fully
    qualified domain name (RFC 5321 §4.1.1.1: "the client's fully-qualified domain name"): never this
    machine's guess at its own name, which is ``localhost`` more often than not.
    """
    variable = "VALIDATOR_SMTP_HELO_NAME"
    name = settings.smtp_helo_name
    if not name and "@" in settings.smtp_mail_from:
        variable, name = "VALIDATOR_SMTP_MAIL_FROM", settings.smtp_mail_from.rpartition("@")[2]
    if not name:
        raise ConfigError(
            "VALIDATOR_SMTP_PROBE is on but VALIDATOR_SMTP_HELO_NAME is not set: set it to the fully qualified "
            "name of the probing host (its IP's PTR record should give that name), or set VALIDATOR_SMTP_MAIL_FROM "
            "to an address at your domain; see docs/probing.md",
            field="VALIDATOR_SMTP_HELO_NAME",
        )
    folded = name.lower().removesuffix(".")
    labels = folded.split(".")
    why = None
    if len(labels) < 2:
        why = "not fully qualified (no dot)"
    elif any(folded == s or folded.endswith("." + s) for s in _LOCAL_SUFFIXES):
        why = "a local name no other host can resolve"
    elif len(folded) > 253 or not all(_LABEL.fullmatch(label) for label in labels):
        why = "not a domain name (letters, digits and hyphens in dot-separated labels)"
    elif labels[-1].isdigit():
        why = "an IP address, not a name (an address literal goes in brackets and is refused by many servers)"
    if why is not None:
        raise ConfigError(
            f"{variable}: {name!r} is not a usable HELO name: {why}; set VALIDATOR_SMTP_HELO_NAME "
            "to the probing host's fully qualified name (docs/probing.md)",
            field=variable,
        )
    return folded


_MINIMUMS: dict[str, float] = {
    "port": 0,
    "store_timeout": 0.01,
    "dns_timeout": 0.01,
    "dns_tries": 1,
    "dns_max_inflight": 1,
    "dns_cache_size": 1,
    "dns_negative_ttl": 0,
    "dns_max_ttl": 0,
    "dns_error_ttl": 0,
    "default_timeout_ms": 1,
    "max_timeout_ms": 1,
    "batch_max": 1,
    "lookup_max": 1,
    "publishable_rate_per_key": 1,
    "publishable_rate_per_ip": 1,
    "max_body_bytes": 1024,
    "body_idle_timeout": 0.01,
    "bodies_in_flight": 1,
    "shutdown_timeout": 0,
    "workers": 1,
    "max_message_bytes": 1024,
    "chronic_soft_sends": 1,
    "chronic_soft_days": 0,
    "chronic_soft_max_sends": 1,
    "events_max": 1,
    "webhook_max_age": 1,
    "smtp_port": 1,
    "smtp_connect_timeout": 0.01,
    "smtp_command_timeout": 0.01,
    "smtp_max_connections": 1,
    "smtp_max_connections_per_host": 1,
    "smtp_domain_rate": 1,
    "smtp_result_ttl": 0,
    "smtp_accept_all_ttl": 0,
    "smtp_session_recipients": 1,
    "smtp_session_refusals": 1,
    "smtp_idle_timeout": 0,
    "smtp_cache_size": 1,
    "smtp_block_backoff": 0,
    "smtp_limit_recovery": 0,
    "probe_disagreement_threshold": 1,
    "job_max_rows": 1,
    "job_max_upload_bytes": 1024,
    "job_chunk_rows": 1,
    "job_workers": 0,
    "job_slice": 1,
    "job_slice_ms": 0.01,
    "job_dns_max_inflight": 1,
    "job_timeout_ms": 1,
    "job_lease_seconds": 1,
    "job_upload_lease_seconds": 1,
    "job_poll_seconds": 0.01,
    "job_greylist_delay": 0,
    "job_greylist_retries": 0,
}


def default_database_url(environ: Mapping[str, str]) -> str:
    """The user's SQLite store, the same whatever the working folder: ``$XDG_DATA_HOME/validator/``
    (XDG Base Directory Specification: ``~/.local/share`` when unset or not absolute)."""
    base = environ.get("XDG_DATA_HOME", "")
    if not os.path.isabs(base):
        base = os.path.join(environ.get("HOME") or os.path.expanduser("~"), ".local", "share")
    return f"sqlite:///{os.path.join(base, 'validator', 'validator.sqlite3')}"


def env_name(name: str) -> str:
    """The variable that sets field ``name``."""
    return _FIELDS[name].metadata["env"]


def parse_value(name: str, text: str, label: str | None = None) -> Any:
    """Turn the text of one setting into its typed value, or raise ``ConfigError`` naming it
    (``label``: the flag that gave it; the variable by default)."""
    f = _FIELDS.get(name)
    if f is None:
        raise ConfigError(f"unknown setting {name}")
    label = label or f.metadata["env"]
    kind = str(f.type)
    parse = _PARSERS[name] if name in _PARSERS else _PARSERS_BY_TYPE[kind]
    try:
        return parse(text.strip())
    except (ValueError, TypeError) as exc:
        expected = _EXPECTED.get(kind) if name not in _PARSERS else None
        message = f"{label} must be {expected}, got {text!r}" if expected else f"{label}: {exc}"
        raise ConfigError(message, field=label) from exc


_EXPECTED = {
    "int": "a whole number",
    "float": "a number",
    "bool": "true or false",
    "SignalEffect": "one of " + ", ".join(effect.value for effect in SignalEffect),
}


def _parsed(texts: Mapping[str, tuple[str, str]], problems: list[ConfigError]) -> dict[str, Any]:
    """``{field: (text, label)}`` parsed; every failure joins ``problems``, and all are raised together."""
    values = {}
    for name, (text, label) in texts.items():
        try:
            values[name] = parse_value(name, text, label)
        except ConfigError as exc:
            problems.append(exc)
    _raise_all(problems)
    return values


def _raise_all(problems: list[ConfigError]) -> None:
    """One ``ConfigError`` whose message has a line per problem (the CLI prints each); field: the first's."""
    if problems:
        raise ConfigError("\n".join(p.message for p in problems), field=problems[0].field)


def _unknown(name: str, known: Mapping[str, object]) -> ConfigError:
    prefix = "VALIDATOR_"  # compared without it: the shared prefix would make every name look close
    close = difflib.get_close_matches(
        name.removeprefix(prefix), [k.removeprefix(prefix) for k in known], n=1, cutoff=0.8
    )
    hint = (
        f" (did you mean {prefix}{close[0]}?)" if close else " (the README's configuration table lists every setting)"
    )
    return ConfigError(f"unknown setting {name}{hint}", field=name)


def parse_bool(text: str) -> bool:
    lowered = text.lower()
    if lowered in {"1", "true", "yes", "on"}:
        return True
    if lowered in {"0", "false", "no", "off"}:
        return False
    raise ValueError(f"expected true or false, got {text!r}")


def parse_nameservers(text: str) -> tuple[tuple[str, int], ...]:
    """``"10.0.0.1, 127.0.0.1:5353, [::1]:53"`` → ``(("10.0.0.1", 53), ...)``; only IP literals."""
    servers = []
    for item in filter(None, (part.strip() for part in text.split(","))):
        host, port = item, 53
        if item.startswith("["):
            host, _, rest = item[1:].partition("]")
            if rest:
                port = int(rest.removeprefix(":"))
        elif item.count(":") == 1:
            host, port_text = item.split(":")
            port = int(port_text)
        ipaddress.ip_address(host)  # raises ValueError naming the bad entry
        if not 0 < port < 65536:
            raise ValueError(f"port out of range in {item!r}")
        servers.append((host, port))
    return tuple(servers)


def parse_list(text: str) -> tuple[str, ...]:
    """``"a, b,,c"`` → ``("a", "b", "c")``."""
    return tuple(item for item in (part.strip() for part in text.split(",")) if item)


def _parse_int(text: str) -> int:
    return int(text.replace("_", ""))


_PARSERS_BY_TYPE: dict[str, Callable[[str], Any]] = {
    "str": str,
    "int": _parse_int,
    "float": float,
    "bool": parse_bool,
    "SignalEffect": SignalEffect,
}


def parse_allowlist(text: str) -> tuple[str, ...]:
    """``"hooks.internal, 10.0.0.0/8"`` → ``("hooks.internal", "10.0.0.0/8")``; networks checked."""
    items = tuple(filter(None, (part.strip().lower() for part in text.split(","))))
    for item in items:
        try:
            ipaddress.ip_network(item, strict=False)
        except ValueError:
            if not re.fullmatch(r"[a-z0-9]([a-z0-9.-]*[a-z0-9])?", item):
                raise ValueError(f"not a host name nor a network: {item!r}") from None
    return items


def parse_bands(text: str) -> tuple[float, float]:
    """``"0.5,1.0"`` → ``(0.5, 1.0)``: two percentages, the first not above the second."""
    parts = [float(p) for p in text.split(",")]
    if len(parts) != 2 or not 0 <= parts[0] <= parts[1] <= 100:
        raise ValueError(f"expected two percentages low,high with 0 <= low <= high <= 100, got {text!r}")
    return parts[0], parts[1]


_PARSERS: dict[str, Callable[[str], Any]] = {
    "dns_nameservers": parse_nameservers,
    **dict.fromkeys(
        ("health_hard_bounce", "health_chronic_soft", "health_complaint", "health_total_bounce"), parse_bands
    ),
    "ses_signing_certs": parse_list,
    "ses_topic_arns": parse_list,
    "smtp_allow_networks": parse_networks,
    "job_callback_allow": parse_allowlist,
}
_FIELDS = {f.name: f for f in fields(Settings)}


def config_table() -> str:
    """The README configuration table (markdown); a test keeps README.md equal to it."""
    rows = ["| Variable | Default | Meaning |", "|---|---|---|"]
    for f in fields(Settings):
        default = f.default
        if isinstance(default, tuple) and default and isinstance(default[0], float):
            default = ",".join(str(v) for v in default)
        if f.metadata["shown"]:
            shown = f.metadata["shown"]
        elif default in ((), ""):
            shown = "(unset)"
        else:
            shown = f"`{str(default).lower() if isinstance(default, bool) else default}`"
        rows.append(f"| `{f.metadata['env']}` | {shown} | {f.metadata['doc']} |")
    return "\n".join(rows) + "\n"


if __name__ == "__main__":  # python -m validator.config > the table to paste into README.md
    print(config_table(), end="")
