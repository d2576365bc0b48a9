"""`validator ingest` and `validator report` as a user runs them: real files, a real SQLite store."""

from __future__ import annotations

import json
import mailbox
import shutil
import subprocess
from pathlib import Path

from tests.support.processes import VALIDATOR, env_for
from tests.support.testdata import BOUNCES as CORPUS


def run(dns, tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = env_for(dns, VALIDATOR_DATABASE_URL=f"sqlite:///{tmp_path}/v.sqlite3")
    return subprocess.run([*VALIDATOR, *args], env=env, capture_output=True, text=True, timeout=60)


def inputs(tmp_path: Path) -> Path:
    folder = tmp_path / "in"
    folder.mkdir()
    shutil.copy(CORPUS / "emails" / "lhost-postfix-05.eml", folder)  # Postfix 450 4.1.1 user unknown: hard
    box = mailbox.mbox(folder / "bounces.mbox")  # two more messages, in an mbox
    for name in ("lhost-postfix-02.eml", "arf-02.eml"):
        box.add((CORPUS / "emails" / name).read_bytes())
    box.flush()
    maildir = mailbox.Maildir(folder / "Maildir")  # a Maildir with one non-bounce
    maildir.add((CORPUS / "negatives" / "is-not-bounce-01.eml").read_bytes())
    (folder / "events.ndjson").write_text(
        json.dumps({"event": "unsubscribe", "email": "bye@example.com", "timestamp": "2026-03-15T08:42:11Z"}) + "\n"
    )
    (folder / "broken.eml").write_bytes(b"\x00\x01 not mail")
    return folder


def test_ingest_reads_eml_mbox_maildir_and_events_and_counts_the_unparseable(dns, tmp_path):
    folder = inputs(tmp_path)
    result = run(dns, tmp_path, "ingest", str(folder))
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "messages      6" in out  # 1 eml + 2 in the mbox + 1 in the Maildir + 1 events file + 1 broken
    assert "recipients    5" in out  # postfix-05: 1, postfix-02: 2, arf-02: 1, the unsubscribe: 1
    assert "unparseable   1" in out and "broken.eml" in out
    shown = run(dns, tmp_path, "suppress", "show", "kijitora@example.org")
    assert shown.returncode == 0 and "hard_bounce" in shown.stdout
    again = run(dns, tmp_path, "ingest", "--json", str(folder))
    records = [json.loads(line) for line in again.stdout.splitlines()]
    assert {r["action"] for r in records} == {"duplicate"}


def test_dry_run_classifies_without_touching_the_store(dns, tmp_path):
    folder = inputs(tmp_path)
    result = run(dns, tmp_path, "ingest", "--dry-run", "--json", str(folder / "lhost-postfix-05.eml"))
    [record] = [json.loads(line) for line in result.stdout.splitlines()]
    assert (record["category"], record["action"]) == ("hard_invalid", "suppressed")
    assert not (tmp_path / "v.sqlite3").exists()


def test_dry_run_of_a_stored_report_says_duplicate_as_a_real_run_does(dns, tmp_path):
    message = str(inputs(tmp_path) / "lhost-postfix-05.eml")
    first = run(dns, tmp_path, "ingest", "--json", message)
    assert [json.loads(line)["action"] for line in first.stdout.splitlines()] == ["suppressed"]
    again = [run(dns, tmp_path, "ingest", "--json", *flags, message) for flags in (["--dry-run"], [])]
    assert [[json.loads(line)["action"] for line in r.stdout.splitlines()] for r in again] == [["duplicate"]] * 2


def test_report_prints_rates_with_levels(dns, tmp_path):
    events = tmp_path / "events.json"
    sent = [
        {"event": "sent", "email": f"r{i}@example.com", "timestamp": "2026-03-15T08:00:00Z", "campaign_id": "c1"}
        for i in range(50)
    ]
    bounce = {
        "event": "bounce",
        "email": "r1@example.com",
        "smtp_code": 550,
        "smtp_enhanced_code": "5.1.1",
        "smtp_message": "user unknown",
        "timestamp": "2026-03-15T09:00:00Z",
        "campaign_id": "c1",
    }
    events.write_text(json.dumps([*sent, bounce]))
    assert run(dns, tmp_path, "ingest", str(events)).returncode == 0
    result = run(dns, tmp_path, "report", "--campaign-id", "c1")
    assert result.returncode == 0, result.stderr
    line = next(line for line in result.stdout.splitlines() if line.split()[0] == "hard_bounce")
    assert "2.000% of 50 (sent) critical" in line
    bad = run(dns, tmp_path, "report", "--since", "last week")
    assert bad.returncode == 2 and "since" in bad.stderr


def test_an_esps_exported_history_is_read_with_provider(dns, tmp_path):
    # A SendGrid Bounces API export (set-of-emails json-sendgrid-03: 5.1.1, a hard bounce) and a page
    # of SparkPost's Events API: with --provider they go through the webhook readers; without, our
    # event format refuses them and says so
    folder = tmp_path / "exports"
    folder.mkdir()
    shutil.copy(CORPUS / "webhooks" / "json-sendgrid-03.json", folder / "sendgrid.json")
    bounce = {
        "type": "bounce",
        "bounce_class": "10",
        "event_id": "sp-1",
        "rcpt_to": "left@example.com",
        "timestamp": "1773564131",
        "raw_reason": "550 5.1.1 <left@example.com>: Recipient address rejected: User unknown in local recipient table",
    }
    page = {"results": [bounce, {"type": "click", "rcpt_to": "left@example.com"}], "total_count": 2}
    (folder / "sparkpost.json").write_text(json.dumps(page))
    plain = run(dns, tmp_path, "ingest", "--dry-run", str(folder / "sparkpost.json"))
    assert plain.returncode == 0 and "unparseable   1" in plain.stdout, plain.stdout
    sparkpost = run(dns, tmp_path, "ingest", "--provider", "sparkpost", "--json", str(folder / "sparkpost.json"))
    assert sparkpost.returncode == 0, sparkpost.stderr
    [record] = [json.loads(line) for line in sparkpost.stdout.splitlines()]
    assert (record["address"], record["category"], record["action"]) == (
        "left@example.com",
        "hard_invalid",
        "suppressed",
    )
    sendgrid = run(dns, tmp_path, "ingest", "--provider", "sendgrid", "--json", str(folder / "sendgrid.json"))
    [record] = [json.loads(line) for line in sendgrid.stdout.splitlines()]
    assert (record["address"], record["category"]) == ("kijitora@example.com", "hard_invalid")
    shown = run(dns, tmp_path, "suppress", "show", "left@example.com")
    assert shown.returncode == 0 and "hard_bounce" in shown.stdout
    wrong = run(dns, tmp_path, "ingest", "--provider", "mandrill", str(folder))
    assert wrong.returncode == 2 and "mandrill" in wrong.stderr


def test_an_events_file_is_read_event_by_event_and_a_bad_one_is_named_by_its_line(dns, tmp_path):
    # a file of 10,001 events (past the API's per-request cap) and one bad line among 5,001 were each counted as
    # one unparseable file: every event in it dropped, with no line and no reason
    def event(i: int, when: str = "2026-03-15T08:42:11Z") -> str:
        return json.dumps({"event": "unsubscribe", "email": f"e{i}@example.com", "timestamp": when})

    (tmp_path / "many.ndjson").write_text("".join(event(i) + "\n" for i in range(10_001)))
    lines = [event(i) for i in range(20_000, 25_000)]
    lines[2999] = event(0, when="yesterday")  # line 3000
    lines[3999] = '{"event": "unsubscribe", "email": "half@exam'  # a half-written record, line 4000
    (tmp_path / "one-bad.ndjson").write_text("\n".join(lines) + "\n")
    (tmp_path / "array.json").write_text(
        json.dumps([json.loads(event(30_000)), {"event": "nope"}, json.loads(event(30_001))])
    )
    result = run(
        dns, tmp_path, "ingest", *(str(tmp_path / name) for name in ("many.ndjson", "one-bad.ndjson", "array.json"))
    )
    assert result.returncode == 0, result.stderr
    assert "recipients    15001" in result.stdout  # 10,001 + 4,998 + 2
    assert "unparseable   3" in result.stdout
    assert "one-bad.ndjson line 3000: " in result.stdout and "timestamp" in result.stdout
    assert "one-bad.ndjson line 4000: " in result.stdout and "array.json events[1]: " in result.stdout
