"""The HELO name the prober introduces itself with, and why a local name is refused."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from validator.errors import ConfigError

if TYPE_CHECKING:
    from validator.config.settings import Settings


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
