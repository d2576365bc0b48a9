"""What the browser tests and ``scripts/screenshots.py`` share: Debian's Chromium driven by Selenium,
the real service as a subprocess on loopback, static page servers (other origins), seeding.

Chromium and chromedriver come from Debian's packages, installed by ``scripts/install-browser.sh``
when missing; if they still cannot be found, ``browser_paths`` raises: the tests fail loudly, never skip.
"""

from __future__ import annotations

import functools
import http.server
import json
import os
import shutil
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).parents[2]
EXAMPLES = ROOT / "examples"
# The flags the project runs Chromium with: headless, nothing fetched from outside loopback.
CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--window-size=1200,900",
)


def browser_paths() -> tuple[str, str]:
    """``(chromium, chromedriver)``, installing Debian's packages first when they are missing."""
    found = shutil.which("chromium"), shutil.which("chromedriver")
    if not all(found):
        script = ROOT / "scripts" / "install-browser.sh"
        done = subprocess.run(["sh", str(script)], capture_output=True, text=True, timeout=1200)
        found = shutil.which("chromium"), shutil.which("chromedriver")
        if not all(found):
            raise RuntimeError(
                f"Chromium or chromedriver missing and {script} could not install them "
                f"(exit {done.returncode}): {done.stderr[-2000:]}"
            )
    return found  # type: ignore[return-value]


def start_browser(user_data_dir: Path):  # -> selenium WebDriver
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    chromium, chromedriver = browser_paths()
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for flag in (*CHROMIUM_FLAGS, f"--user-data-dir={user_data_dir}"):
        options.add_argument(flag)
    return webdriver.Chrome(service=Service(executable_path=chromedriver), options=options)


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class ServiceProcess:
    """``validator serve`` on an ephemeral loopback port, its DNS pointed at the test server."""

    def __init__(self, workdir: Path, nameserver: str, **settings: str) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = workdir / "service.log"
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("VALIDATOR_")}
        self.env.update(
            {
                "VALIDATOR_PORT": str(self.port),
                "VALIDATOR_DNS_NAMESERVERS": nameserver,
                "VALIDATOR_DNS_TIMEOUT": "0.3",
                "VALIDATOR_DATABASE_URL": f"sqlite:///{workdir}/v.sqlite3",
                "VALIDATOR_JOB_PROCESS": "false",
                **settings,
            }
        )
        self._process: subprocess.Popen[bytes] | None = None

    def cli(self, *args: str) -> str:
        done = subprocess.run(
            [sys.executable, "-m", "validator", *args],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        if done.returncode != 0:
            raise RuntimeError(f"validator {' '.join(args)}: {done.stderr}")
        return done.stdout.strip()

    def start(self) -> ServiceProcess:
        with self.log.open("wb") as log:
            self._process = subprocess.Popen(
                [sys.executable, "-m", "validator", "serve"], env=self.env, stdout=log, stderr=subprocess.STDOUT
            )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(self.url + "/healthz", timeout=1):
                    return self
            except OSError:
                if self._process.poll() is not None:
                    raise RuntimeError(f"the service exited: {self.log.read_text()[-2000:]}") from None
                time.sleep(0.05)
        raise RuntimeError("the service never answered /healthz")

    def stop(self) -> None:
        if self._process is not None:
            self._process.terminate()
            self._process.wait(15)

    def call(
        self, method: str, path: str, token: str, body: bytes | None = None, content_type: str = "application/json"
    ) -> object:
        request = urllib.request.Request(
            self.url + path,
            data=body,
            method=method,
            headers={"Authorization": f"Bearer {token}", "Content-Type": content_type},
        )
        with urllib.request.urlopen(request, timeout=30) as response:
            data = response.read()
        return json.loads(data) if data else None


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


@contextmanager
def page_server(directory: Path, host: str = "127.0.0.1") -> Iterator[str]:
    """Serves ``directory`` over HTTP; yields its origin (``http://host:port``)."""
    handler = functools.partial(_QuietHandler, directory=str(directory))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://{host}:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def seed_zone(zone) -> None:
    """Loopback DNS for the sample page: real-looking providers, a disposable one, one in trouble."""
    for domain in ("gmail.com", "example.org", "mailinator.com"):
        zone.mx(domain, 10, f"mx.{domain}")
        zone.a(f"mx.{domain}", "8.8.8.8")  # a routable address, never contacted (no SMTP probes here)
    zone.servfail("troubled.example.net")  # DNS trouble: the verdict is unknown, never a block
    zone.mx("slow.example.net", 10, "mx.slow.example.net")
    zone.a("mx.slow.example.net", "8.8.8.8")
    zone.delay("slow.example.net", 1.0)  # an answer that arrives after the person moved on


def seed_dashboard(service: ServiceProcess, admin: str, reader: str) -> None:
    """Two campaigns over several days (one unhealthy), suppressions with history, a finished job."""
    events = []
    for day, campaign, sent, hard in (
        (1, "spring", 400, 2),
        (2, "spring", 400, 6),
        (3, "spring", 300, 9),
        (1, "welcome", 200, 0),
        (3, "welcome", 200, 1),
    ):
        when = f"2026-11-0{day}T10:00:00Z"
        events += [
            {
                "event": "sent",
                "email": f"user{day}-{i}@example.org",
                "timestamp": when,
                "campaign_id": campaign,
                "message_id": f"<{campaign}{day}-{i}@example.org>",
            }
            for i in range(sent)
        ]
        events += [
            {
                "event": "bounce",
                "email": f"gone{day}-{i}@example.org",
                "timestamp": when,
                "campaign_id": campaign,
                "smtp_code": 550,
                "smtp_enhanced_code": "5.1.1",
                "smtp_message": "5.1.1 <gone@example.org>: Recipient address rejected: User unknown",
                "message_id": f"<{campaign}{day}-b{i}@example.org>",
            }
            for i in range(hard)
        ]
    events.append(
        {
            "event": "complaint",
            "email": "angry@example.org",
            "timestamp": "2026-11-03T11:00:00Z",
            "campaign_id": "spring",
            "feedback_type": "abuse",
        }
    )
    body = "\n".join(json.dumps(e) for e in events).encode()
    service.call("POST", "/v1/events", admin, body, "application/x-ndjson")
    service.call(
        "PUT",
        "/v1/suppressions/jane.old@example.org",
        admin,
        json.dumps({"reason": "manual", "detail": "asked by phone", "why": "support ticket"}).encode(),
    )
    service.call(
        "PUT",
        "/v1/suppressions/domains/spamtrap.example",
        admin,
        json.dumps({"reason": "complaint", "source": "postmaster"}).encode(),
    )
    csv = "email\n" + "".join(f"person{i}@example.org\n" for i in range(30))
    job = service.call("POST", "/v1/jobs", reader, csv.encode(), "text/csv")
    deadline = time.monotonic() + 30
    while service.call("GET", f"/v1/jobs/{job['id']}", reader)["status"] != "completed":  # type: ignore[index]
        if time.monotonic() > deadline:
            raise RuntimeError("the seeded job never finished")
        time.sleep(0.1)
