"""Benchmark: SMTP probes against a server with Postfix's default anti-harvesting limits.

Postfix (https://www.postfix.org/postconf.5.html) delays every reply by ``smtpd_error_sleep_time``
(1 s) once a session has made ``smtpd_soft_error_limit`` (10) errors, and drops it with "421 4.7.0
Error: too many errors" at ``smtpd_hard_error_limit`` (20). The scripted server
(``tests.support.smtpserver.postfix_defaults``, in a child process) does the same; then the same runs go
to a real Postfix from Debian's packages on loopback (``tests.support.postfix``), when it can be installed.
Two runs, each with a fresh prober with the service's defaults:

* a 200-address mixed batch (existing, unknown, full, disabled, greylisted, a catch-all domain;
  5 domains of 40 addresses at one MX host) within the default 1,500 ms deadline, all at once;
  as a baseline in the same run, the same batch with no refusal cap (``VALIDATOR_SMTP_SESSION_REFUSALS=1000``);
* 100 requests one after another for unknown mailboxes at one domain, each timed (the domain rate
  is raised to 1,000/min: the default 60 would answer the 61st ``probe_throttled``).

Every verdict is checked against the mailbox table. Goals: 0 ``smtp_timeout`` and >= 300
verdicts/s for the batch; each sequential request under 100 ms.
"""

from __future__ import annotations

import asyncio
import dataclasses
import statistics
import time
from multiprocessing.connection import Connection

from .probe import SmtpProcess
from .report import Outcome, Table, met, progress, rate

HOST = "mx.postfix-like.bench"
DOMAINS = [f"d{i}.defended-mail.com" for i in range(4)]
CATCH_ALL = "catch-all.defended-mail.com"
SEQUENTIAL = "seq.defended-mail.com"
REPLIES = {  # local part index % 40 -> what the server answers
    "exists": "250 2.1.5 Ok",
    "full": "452 4.2.2 <{addr}>: Recipient address rejected: Mailbox full",
    "disabled": "550 5.2.1 <{addr}>: Recipient address rejected: This account has been disabled",
    "greylisted": "450 4.2.0 <{addr}>: Recipient address rejected: Greylisted, see http://postgrey.schweikert.ch/help/",
}
EXPECTED = {
    "exists": "accepted",
    "unknown": "mailbox_not_found",
    "full": "mailbox_full",
    "disabled": "mailbox_disabled",
    "greylisted": "greylisted",
}


def kind(i: int) -> str:
    n = i % 40
    return "exists" if n < 12 else "unknown" if n < 28 else "full" if n < 32 else "disabled" if n < 36 else "greylisted"


def batch_addresses() -> list[tuple[str, str]]:
    """(address, expected outcome) for the 200-address batch."""
    rows = [(f"user{i}@{d}", EXPECTED[kind(i)]) for d in DOMAINS for i in range(40)]
    return rows + [(f"someone{i}@{CATCH_ALL}", "accepted") for i in range(40)]


def mailboxes() -> dict[str, str]:
    return {f"user{i}@{d}": REPLIES[kind(i)] for d in DOMAINS for i in range(40) if kind(i) != "unknown"}


@dataclasses.dataclass
class Figures:
    label: str
    verdicts: int
    seconds: float
    timeouts: int
    wrong: int
    connections: int
    peak: int
    rcpts_per_session: list[int]
    round_trips: int  # MAIL FROM / RCPT TO / RSET writes awaiting replies (a pipelined group is one)
    latencies: list[float] = dataclasses.field(default_factory=list)  # seconds, sequential requests
    delayed: str = "-"  # replies the server delayed / sessions it dropped (scripted server only)

    def row(self) -> list[str]:
        per = self.rcpts_per_session or [0]
        slowest = f"{max(self.latencies) * 1000:.1f} ms" if self.latencies else "-"
        return [
            self.label,
            f"{self.verdicts}",
            f"{self.seconds:.2f} s",
            rate(self.verdicts / self.seconds),
            str(self.timeouts),
            str(self.wrong),
            slowest,
            str(self.connections),
            str(self.peak),
            f"{statistics.mean(per):.1f} / {max(per)}",
            f"{self.round_trips / self.verdicts:.2f}",
            self.delayed,
        ]


def run(quick: bool, postfix: bool = True) -> Outcome:
    rows = []
    with SmtpProcess(_serve_postfix_like) as servers:
        rows += _scenarios(
            "Postfix-like aiosmtpd",
            servers.port,
            servers.ips[0],
            lambda: servers.ask("stats"),
            lambda: servers.ask("reset"),
        )
    if postfix:
        rows += _real_postfix()
    return _outcome(rows)


def _real_postfix() -> list[Figures]:
    try:
        from tests.support.postfix import PostfixInstance, unavailable
    except ImportError as exc:  # run from the repository root
        progress(f"probe: no real Postfix run: {exc}")
        return []
    why = unavailable()
    if why is not None:
        progress(f"probe: no real Postfix run: {why}")
        return []
    with PostfixInstance(mailboxes(), [CATCH_ALL], [*DOMAINS, SEQUENTIAL]) as instance:
        return _scenarios(f"Postfix {instance.version}", instance.port, "127.0.0.1", None, None)


def _scenarios(label, port, ip, stats, reset) -> list[Figures]:
    out = []
    for name, overrides in (
        (f"{label}: batch", {}),
        (f"{label}: batch, no refusal cap (baseline)", {"smtp_session_refusals": 1000}),
    ):
        progress(f"probe: {name}")
        if reset:
            reset()
        out.append(asyncio.run(_batch(name, port, ip, overrides)))
        if stats:
            out[-1].delayed = "{delayed} / {hangups}".format(**stats())
    progress(f"probe: {label}: 100 sequential unknown mailboxes")
    if reset:
        reset()
    out.append(asyncio.run(_sequential(f"{label}: 100 sequential", port, ip)))
    if stats:
        out[-1].delayed = "{delayed} / {hangups}".format(**stats())
    return out


def _prober(port: int, **overrides):
    from validator.config import Settings
    from validator.netguard import parse_networks
    from validator.probe.prober import Prober

    settings = dataclasses.replace(
        Settings(),
        smtp_probe=True,
        smtp_port=port,
        smtp_allow_networks=parse_networks("127.0.0.0/8"),
        smtp_helo_name="bench.validator.example",
        smtp_mail_from="verify@validator.example",
        **overrides,
    ).checked()
    return Prober(settings), settings.default_timeout_ms / 1000


def _mx(domain: str, ip: str):
    from validator.model import MxAnswer, MxHost, MxOutcome

    return MxAnswer(domain, MxOutcome.MX, (MxHost(HOST, 10, (ip,), True),))


async def _batch(label: str, port: int, ip: str, overrides: dict) -> Figures:
    from validator.syntax import parse_address

    prober, deadline = _prober(port, **overrides)
    rows = batch_addresses()
    began = time.perf_counter()
    results = await asyncio.gather(
        *(prober.probe(parse_address(a), _mx(a.rpartition("@")[2], ip), deadline) for a, _ in rows)
    )
    seconds = time.perf_counter() - began
    await prober.close()
    wrong = sum(
        r.outcome.value != expected or (a.endswith(CATCH_ALL) and r.accept_all is not True)
        for (a, expected), r in zip(rows, results, strict=True)
    )
    timeouts = sum(r.outcome.value == "smtp_timeout" for r in results)
    stats = prober.pool_stats
    return Figures(
        label,
        len(rows),
        seconds,
        timeouts,
        wrong,
        stats.connections,
        max(stats.peak_per_host.values()),
        stats.rcpts_per_session,
        stats.round_trips,
    )


async def _sequential(label: str, port: int, ip: str) -> Figures:
    from validator.syntax import parse_address

    prober, deadline = _prober(port, smtp_domain_rate=1000)
    latencies, results = [], []
    for i in range(100):
        began = time.perf_counter()
        results.append(await prober.probe(parse_address(f"nobody{i}@{SEQUENTIAL}"), _mx(SEQUENTIAL, ip), deadline))
        latencies.append(time.perf_counter() - began)
    await prober.close()
    wrong = sum(r.outcome.value != "mailbox_not_found" for r in results)
    timeouts = sum(r.outcome.value == "smtp_timeout" for r in results)
    stats = prober.pool_stats
    return Figures(
        label,
        100,
        sum(latencies),
        timeouts,
        wrong,
        stats.connections,
        max(stats.peak_per_host.values()),
        stats.rcpts_per_session,
        stats.round_trips,
        latencies,
    )


def _outcome(rows: list[Figures]) -> Outcome:
    detail = Table(
        "SMTP probes against Postfix's default limits (soft 10 errors -> 1 s delays, hard 20 -> 421)",
        [
            "Run",
            "Verdicts",
            "Time",
            "Verdicts/s",
            "smtp_timeout",
            "Wrong",
            "Slowest request",
            "Connections",
            "Peak per host",
            "RCPT per session (mean / max)",
            "Round trips per verdict",
            "Delayed replies / 421 drops",
        ],
        [r.row() for r in rows],
        [
            "batch: 200 addresses over 5 domains at one MX host, all at once, 1,500 ms deadline; "
            "sequential: 100 unknown mailboxes one request at a time (domain rate raised to 1,000/min)",
            "RCPT per session counts the accept-all check too; delayed/421 are counted by the scripted server",
            "round trips: writes of MAIL FROM, RCPT TO and RSET that wait for replies (a PIPELINING group, "
            "RFC 2920, is one); connecting, EHLO and QUIT not counted",
        ],
    )
    summary = []
    for r in rows:
        if r.label.endswith(": batch"):
            ok = r.timeouts == 0 and r.wrong == 0 and r.verdicts / r.seconds >= 300
            summary.append(
                [
                    f"{r.label} (200 mixed)",
                    rate(r.verdicts / r.seconds),
                    f"{r.timeouts} smtp_timeout",
                    "",
                    ">= 300/s, 0 timeouts",
                    met(ok),
                ]
            )
        elif r.latencies:
            slowest = max(r.latencies) * 1000
            summary.append(
                [
                    f"{r.label} unknown mailboxes",
                    f"slowest {slowest:.1f} ms",
                    f"median {statistics.median(r.latencies) * 1000:.2f} ms",
                    "",
                    "< 100 ms each",
                    met(slowest < 100 and r.wrong == 0),
                ]
            )
    return Outcome([detail], summary)


def _serve_postfix_like(conn: Connection) -> None:
    from tests.support.smtpserver import SmtpServers, postfix_defaults  # run from the repository root

    with SmtpServers() as servers:
        server = servers.start(postfix_defaults(mailboxes=mailboxes(), accept_all_domains=frozenset({CATCH_ALL})))
        conn.send((servers.port, [server.ip]))
        while True:
            command = conn.recv()
            if command == "stop":
                return
            if command == "stats":
                conn.send({"delayed": server.delayed, "hangups": server.hangups})
            elif command == "reset":
                server.reset()
                conn.send(None)
