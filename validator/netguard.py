"""The network guard: may the service open a connection to this IP address?

Server-side request forgery defence for every outbound connection whose destination comes from
someone else's data: SMTP probes follow a domain's MX records (anyone can point an MX at
127.0.0.1 or 10.0.0.5), and bulk-job callbacks will follow a caller's URL. The rule is checked
on the *resolved* address, immediately before the socket is opened, so a name that resolves to
a private address cannot slip through.

Pure: ``ipaddress`` only, no sockets, no DNS, no settings object (the caller passes the operator's
allowlist). Must not live here: resolving names, opening connections.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable

IpAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IpNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

# RFC 6052 §2.1: the well-known NAT64 prefix carries an IPv4 address in its last 32 bits, so
# 64:ff9b::7f00:1 reaches 127.0.0.1 through a NAT64 gateway. Python calls it global.
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")


def parse_networks(text: str) -> tuple[IpNetwork, ...]:
    """``"127.0.0.0/8, 10.1.0.0/16"`` → networks. Host bits set (``10.1.2.3/8``) is an error, not a guess."""
    return tuple(ipaddress.ip_network(item.strip(), strict=True) for item in text.split(",") if item.strip())


def refusal(address: str | IpAddress, allowed: Iterable[IpNetwork] = ()) -> str | None:
    """Why a connection to ``address`` is refused, or None when it is allowed.

    Allowed: a globally routable unicast address, or any address inside an allowlisted network.
    Refused otherwise: loopback, private (RFC 1918, RFC 4193), shared (RFC 6598), link-local,
    site-local (``fec0::/10``), multicast, reserved, unspecified, documentation ranges; and IPv6
    forms that embed such an IPv4 address (mapped ``::ffff:0:0/96``, 6to4 ``2002::/16``, NAT64
    ``64:ff9b::/96``, Teredo).
    """
    try:
        ip = ipaddress.ip_address(address) if isinstance(address, str) else address
    except ValueError:
        return f"{address!r} is not an IP address"
    networks = tuple(allowed)
    for candidate in _faces(ip):
        if any(candidate.version == net.version and candidate in net for net in networks):
            continue
        why = _unroutable(candidate)
        if why is not None:
            shown = f"{candidate} (inside {ip})" if candidate != ip else str(ip)
            return f"{shown} is {why}"
    return None


def permitted(address: str | IpAddress, allowed: Iterable[IpNetwork] = ()) -> bool:
    """True when ``refusal`` has nothing to say."""
    return refusal(address, allowed) is None


def _faces(ip: IpAddress) -> list[IpAddress]:
    """The address and every IPv4 address it carries; each must pass on its own."""
    faces: list[IpAddress] = [ip]
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            faces = [ip.ipv4_mapped]  # the kernel connects to the IPv4 address itself
        if ip.sixtofour is not None:
            faces.append(ip.sixtofour)
        if ip.teredo is not None:
            faces.extend(ip.teredo)
        if ip in _NAT64:
            faces.append(ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF))
    return faces


def _unroutable(ip: IpAddress) -> str | None:
    # Order: the most specific name first. is_global alone is not enough: Python 3.11 calls
    # multicast 224.0.0.0/4 global, and every check below is cheap.
    checks = (
        ("unspecified", ip.is_unspecified),
        ("loopback", ip.is_loopback),
        ("link-local", ip.is_link_local),
        # RFC 3879 deprecated fec0::/10, but kernels still route it; Python 3.11 calls it global
        ("site-local", isinstance(ip, ipaddress.IPv6Address) and ip.is_site_local),
        ("multicast", ip.is_multicast),
        ("reserved", ip.is_reserved),
        ("private", ip.is_private),
        ("not globally routable", not ip.is_global),
    )
    return next((name for name, hit in checks if hit), None)
