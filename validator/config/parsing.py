"""Parsers of setting texts that are more than a number: lists, nameservers, networks, bands."""

from __future__ import annotations

import ipaddress
import re


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


def parse_int(text: str) -> int:
    return int(text.replace("_", ""))


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
