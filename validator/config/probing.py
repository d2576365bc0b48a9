"""Settings of SMTP RCPT probing: off unless enabled here and asked for per request."""

from __future__ import annotations

from dataclasses import dataclass

from validator.config.fields import setting
from validator.netguard import IpNetwork


@dataclass(frozen=True)
class ProbeSettings:
    """How the prober talks to mail servers, and the limits that keep it welcome there."""

    smtp_probe: bool = setting(
        "VALIDATOR_SMTP_PROBE",
        'Allow SMTP RCPT probes (requests still opt in with `"smtp": true`). Needs outbound port 25.',
        False,
    )
    smtp_port: int = setting("VALIDATOR_SMTP_PORT", "TCP port of the MX hosts probed.", 25)
    smtp_helo_name: str = setting(
        "VALIDATOR_SMTP_HELO_NAME",
        "Name sent in EHLO/HELO: a fully qualified name whose A record is the probing IP and whose PTR "
        "matches (docs/probing.md). Probing refuses to start without a proper one.",
        "",
        shown="(the domain of `VALIDATOR_SMTP_MAIL_FROM`)",
    )
    smtp_mail_from: str = setting(
        "VALIDATOR_SMTP_MAIL_FROM",
        "Reverse path of `MAIL FROM`; empty sends the null sender `<>`. Best: an address at the HELO domain.",
        "",
        shown="(null sender `<>`)",
    )
    smtp_connect_timeout: float = setting(
        "VALIDATOR_SMTP_CONNECT_TIMEOUT", "Seconds to wait for a TCP connection and the server's greeting.", 5.0
    )
    smtp_command_timeout: float = setting(
        "VALIDATOR_SMTP_COMMAND_TIMEOUT", "Seconds to wait for the reply to one SMTP command.", 10.0
    )
    smtp_max_connections: int = setting(
        "VALIDATOR_SMTP_MAX_CONNECTIONS", "SMTP sessions open at once, over all MX hosts.", 50
    )
    smtp_max_connections_per_host: int = setting(
        "VALIDATOR_SMTP_MAX_CONNECTIONS_PER_HOST", "SMTP sessions open at once to one MX host.", 3
    )
    smtp_domain_rate: int = setting(
        "VALIDATOR_SMTP_DOMAIN_RATE",
        "Most RCPT TO probes per recipient domain in any 60 seconds; beyond it: `probe_throttled`.",
        60,
    )
    smtp_allow_networks: tuple[IpNetwork, ...] = setting(
        "VALIDATOR_SMTP_ALLOW_NETWORKS",
        "CIDR list of non-public networks MX hosts may be in (test or internal relays); they also count as routable.",
        (),
        shown="(none)",
    )
    smtp_tls_verify: bool = setting(
        "VALIDATOR_SMTP_TLS_VERIFY",
        "Verify MX certificates after STARTTLS (a failure is `smtp_unavailable`). Default: opportunistic TLS.",
        False,
    )
    smtp_result_ttl: float = setting(
        "VALIDATOR_SMTP_RESULT_TTL", "Seconds a probe's answer about one address is reused (0 disables).", 600.0
    )
    smtp_accept_all_ttl: float = setting(
        "VALIDATOR_SMTP_ACCEPT_ALL_TTL", "Seconds a domain's accept-all finding is reused.", 86400.0
    )
    smtp_session_recipients: int = setting(
        "VALIDATOR_SMTP_SESSION_RECIPIENTS", "Most RCPT TO commands in one SMTP session before it is closed.", 50
    )
    smtp_session_refusals: int = setting(
        "VALIDATOR_SMTP_SESSION_REFUSALS",
        "Refused RCPT TO after which an SMTP session is ended and another opened: below the error limits "
        "that make servers slow down or drop a client (Postfix: 10 and 20).",
        8,
    )
    smtp_idle_timeout: float = setting(
        "VALIDATOR_SMTP_IDLE_TIMEOUT", "Seconds an idle SMTP session is kept for reuse.", 30.0
    )
    smtp_block_backoff: float = setting(
        "VALIDATOR_SMTP_BLOCK_BACKOFF",
        "Seconds an MX host that refused the prober (`probe_blocked`) is not asked again (0 disables).",
        900.0,
    )
    smtp_limit_recovery: float = setting(
        "VALIDATOR_SMTP_LIMIT_RECOVERY",
        "Seconds without trouble after which a limit an MX host taught (by slowing a session down or dropping it) "
        "relaxes halfway back toward the configured one (0: never).",
        600.0,
    )
    redis_url: str = setting(
        "VALIDATOR_REDIS_URL",
        "Redis (`redis://host:6379/0`) where replicas share the prober's limits: connections per MX host, "
        "probes per domain, refusal backoff. Unset: a PostgreSQL store shares them, SQLite keeps them per process.",
        "",
        secret=True,
    )
    smtp_cache_size: int = setting(
        "VALIDATOR_SMTP_CACHE_SIZE", "Addresses (and, separately, domains) kept in the probe caches.", 100_000
    )
    probe_disagreement_threshold: int = setting(
        "VALIDATOR_PROBE_DISAGREEMENT_THRESHOLD",
        "Ingested hard bounces of addresses a probe had accepted, per domain, after which that domain's probe "
        "acceptances count as `accept_all`.",
        3,
    )
