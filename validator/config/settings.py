"""``Settings``: one frozen dataclass, read once from ``VALIDATOR_*`` variables at start-up.

This is the only module that reads the environment. Each field's metadata names its variable
and documents it; the docs' configuration table is checked against these fields by a test.
The fields are declared by subject in ``service.py``, ``probing.py`` and ``jobs.py``;
``Settings`` joins them and holds the parsing and the checks. An invalid value raises
``ConfigError`` naming the variable, so the process stops before it binds a port.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields, replace
from typing import Any

from validator.config.fields import SignalEffect
from validator.config.helo import helo_name
from validator.config.jobs import JobSettings
from validator.config.parsing import (
    parse_allowlist,
    parse_bands,
    parse_bool,
    parse_int,
    parse_list,
    parse_nameservers,
)
from validator.config.probing import ProbeSettings
from validator.config.service import ServiceSettings, default_database_url
from validator.errors import ConfigError
from validator.netguard import parse_networks


@dataclass(frozen=True, slots=True)
class Settings(JobSettings, ProbeSettings, ServiceSettings):
    """Every setting of the service (fields in the order of the bases, last base first). The
    defaults run the embedded service on SQLite."""

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
            ("sparkpost_webhook_user", "sparkpost_webhook_password"),
            ("mailjet_webhook_user", "mailjet_webhook_password"),
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
    hint = f" (did you mean {prefix}{close[0]}?)" if close else " (docs/configuration.md lists every setting)"
    return ConfigError(f"unknown setting {name}{hint}", field=name)


_PARSERS_BY_TYPE: dict[str, Callable[[str], Any]] = {
    "str": str,
    "int": parse_int,
    "float": float,
    "bool": parse_bool,
    "SignalEffect": SignalEffect,
}


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
    """The configuration table (markdown) of docs/configuration.md; tests/support/configdoc.py puts it there."""
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
