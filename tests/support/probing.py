"""Probing under test: settings for a prober on loopback, a Checker wired as the service's, and MX
records pointing a domain at scripted SMTP servers (``point``)."""

from __future__ import annotations

from tests.support.settings import make_settings
from validator.checker import Checker
from validator.config import Settings
from validator.mx import MxResolver
from validator.netguard import parse_networks
from validator.probe.prober import Prober

LOOPBACK = parse_networks("127.0.0.0/8")


def probe_settings(dns, smtp, **overrides) -> Settings:
    values = dict(
        smtp_probe=True,
        smtp_port=smtp.port,
        smtp_helo_name="probe.validator.example",
        smtp_mail_from="verify@validator.example",
        smtp_allow_networks=LOOPBACK,
        smtp_connect_timeout=1.0,
        smtp_command_timeout=2.0,
        default_timeout_ms=3000,
    )
    return make_settings(dns, **(values | overrides))


class Probing:
    """A Checker wired like the service's: real resolver, real prober, closed after the test."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.resolver = MxResolver(settings)
        self.prober = Prober(settings)
        self.checker = Checker(settings, self.resolver, prober=self.prober)

    async def check(self, email: str, **kw):
        return await self.checker.check(email, smtp=True, **kw)

    async def close(self) -> None:
        await self.prober.close()
        await self.resolver.close()


def point(dns, domain: str, *servers_or_ips) -> None:
    """MX records for ``domain``, one host per server (preference 10, 20, ...)."""
    for i, target in enumerate(servers_or_ips, start=1):
        ip = target if isinstance(target, str) else target.ip
        dns.zone.mx(domain, 10 * i, f"mx{i}.{domain}")
        dns.zone.a(f"mx{i}.{domain}", ip)
