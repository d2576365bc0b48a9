"""Every shell example of README.md and docs/*.md runs as written against a started service.

One ``validator serve`` process (as ``make serve`` starts it, on an ephemeral port: the
examples' ``localhost:8080`` is rewritten to it), a loopback DNS zone holding the examples'
domains, and one bash session that runs the run blocks of every document in order from a
scratch directory with the project's ``.venv`` linked in and the example files the commands
name. Its ``PATH`` lacks the virtualenv, so bare ``validator`` commands work only if the
README's own ``export PATH`` line does. Each command must exit as documented (0, or the
``(exit N)`` its comment gives) and print no error body unless one is documented; a documented
answer (``# {...}`` lines, or a ``json`` block after the run block) is compared with what it
printed (``tests/support/doccommands.py``), so the examples cannot drift from the service.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import orjson
import pytest

from tests.support.doccommands import Command, mismatches, read_blocks
from tests.support.processes import VALIDATOR, free_port, wait_for
from tests.support.webhook_signers import MAILGUN_KEY, mailgun_body

ROOT = Path(__file__).parents[2]
DOCUMENTS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
EXAMPLE_PORTS = ("localhost:8080", "127.0.0.1:8080")
SESSION_SECONDS = 180  # the whole session; about 30 s on a loaded 2-core machine


def example_zone(zone) -> None:
    """The domains the examples use, answered as the public DNS answers them (or as shown)."""
    # the README's first example: a typo domain with a routable mail host (shown as 52.18.43.7)
    zone.mx("yahooo.com", 10, "mx1.yahooo.com")
    zone.a("mx1.yahooo.com", "52.18.43.7")
    for domain in ("example.com", "example.org", "example.net"):  # IANA publishes a null MX (RFC 7505)
        zone.mx(domain, 0, ".")


DSN = """\
From: MAILER-DAEMON@mx.example.org
To: news@example.org
Subject: Undelivered Mail Returned to Sender
Date: Sun, 15 Mar 2026 08:42:11 +0000
Message-ID: <dsn-{n}@mx.example.org>
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status; boundary="b1"

--b1
Content-Type: text/plain

This is the mail system at host mx.example.org. Your message could not be delivered.

--b1
Content-Type: message/delivery-status

Reporting-MTA: dns; mx.example.org

Final-Recipient: rfc822; {recipient}
Action: failed
Status: 5.1.1
Remote-MTA: dns; mx.example.net
Diagnostic-Code: smtp; 550 5.1.1 <{recipient}>: Recipient address rejected: User unknown in local recipient table

--b1
Content-Type: text/rfc822-headers

Message-ID: <20260315084011.{n}@mail.example.org>
From: news@example.org
To: {recipient}
Subject: Spring sale

--b1--
"""


def example_files(directory: Path) -> None:
    """The files the examples name, as a user would have them."""

    def dsn(n: int, recipient: str) -> str:  # a Postfix-style RFC 3464 DSN: 550 5.1.1 user unknown
        return DSN.format(n=n, recipient=recipient)

    (directory / ".venv").symlink_to(sys.prefix)  # the project's virtualenv, as `make install` makes it
    (directory / "customers.csv").write_text(
        "name,email\nJane,jane.doe@yahooo.com\nJoe,joe@example.com\nJane again,Jane.Doe@yahooo.com\n"
    )
    (directory / "list.csv").write_text("email\nann@yahooo.com\nbob@example.com\n")
    (directory / "list.ndjson").write_text('"ann@yahooo.com"\n{"email": "bob@example.org"}\n')
    (directory / "bounce.eml").write_text(dsn(1, "gone@example.net"))
    (directory / "suspicious.eml").write_text(dsn(2, "maybe@example.net"))
    (directory / "bounces").mkdir()
    (directory / "bounces" / "one.eml").write_text(dsn(3, "old@example.net"))
    (directory / "archive.mbox").write_text(
        "From MAILER-DAEMON Sun Mar 15 08:42:11 2026\n" + dsn(4, "older@example.net")
    )
    for part in ("cur", "new", "tmp"):
        (directory / "Maildir" / part).mkdir(parents=True)
    (directory / "Maildir" / "new" / "1.host").write_text(dsn(5, "oldest@example.net"))
    (directory / "events.ndjson").write_text(
        orjson.dumps({"event": "unsubscribe", "email": "bye@example.com", "timestamp": "2026-03-15T08:42:11Z"}).decode()
        + "\n"
    )
    event = {
        "event": "failed",
        "severity": "permanent",
        "recipient": "lost@example.net",
        "id": "mg-1",
        "timestamp": time.time(),
        "delivery-status": {"code": 550, "message": "5.1.1 mailbox unknown"},
    }
    (directory / "event.json").write_bytes(mailgun_body(event, at=datetime.now(UTC)))  # signed just now
    sparkpost = {"type": "bounce", "bounce_class": "10", "rcpt_to": "moved@example.net", "event_id": "sp-1"}
    sparkpost["raw_reason"] = "550 5.1.1 <moved@example.net>: Recipient address rejected: User unknown"
    (directory / "sparkpost-events.json").write_bytes(orjson.dumps({"results": [sparkpost], "total_count": 1}))


def script_for(commands: list[Command], port: int, out: Path) -> str:
    """One bash script: each command in a group of its own (its variables stay), output kept per command."""
    parts = []
    for n, command in enumerate(commands):
        text = command.text
        for example in EXAMPLE_PORTS:
            text = text.replace(example, f"localhost:{port}")
        parts.append(f"{{\n{text}\n}} >'{out}/{n}.out' 2>'{out}/{n}.err' </dev/null\necho $? >'{out}/{n}.rc'\n")
    return "".join(parts)


def problems_of(command: Command, stdout: str, stderr: str, status: int) -> list[str]:
    problems = []
    if status != command.exit_status:
        problems.append(f"exit status {status}, documented {command.exit_status}")
    body = _json(stdout)
    if command.expected is not None:
        problems += mismatches(command.expected, body) if body is not None else ["printed no JSON"]
    elif isinstance(body, dict) and isinstance(body.get("error"), dict):
        problems.append("answered an error no example documents")
    return problems and problems + [f"stdout: {stdout[-600:]!r}", f"stderr: {stderr[-600:]!r}"]


def _json(text: str):
    """The JSON the command printed: the whole output, or the body after ``curl -i`` headers."""
    for candidate in (text, text.rpartition("\r\n\r\n")[2]):
        try:
            return orjson.loads(candidate)
        except orjson.JSONDecodeError:
            continue
    return None


@pytest.fixture
def service(dns, tmp_path: Path):
    example_zone(dns.zone)
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("VALIDATOR_")}
    venv_bin = str(Path(sys.executable).parent)
    env["PATH"] = os.pathsep.join(p for p in env.get("PATH", "").split(os.pathsep) if p and p != venv_bin)
    env.update(
        HOME=str(tmp_path),
        VALIDATOR_PORT=str(port),
        VALIDATOR_DNS_NAMESERVERS=dns.nameserver,
        VALIDATOR_DNS_TIMEOUT="0.5",
        VALIDATOR_DATABASE_URL=f"sqlite:///{tmp_path / 'validator.sqlite3'}",
        VALIDATOR_MAILGUN_SIGNING_KEY=MAILGUN_KEY.decode(),
    )
    example_files(tmp_path)
    log = (tmp_path / "serve.log").open("w")
    process = subprocess.Popen([*VALIDATOR, "serve"], env=env, cwd=tmp_path, stdout=log, stderr=subprocess.STDOUT)
    try:
        wait_for(f"http://127.0.0.1:{port}/healthz", time.monotonic() + 30)
        yield env, port
    finally:
        process.terminate()
        process.wait(timeout=20)
        log.close()


def test_every_readme_and_docs_command_runs_as_documented(service, tmp_path: Path):
    env, port = service
    commands: list[tuple[str, Command]] = []
    for document in DOCUMENTS:
        name = str(document.relative_to(ROOT))
        commands += [(name, c) for b in read_blocks(document.read_text(), name) if b.runs for c in b.commands]
    assert len(commands) > 40, "the README's examples were not found"
    out = tmp_path / "outputs"
    out.mkdir()
    script = script_for([c for _, c in commands], port, out)
    try:
        subprocess.run(["bash", "-c", script], env=env, cwd=tmp_path, timeout=SESSION_SECONDS, check=False)
    except subprocess.TimeoutExpired:
        pass  # the command still running has no exit status: it is reported below
    failures = []
    for n, (document, command) in enumerate(commands):
        rc_file = out / f"{n}.rc"
        if not rc_file.exists():
            failures.append(
                f"{command.where(document)}: did not finish within {SESSION_SECONDS} s, or never ran "
                f"(the session stopped)\n    {command.text}"
            )
            continue
        found = problems_of(
            command,
            (out / f"{n}.out").read_text(errors="replace"),
            (out / f"{n}.err").read_text(errors="replace"),
            int(rc_file.read_text()),
        )
        if found:
            failures.append(f"{command.where(document)}: {command.text}\n    " + "\n    ".join(found))
    assert not failures, f"{len(failures)} example(s) do not run as documented:\n" + "\n".join(failures)
