"""Benchmark: SMTP RCPT probes with shared sessions against one connection per probe, same run.

10,000 probes (``--quick``: 2,000) of distinct addresses over 50 domains, whose MX records point
at 10 loopback aiosmtpd servers (``tests/smtpserver.py``, 5 domains each; half the addresses
exist; each advertises PIPELINING, RFC 2920, as Postfix, Exim, Gmail and Microsoft 365 do). The servers run in a
child process of their own, so their Python work never competes
for the GIL of the prober being measured; they count connections and the peak of simultaneous
sessions per server. The prober is the service's own ``validator.probe.prober.Prober``, called as the
checker calls it, with 200 probes outstanding at once and the same limits in both modes (3
sessions per MX host, 50 in all; no per-domain rate limit; no result cache):

* one connection per probe: ``VALIDATOR_SMTP_SESSION_RECIPIENTS=1`` (connect, EHLO, MAIL FROM,
  one RCPT TO, QUIT);
* shared sessions: the default 50 recipients per session, in batched transactions.

Every answer is checked (250 for the addresses that exist, 550 5.1.1 for the rest): a wrong
answer fails the run. MX answers are given as values (no DNS), so the figures are the prober's.
Goal (issue 4): at least 5x fewer connections and 3x the probes/s; the peak of simultaneous
connections per MX host never above its cap.
"""

from __future__ import annotations

import asyncio
import dataclasses
import multiprocessing
import time
from collections.abc import Callable
from multiprocessing.connection import Connection

from .report import Outcome, Table, met, progress, rate, times

DOMAINS = 50
HOSTS = 10
PER_HOST_CAP = 3
OUTSTANDING = 200


@dataclasses.dataclass
class Run:
    label: str
    probes: int
    seconds: float
    connections: int  # TCP connections the servers accepted
    peak_per_host: int  # the largest number of simultaneous sessions any one server saw
    recipients: int  # RCPT TO commands the servers received
    wrong: int

    @property
    def rate(self) -> float:
        return self.probes / self.seconds

    def row(self) -> list[str]:
        return [
            self.label,
            f"{self.probes:,}",
            f"{self.seconds:.2f} s",
            rate(self.rate),
            f"{self.connections:,}",
            f"{self.probes / max(self.connections, 1):.1f}",
            f"{self.recipients:,}",
            f"{self.peak_per_host} (cap {PER_HOST_CAP})",
            str(self.wrong),
        ]


def run(
    quick: bool,
    seconds: float | None = None,
    rounds: int | None = None,
    loadgen: str = "auto",
    argv: list[str] | None = None,
) -> Outcome:
    probes = 2_000 if quick else 10_000
    with SmtpProcess() as servers:
        runs = []
        for label, per_session in (("one connection per probe", 1), ("shared sessions (50 recipients each)", 50)):
            progress(f"probe: {probes:,} probes over {DOMAINS} domains, {label}")
            servers.reset()
            began = time.perf_counter()
            wrong = asyncio.run(_probe_all(servers, probes, per_session))
            elapsed = time.perf_counter() - began
            counts = servers.counts()
            runs.append(
                Run(
                    label,
                    probes,
                    elapsed,
                    sum(c[0] for c in counts),
                    max(c[1] for c in counts),
                    sum(c[2] for c in counts),
                    wrong,
                )
            )
    outcome = _outcome(*runs)
    from .probe_defences import run as run_defences  # against servers that defend themselves

    defences = run_defences(quick)
    return Outcome(outcome.details + defences.details, outcome.summary + defences.summary)


async def _probe_all(servers: SmtpProcess, probes: int, per_session: int) -> int:
    from validator.config import Settings
    from validator.model import MxAnswer, MxHost, MxOutcome
    from validator.netguard import parse_networks
    from validator.probe.prober import Prober
    from validator.syntax import parse_address

    settings = dataclasses.replace(
        Settings(),
        smtp_probe=True,
        smtp_port=servers.port,
        smtp_allow_networks=parse_networks("127.0.0.0/8"),
        smtp_helo_name="bench.validator.example",
        smtp_max_connections=50,
        smtp_max_connections_per_host=PER_HOST_CAP,
        smtp_domain_rate=10**9,
        smtp_result_ttl=0,
        smtp_session_recipients=per_session,
    ).checked()
    answers = [
        MxAnswer(_domain(d), MxOutcome.MX, (MxHost(f"mx{d % HOSTS}.bench", 10, (servers.ips[d % HOSTS],), True),))
        for d in range(DOMAINS)
    ]
    prober = Prober(settings)
    slots = asyncio.Semaphore(OUTSTANDING)
    wrong = 0

    async def one(n: int) -> None:
        nonlocal wrong
        async with slots:
            result = await prober.probe(parse_address(_address(n)), answers[n % DOMAINS], 60.0)
        wrong += result.code != (250 if _exists(n) else 550)

    try:
        await asyncio.gather(*(one(n) for n in range(probes)))
    finally:
        await prober.close()
    return wrong


def _domain(d: int) -> str:
    return f"d{d}.bench-mail.com"


def _address(n: int) -> str:
    return f"user{n}@{_domain(n % DOMAINS)}"


def _exists(n: int) -> bool:
    return n % 2 == 0


def _outcome(single: Run, shared: Run) -> Outcome:
    fewer = single.connections / max(shared.connections, 1)
    faster = shared.rate / single.rate
    capped = max(single.peak_per_host, shared.peak_per_host) <= PER_HOST_CAP
    ok = fewer >= 5 and faster >= 3 and capped and single.wrong == shared.wrong == 0
    detail = Table(
        f"SMTP probes: {single.probes:,} over {DOMAINS} domains, {HOSTS} loopback aiosmtpd MX hosts",
        [
            "Mode",
            "Probes",
            "Time",
            "Probes/s",
            "Connections",
            "Probes per connection",
            "RCPT TO sent",
            "Peak sessions per host",
            "Wrong answers",
        ],
        [single.row(), shared.row()],
        [
            f"connections: {fewer:.1f}x fewer with shared sessions (goal >= 5x); probes/s: {faster:.2f}x (goal >= 3x)",
            f"peak simultaneous connections per MX host: {shared.peak_per_host} shared, {single.peak_per_host} "
            f"one-per-probe, cap {PER_HOST_CAP}; {OUTSTANDING} probes outstanding at once",
            "RCPT TO includes one random address per domain for the accept-all check (cached per domain)",
        ],
    )
    summary = [
        [
            "SMTP probes/s, shared sessions",
            rate(shared.rate),
            f"{rate(single.rate)} one connection per probe",
            times(faster),
            ">= 3x",
            met(faster >= 3),
        ],
        [
            "SMTP connections opened",
            f"{shared.connections:,}",
            f"{single.connections:,}",
            f"{fewer:.1f}x fewer",
            ">= 5x fewer",
            met(fewer >= 5),
        ],
        [
            "Peak connections per MX host",
            str(max(single.peak_per_host, shared.peak_per_host)),
            f"cap {PER_HOST_CAP}",
            "",
            "<= cap",
            met(capped),
        ],
    ]
    if not ok:
        progress("probe: a goal was not met (see the table)")
    return Outcome([detail], summary)


class SmtpProcess:
    """``with SmtpProcess() as s: s.port, s.ips, s.counts()``: the scripted servers, in a child."""

    def __init__(self, serve: Callable[[Connection], None] | None = None) -> None:
        self.port = 0
        self.ips: list[str] = []
        self._serve = serve or _serve
        self._conn: Connection | None = None
        self._process: multiprocessing.process.BaseProcess | None = None

    def __enter__(self) -> SmtpProcess:
        context = multiprocessing.get_context("spawn")
        self._conn, child = context.Pipe()
        self._process = context.Process(target=self._serve, args=(child,), name="bench-smtp", daemon=True)
        self._process.start()
        if not self._conn.poll(120):
            raise RuntimeError("the loopback SMTP servers did not start")
        self.port, self.ips = self._conn.recv()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._conn is not None:
            self._conn.send("stop")
        if self._process is not None:
            self._process.join(10)
            if self._process.is_alive():
                self._process.kill()

    def counts(self) -> list[tuple[int, int, int]]:
        """Per server: (connections, peak simultaneous sessions, RCPT TO received)."""
        return self._ask("counts")  # type: ignore[return-value]

    def ask(self, command: str) -> object:
        """A command the child's serve function knows (``probe_defences`` adds its own)."""
        return self._ask(command)

    def reset(self) -> None:
        self._ask("reset")

    def _ask(self, command: str) -> object:
        assert self._conn is not None
        self._conn.send(command)
        return self._conn.recv()


def _serve(conn: Connection) -> None:
    from tests.support.smtpserver import ACCEPTED, Script, SmtpServers  # run from the repository root

    with SmtpServers() as servers:
        started = []
        for _ in range(HOSTS):
            script = Script(pipelining=True)  # as Postfix, Exim, Gmail and Microsoft 365 advertise it (RFC 2920)
            started.append(servers.start(script))
        boxes = {_address(n).lower(): ACCEPTED for n in range(20_000) if _exists(n)}
        for server in started:
            server.script.mailboxes = boxes
        conn.send((servers.port, [s.ip for s in started]))
        while True:
            command = conn.recv()
            if command == "stop":
                return
            if command == "counts":
                conn.send([(s.connections, s.peak, len(s.rcpts)) for s in started])
            elif command == "reset":
                for server in started:
                    server.reset()
                conn.send(None)
