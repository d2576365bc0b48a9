"""read_message on small inline messages: each trap real bounces set, one sample each.

Every sample is a cut-down real-world shape (the corpus holds the full messages); the comment
above each says why it is there.
"""

from __future__ import annotations

import time

import pytest

from validator.bounces.facts import BounceReason, Category, DsnAction, EventKind, StatusSource
from validator.bounces.policy import categorize
from validator.bounces.readers.message import read_message
from validator.errors import UnparseableMessage, ValidatorError


def dsn(recipient_block: str, notice: str = "The mail system", original: str = "") -> bytes:
    """A Postfix-shaped RFC 3464 report with one per-recipient block."""
    original = original or (
        "Return-Path: <sender@example.org>\nFrom: sender@example.org\nTo: x@example.com\n"
        "Message-ID: <original-1@example.org>\nSubject: hello\n"
    )
    return (
        "From: MAILER-DAEMON@mx.example.org (Mail Delivery System)\n"
        "To: sender@example.org\nSubject: Undelivered Mail Returned to Sender\n"
        "Date: Sun, 15 Mar 2026 08:42:11 +0000\nMessage-ID: <bounce-1@mx.example.org>\nMIME-Version: 1.0\n"
        'Content-Type: multipart/report; report-type=delivery-status; boundary="B"\n\n'
        f"--B\nContent-Type: text/plain\n\n{notice}\n\n"
        "--B\nContent-Type: message/delivery-status\n\n"
        "Reporting-MTA: dns; mx.example.org\nArrival-Date: Sun, 15 Mar 2026 08:40:00 +0000\n\n"
        f"{recipient_block}\n\n"
        f"--B\nContent-Type: text/rfc822-headers\n\n{original}\n--B--\n"
    ).encode()


def test_postfix_450_user_unknown_is_hard() -> None:
    # Postfix soft_bounce=yes turns "550 User unknown" into 450 4.1.1: still a missing mailbox
    raw = dsn(
        "Final-Recipient: rfc822; x@example.com\nAction: failed\nStatus: 4.1.1\n"
        "Diagnostic-Code: smtp; 450 4.1.1 <x@example.com>: Recipient address rejected: User unknown in "
        "local recipient table"
    )
    [fact] = read_message(raw)
    assert (fact.reason, categorize(fact)) == (BounceReason.USERUNKNOWN, Category.HARD_INVALID)


def test_552_mailbox_full_is_soft() -> None:
    # Gmail/T-Online: a full mailbox answered with a 5xx is still a full mailbox (set-of-emails #30)
    raw = dsn(
        "Final-Recipient: rfc822; x@example.com\nAction: failed\nStatus: 5.2.2\n"
        "Diagnostic-Code: smtp; 552 5.2.2 <x@example.com>... Mailbox Full"
    )
    [fact] = read_message(raw)
    assert (fact.reason, categorize(fact)) == (BounceReason.MAILBOXFULL, Category.SOFT_MAILBOX)


def test_rbl_571_is_a_sender_problem() -> None:
    # Spamhaus listing: suppressing here would wipe good addresses (hyvor/relay #258)
    raw = dsn(
        "Final-Recipient: rfc822; x@example.com\nAction: failed\nStatus: 5.7.1\n"
        "Diagnostic-Code: smtp; 554 5.7.1 Service unavailable; Client host [192.0.2.1] blocked using "
        "zen.spamhaus.org"
    )
    [fact] = read_message(raw)
    assert fact.reason is BounceReason.BLOCKED
    assert categorize(fact) is Category.SENDER_PROBLEM


def test_delayed_is_not_a_bounce() -> None:
    # Postfix delay warning: "THIS IS A WARNING ONLY. YOU DO NOT NEED TO RESEND YOUR MESSAGE."
    raw = dsn(
        "Final-Recipient: rfc822; x@example.com\nAction: delayed\nStatus: 4.4.1\n"
        "Diagnostic-Code: X-Postfix; connect to mx.example.com[192.0.2.2]:25: No route to host"
    )
    [fact] = read_message(raw)
    assert (fact.event, fact.action) == (EventKind.DEFERRED, DsnAction.DELAYED)
    assert categorize(fact) is Category.IGNORE


def test_delayed_report_of_an_expired_envelope_is_final() -> None:
    # OpenSMTPD 6.8 returns an expired message in its delay template (tests/data/mta-dsn/opensmtpd-*-expired.eml);
    # a Sendmail-style warning with the same X.4.7 status but no word of expiry stays a delay
    expired = dsn(
        "Final-Recipient: rfc822; x@example.com\nAction: delayed\nStatus: 4.4.7\n"
        "Diagnostic-Code: smtp; x@example.com: Envelope expired"
    )
    warning = dsn(
        "Final-Recipient: rfc822; x@example.com\nAction: delayed\nStatus: 4.4.7\n"
        "Diagnostic-Code: smtp; Warning: could not send message for past 4 hours"
    )
    [fact] = read_message(expired)
    assert (fact.event, fact.action, fact.reason) == (EventKind.BOUNCE, DsnAction.FAILED, BounceReason.EXPIRED)
    assert categorize(fact) is Category.SOFT_TRANSIENT
    [fact] = read_message(warning)
    assert (fact.event, fact.action) == (EventKind.DEFERRED, DsnAction.DELAYED)


def test_remote_specific_code_beats_generic_status() -> None:
    # Sendmail writes "Status: 5.0.0" around the remote server's "550 5.1.1" (the remote's code is the more specific)
    raw = dsn(
        "Final-Recipient: rfc822; x@example.com\nAction: failed\nStatus: 5.0.0\n"
        "Remote-MTA: dns; mx.example.com\n"
        "Diagnostic-Code: smtp; 550 5.1.1 <x@example.com>... User unknown"
    )
    [fact] = read_message(raw)
    assert (fact.status, fact.status_source, fact.reply_code) == ("5.1.1", StatusSource.REMOTE, 550)
    assert (fact.remote_mta, fact.message_id, fact.event_id) == (
        "mx.example.com",
        "<original-1@example.org>",
        "<bounce-1@mx.example.org>",
    )
    assert fact.sender == "sender@example.org"
    assert fact.timestamp is not None and fact.timestamp.year == 2026


def test_quoted_original_addresses_are_never_harvested() -> None:
    # qmail: the returned original follows "--- Below this line is a copy of the message." and names others
    raw = (
        b"From: MAILER-DAEMON@mx.example.org\nTo: sender@example.org\nSubject: failure notice\n\n"
        b"Hi. This is the qmail-send program at mx.example.org.\n"
        b"I'm afraid I wasn't able to deliver your message to the following addresses.\n\n"
        b"<gone@example.com>:\nRemote host said: 550 5.1.1 <gone@example.com>... User Unknown\n\n"
        b"--- Below this line is a copy of the message.\n\n"
        b"Return-Path: <sender@example.org>\nFrom: sender@example.org\nTo: gone@example.com\n"
        b"Cc: bystander@example.net\nMessage-ID: <m1@example.org>\n\nPlease forward to friend@example.com\n"
    )
    facts = read_message(raw)
    assert [f.recipient for f in facts] == ["gone@example.com"]
    assert facts[0].message_id == "<m1@example.org>"
    assert categorize(facts[0]) is Category.HARD_INVALID


def test_arf_opt_out_is_an_unsubscribe() -> None:
    # RFC 5965 report with the legacy "opt-out" feedback type: unsubscribe, not a spam complaint
    raw = (
        b"From: fbl@isp.example\nTo: abuse@example.org\nSubject: FW: hello\nMIME-Version: 1.0\n"
        b'Content-Type: multipart/report; report-type=feedback-report; boundary="F"\n\n'
        b"--F\nContent-Type: text/plain\n\nThis is an opt-out report.\n\n"
        b"--F\nContent-Type: message/feedback-report\n\nFeedback-Type: opt-out\nUser-Agent: FBL/1.0\n"
        b"Version: 1\nOriginal-Rcpt-To: reader@example.com\n\n"
        b"--F\nContent-Type: message/rfc822\n\nFrom: list@example.org\nTo: reader@example.com\n"
        b"Message-ID: <n1@example.org>\n\nnews\n--F--\n"
    )
    [fact] = read_message(raw)
    assert (fact.recipient, fact.event, fact.feedback_type) == ("reader@example.com", EventKind.COMPLAINT, "opt-out")
    assert categorize(fact) is Category.UNSUBSCRIBE


def test_vacation_reply_is_ignored() -> None:
    # RFC 3834 auto-reply: the responder is its From, and nothing happens to the address
    raw = (
        b"From: kim@example.net\nTo: sender@example.org\nSubject: Away until May 5\n"
        b"Auto-Submitted: auto-replied\n\nI am out of the office until May 5.\n"
    )
    [fact] = read_message(raw)
    assert (fact.recipient, fact.event, fact.reason) == ("kim@example.net", EventKind.AUTO_REPLY, BounceReason.VACATION)
    assert categorize(fact) is Category.IGNORE


def test_auto_reply_saying_no_longer_in_use_disables() -> None:
    # go-sisimai #202: "This email inbox is no longer in use" arrives as an auto-reply
    raw = (
        b"From: old@example.net\nTo: sender@example.org\nSubject: Automatic reply: hello\n"
        b"Auto-Submitted: auto-replied\n\nThis email inbox is no longer in use. Please write to new@example.net.\n"
    )
    [fact] = read_message(raw)
    assert fact.reason is BounceReason.SUSPEND
    assert categorize(fact) is Category.DISABLED


def test_ordinary_mail_gives_no_facts() -> None:
    # a person's message mentioning addresses is not a report
    raw = b"From: a@example.org\nTo: b@example.com\nSubject: lunch\n\nAsk c@example.net too.\n"
    assert read_message(raw) == []


@pytest.mark.parametrize(
    "raw",
    [
        pytest.param(b"", id="empty"),  # nothing at all
        pytest.param(b"\x00\xff\xfe binary \x89PNG\r\n", id="binary"),  # an image posted by mistake
        pytest.param(b"just a line of text\nand another\n", id="plain-text"),  # no header fields
    ],
)
def test_not_a_mail_message_is_unparseable(raw: bytes) -> None:
    with pytest.raises(UnparseableMessage) as caught:
        read_message(raw)
    assert caught.value.code == "unparseable_message"
    assert isinstance(caught.value, ValidatorError)


def test_bounce_naming_no_recipient_is_unparseable() -> None:
    # a daemon's failure notice that names nobody cannot be attributed to an address
    raw = (
        b"From: MAILER-DAEMON@mx.example.org\nTo: sender@example.org\nSubject: Returned mail\n\n"
        b"Your message could not be delivered.\n"
    )
    with pytest.raises(UnparseableMessage):
        read_message(raw)


def test_exim_bounce_after_mail_from_is_the_senders_problem() -> None:
    # Exim: a refusal after MAIL FROM names no recipient yet, so it is about the sender
    raw = (
        b"From: Mail Delivery System <Mailer-Daemon@mx.example.org>\nTo: sender@example.org\n"
        b"Subject: Mail delivery failed: returning message to sender\nX-Failed-Recipients: x@example.com\n"
        b"Auto-Submitted: auto-replied\n\n"
        b"This message was created automatically by mail delivery software.\n\n"
        b"  x@example.com\n    host mx.example.com [192.0.2.20]\n"
        b"    SMTP error from remote mail server after MAIL FROM:<sender@example.org> SIZE=1543:\n"
        b"    550 5.1.0 <sender@example.org> sender rejected\n\n"
        b"------ This is a copy of the message, including all the headers. ------\n\nTo: x@example.com\n"
    )
    [fact] = read_message(raw)
    assert (fact.recipient, fact.reason) == ("x@example.com", BounceReason.REJECTED)
    assert categorize(fact) is Category.SENDER_PROBLEM


def test_exim_delay_warning_is_a_deferral() -> None:
    # Exim warns with a plain-text notice, no DSN: "Delivery attempts will continue for some time"
    raw = (
        b"From: Mail Delivery System <Mailer-Daemon@mx.example.org>\nTo: sender@example.org\n"
        b"Subject: Warning: message 1P1ce6-000Egt-GZ delayed 24 hours\nX-Failed-Recipients: x@example.com\n\n"
        b"This message was created automatically by mail delivery software.\n"
        b"A message that you sent has not yet been delivered to one or more of its recipients.\n\n"
        b"  x@example.com\n    Delay reason: SMTP error from remote mail server after RCPT TO:<x@example.com>:\n"
        b"    451 4.7.1 Greylisted, please try again later\n\n"
        b"No action is required on your part. Delivery attempts will continue for some time.\n"
    )
    [fact] = read_message(raw)
    assert (fact.event, fact.action) == (EventKind.DEFERRED, DsnAction.DELAYED)
    assert categorize(fact) is Category.IGNORE


def test_ses_notification_mailed_by_sns() -> None:
    # an SNS email subscription mails the SES JSON; the send's id is mail.messageId
    raw = (
        b"From: AWS Notifications <no-reply@sns.amazonaws.com>\nTo: ops@example.org\n"
        b"Subject: AWS Notification Message\nDate: Fri, 21 Oct 2016 00:06:40 +0000\n\n"
        b'{"notificationType":"Bounce","bounce":{"bounceType":"Permanent","bounceSubType":"General",'
        b'"bouncedRecipients":[{"emailAddress":"gone@example.com","action":"failed","status":"5.1.1",'
        b'"diagnosticCode":"smtp; 550 5.1.1 user unknown"}],"timestamp":"2016-10-21T00:06:40.502Z"},'
        b'"mail":{"messageId":"0101-abc","source":"sender@example.org","destination":["gone@example.com"]}}\n'
        b"--\nIf you wish to stop receiving notifications from this topic, please click ...\n"
    )
    [fact] = read_message(raw)
    assert (fact.recipient, fact.reason, fact.message_id, fact.claimed_type) == (
        "gone@example.com",
        BounceReason.USERUNKNOWN,
        "0101-abc",
        "Permanent/General",
    )
    assert categorize(fact) is Category.HARD_INVALID


def test_a_persons_mail_about_rejection_is_not_a_bounce() -> None:
    # one bounce-like sign (the subject) is not enough: a person wrote this, naming colleagues
    raw = (
        b"From: boss@example.org\nTo: team@example.org\nSubject: Re: proposal rejected\n\n"
        b"The client rejected it; ask ann@example.com and bob@example.net why.\n"
    )
    assert read_message(raw) == []


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(b"a" * 600_000, id="letters"),  # an unbounded local-part pattern made this quadratic
        pytest.param(b"a." * 300_000, id="dots"),  # domain labels without end
        pytest.param(b"<a" * 300_000, id="tags"),  # HTML-tag stripping without closing brackets
    ],
)
def test_hostile_bodies_are_read_in_linear_time(body: bytes) -> None:
    raw = b"From: MAILER-DAEMON@mx.example.org\nSubject: Undelivered Mail\nContent-Type: text/html\n\n" + body
    began = time.process_time()
    with pytest.raises(UnparseableMessage):
        read_message(raw)
    assert time.process_time() - began < 5.0  # about 0.1 s; quadratic was minutes


# Sendmail V5: the transcript names only the host; the address is in the returned original's To:
_NAMES_NO_RECIPIENT = b"""Return-Path: <MAILER-DAEMON@example.com>
Date: Sat, 29 Apr 1995 23:34:45 +0900
From: Mail Delivery Subsystem <MAILER-DAEMON@example.com>
Subject: Returned mail: Cannot send message for 4 days
To: sender@example.co.jp

   ----- Transcript of session follows -----
421 example.com (smtp)... Deferred: Connection timed out during user open with example.com

   ----- Unsent message follows -----
Received: by mx9.example.com; (5.65/1.37) id 0000000;
    Thu, 29 Apr 1995 23:34:45 +0900
From: sender@example.co.jp
To: someone@example.com
Subject: hello

hello
"""


def test_a_report_naming_no_recipient_takes_the_originals_marked_inferred() -> None:
    [fact] = read_message(_NAMES_NO_RECIPIENT)
    assert (fact.recipient, fact.recipient_inferred, fact.reason) == ("someone@example.com", True, BounceReason.EXPIRED)


def test_an_original_with_several_recipients_is_not_guessed_from() -> None:
    # two addressees at domains the notice does not name: nothing points at one of them
    raw = _NAMES_NO_RECIPIENT.replace(b"To: someone@example.com", b"To: a@example.org, b@example.net")
    with pytest.raises(UnparseableMessage):
        read_message(raw)
