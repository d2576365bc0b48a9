"""The benchmarks' mail domains served by NSD, a real authoritative DNS server (Debian's ``nsd``).

The Python test server (``bench/dnsfixture.py``) parses every query with dnspython on one core:
a cold batch can be bounded by it rather than by the code measured. NSD answers the same names
(``d<i>.com MX 10 mx.d<i>.com.``, ``mx.d<i>.com A 8.8.x.y``, ``AAAA`` NODATA, TTL 3600) from one
``com`` zone, so anything else under ``com`` is NXDOMAIN as before. It runs as our child on
127.0.0.1 at an ephemeral port, from a scratch directory (no chroot, no privilege drop, no
database file), with one server process; the system's own NSD service is never used or touched.
Query counters come from ``nsd-control stats_noreset`` over a local control socket.

``NsdProcess`` has the interface of ``DnsProcess`` (``host``, ``port``, ``nameserver``,
``counts()``, ``cpu_seconds()``). ``scripts/install-nsd.sh`` installs the package when missing.
"""

from __future__ import annotations

import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

from .dnsfixture import UDP_RECEIVE_BUFFER, ZONE_TTL, QueryCounts, domain
from .servers import ROOT, free_port, group_cpu_seconds, pinned

SBIN = ("/usr/sbin", "/usr/local/sbin")
INSTALL_SCRIPT = ROOT / "scripts" / "install-nsd.sh"
START_SECONDS = 60.0  # 100,000 domains load in a few seconds; a loaded machine takes longer


def find_nsd() -> tuple[Path | None, str]:
    """The nsd binary, installing the package with ``scripts/install-nsd.sh`` if needed; else why not."""
    for attempt in range(2):
        found = shutil.which("nsd") or next((f"{d}/nsd" for d in SBIN if Path(f"{d}/nsd").exists()), None)
        if found:
            return Path(found), "nsd"
        if attempt == 0:
            done = subprocess.run(["sh", str(INSTALL_SCRIPT)], capture_output=True, text=True)
            if done.returncode != 0:
                return None, f"nsd missing and {INSTALL_SCRIPT.name} failed: {done.stderr.strip()[-200:]}"
    return None, "nsd missing after installing it"


def zone_text(domains: int) -> str:
    lines = [
        f"$TTL {ZONE_TTL}",
        "com. IN SOA ns.com. hostmaster.com. 1 3600 600 86400 60",
        "com. IN NS ns.com.",
        "ns.com. IN A 127.0.0.1",
    ]
    for i in range(domains):  # the same records as bench/dnsfixture.py serves
        lines.append(f"{domain(i)}. IN MX 10 mx.{domain(i)}.")
        lines.append(f"mx.{domain(i)}. IN A 8.8.{i // 250 % 250}.{i % 250 + 1}")
    return "\n".join(lines) + "\n"


class NsdProcess:
    """``with NsdProcess(nsd, 5000) as dns: dns.nameserver, dns.counts()``: the zone, served by NSD."""

    label = "NSD 4 (authoritative, C)"

    def __init__(self, binary: Path, domains: int, cpus: str | None = None) -> None:
        self.binary, self.domains, self.cpus = binary, domains, cpus
        self.host, self.port = "127.0.0.1", 0
        self.workdir = Path(tempfile.mkdtemp(prefix="bench-nsd-"))
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def nameserver(self) -> str:
        return f"{self.host}:{self.port}"

    def _config(self) -> Path:
        w = self.workdir
        (w / "com.zone").write_text(zone_text(self.domains))
        config = w / "nsd.conf"
        config.write_text(f"""server:
    ip-address: {self.host}
    port: {self.port}
    server-count: 1
    username: ""
    chroot: ""
    zonesdir: "{w}"
    database: ""
    pidfile: "{w}/nsd.pid"
    xfrdfile: "{w}/xfrd.state"
    zonelistfile: "{w}/zone.list"
    logfile: "{w}/nsd.log"
    verbosity: 1
    hide-version: yes
    # response rate limiting (built into Debian's nsd) would drop answers to a cold batch
    rrl-ratelimit: 0
    # a cold chunk sends a burst of queries at once: the default receive buffer drops part of it
    # (as bench/dnsfixture.py found for its own server), and each drop costs c-ares a timeout
    receive-buffer-size: {UDP_RECEIVE_BUFFER}
remote-control:
    control-enable: yes
    control-interface: "{w}/nsd.sock"
zone:
    name: "com"
    zonefile: "com.zone"
""")
        return config

    def __enter__(self) -> NsdProcess:
        self.port = free_port()
        config = self._config()
        with open(self.workdir / "nsd.out", "wb") as output:  # what nsd says before its log file is open
            self._process = subprocess.Popen(
                pinned([str(self.binary), "-d", "-c", str(config)], self.cpus),
                cwd=self.workdir,
                start_new_session=True,
                stdin=subprocess.DEVNULL,
                stdout=output,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + START_SECONDS
        while "nsd started" not in self._log():
            if self._process.poll() is not None or time.monotonic() > deadline:
                log = (self._log() + self._log("nsd.out"))[-500:]
                self.__exit__()
                raise RuntimeError(f"nsd did not start: {log}")
            time.sleep(0.05)
        return self

    def __exit__(self, *exc: object) -> None:
        if self._process is not None and self._process.poll() is None:
            self._process.send_signal(signal.SIGTERM)  # nsd stops its children itself
            try:
                self._process.wait(10)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait(5)
        self._process = None
        shutil.rmtree(self.workdir, ignore_errors=True)

    def _log(self, name: str = "nsd.log") -> str:
        try:
            return (self.workdir / name).read_text(errors="replace")
        except OSError:
            return ""

    def counts(self) -> QueryCounts:
        control = self.binary.with_name("nsd-control")
        done = subprocess.run(
            [str(control), "-c", str(self.workdir / "nsd.conf"), "stats_noreset"],
            capture_output=True,
            text=True,
            timeout=30,
            check=True,
        )
        stats = dict(line.split("=", 1) for line in done.stdout.splitlines() if "=" in line)
        by_type = {t: int(stats.get(f"num.type.{t}", 0)) for t in ("MX", "A", "AAAA")}
        by_type["other"] = int(stats.get("num.queries", 0)) - sum(by_type.values())
        return QueryCounts({t: n for t, n in by_type.items() if n})

    def cpu_seconds(self) -> float:
        assert self._process is not None, "use NsdProcess as a context manager"
        return group_cpu_seconds(self._process.pid)
