"""Reading SMTP replies: parsing live and DSN-quoted replies, and what each reply says about the address."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from validator.smtp_reply import Reply, ReplyClass, classify_reply, parse_reply

C = ReplyClass

GMAIL_NO_SUCH_USER = (
    "550-5.1.1 The email account that you tried to reach does not exist. Please try\r\n"
    "550-5.1.1 double-checking the recipient's email address for typos or\r\n"
    "550 5.1.1 unnecessary spaces. https://support.google.com/mail/?p=NoSuchUser a1-v6si - gsmtp"
)

PARSE_CASES = [
    # a one-line live reply
    pytest.param("250 2.1.5 Ok", Reply(250, "2.1.5", "Ok"), id="single-line"),
    # RFC 5321 §4.2.1: a bare code is a complete reply
    pytest.param("250", Reply(250, None, ""), id="bare-code"),
    # EHLO answer: continuation lines joined, codes removed
    pytest.param(
        "250-mx.example.org\r\n250-PIPELINING\r\n250 STARTTLS",
        Reply(250, None, "mx.example.org PIPELINING STARTTLS"),
        id="multi-line-ehlo",
    ),
    # Gmail repeats the enhanced code on every line: it is taken once, removed everywhere
    pytest.param(
        GMAIL_NO_SUCH_USER,
        Reply(
            550,
            "5.1.1",
            "The email account that you tried to reach does not exist. Please try double-checking the recipient's "
            "email address for typos or unnecessary spaces. "
            "https://support.google.com/mail/?p=NoSuchUser a1-v6si - gsmtp",
        ),
        id="multi-line-gmail",
    ),
    # LF-only line ends are as good as CRLF
    pytest.param(
        "451-4.7.1 Greylisted\n451 4.7.1 come back later",
        Reply(451, "4.7.1", "Greylisted come back later"),
        id="lf-line-ends",
    ),
    # DSN Diagnostic-Code with the RFC 3464 "smtp;" diagnostic-type
    pytest.param(
        "smtp; 550 5.1.1 <x@y.example>: Recipient address rejected: User unknown",
        Reply(550, "5.1.1", "<x@y.example>: Recipient address rejected: User unknown"),
        id="dsn-smtp-prefix",
    ),
    # the field name left in, upper-case type, extra spaces
    pytest.param(
        "Diagnostic-Code: SMTP;  552 5.2.2 <a@b.example>... Mailbox Full",
        Reply(552, "5.2.2", "<a@b.example>... Mailbox Full"),
        id="dsn-field-name",
    ),
    # Postfix quotes the remote reply after "host ... said:", folded, with "(in reply to ...)" after it
    pytest.param(
        "X-Postfix; host r2.example.org[198.51.100.24] said: 550\n    5.1.1 <x@y.example>: Recipient address rejected: "
        "User unknown in virtual alias table (in reply to RCPT TO command)",
        Reply(550, "5.1.1", "<x@y.example>: Recipient address rejected: User unknown in virtual alias table"),
        id="postfix-host-said",
    ),
    # a Gmail multi-line reply folded into one DSN line keeps "550-5.7.26" in the middle
    pytest.param(
        "SMTP; 550-5.7.26 This mail is unauthenticated. 550-5.7.26 Gmail requires all senders to authenticate",
        Reply(550, "5.7.26", "This mail is unauthenticated. Gmail requires all senders to authenticate"),
        id="folded-gmail-lines",
    ),
    # Amazon SES: its own status label first, then the remote reply; the remote reply wins
    pytest.param(
        "smtp; 5.1.0 - Unknown address error 550-'5.7.1 <a@b.example>... Access denied'",
        Reply(550, "5.7.1", "<a@b.example>... Access denied'"),
        id="ses-label-then-reply",
    ),
    # an enhanced code with no basic code, behind "#" as some MTAs write it
    pytest.param(
        "#5.1.1 bad destination mailbox", Reply(None, "5.1.1", "bad destination mailbox"), id="hash-enhanced-only"
    ),
    # an enhanced code in parentheses
    pytest.param("(5.2.2) mailbox full", Reply(None, "5.2.2", "mailbox full"), id="parenthesised-enhanced"),
    # RFC 3463 §2: subject and detail have up to three digits (Office 365's 5.7.606)
    pytest.param(
        "550 5.7.606 Access denied, banned sending IP [198.51.100.222]",
        Reply(550, "5.7.606", "Access denied, banned sending IP [198.51.100.222]"),
        id="three-digit-detail",
    ),
    # RFC 3463 §2: class 3 does not exist, so "3.1.1" is text, not an enhanced code
    pytest.param("550 3.1.1 nope", Reply(550, None, "3.1.1 nope"), id="invalid-enhanced-class"),
    # an IP address is not an enhanced code: 2.0.2.1 inside 192.0.2.1
    pytest.param(
        "554 Client host [192.0.2.1] refused", Reply(554, None, "Client host [192.0.2.1] refused"), id="ip-not-enhanced"
    ),
    # RFC 3464: an X-Unix diagnostic is a mailer exit status, not a reply code
    pytest.param("X-Unix; 255", Reply(None, None, "255"), id="x-unix-exit-status"),
    # Postfix connection failure: no reply at all
    pytest.param(
        "X-Postfix; connect to mx.example.org[203.0.113.225]:25: Connection timed out",
        Reply(None, None, "connect to mx.example.org[203.0.113.225]:25: Connection timed out"),
        id="no-reply",
    ),
    pytest.param("", Reply(None, None, ""), id="empty"),  # nothing to read
    pytest.param(" \r\n\t ", Reply(None, None, ""), id="whitespace"),  # blank lines only
]


@pytest.mark.parametrize(("raw", "expected"), PARSE_CASES)
def test_parse_reply(raw: str, expected: Reply) -> None:
    assert parse_reply(raw) == expected


CLASSIFY_CASES = [
    # RCPT accepted
    pytest.param("250 2.1.5 Ok", C.ACCEPTED, id="250"),
    # RFC 5321: 251 user not local; will forward
    pytest.param("251 2.1.5 User not local; will forward to <x@elsewhere.example>", C.ACCEPTED, id="251"),
    # Postfix local recipient check
    pytest.param(
        "550 5.1.1 <x@example.org>: Recipient address rejected: User unknown in local recipient table",
        C.MAILBOX_NOT_FOUND,
        id="postfix-user-unknown",
    ),
    # Gmail, multi-line
    pytest.param(GMAIL_NO_SUCH_USER, C.MAILBOX_NOT_FOUND, id="gmail-no-such-user"),
    # Office 365: X.1.10 recipient not found
    pytest.param(
        "550 5.1.10 RESOLVER.ADR.RecipientNotFound; Recipient not found by SMTP address lookup",
        C.MAILBOX_NOT_FOUND,
        id="o365-5.1.10",
    ),
    # Yahoo: no enhanced code, the text says it
    pytest.param(
        "554 delivery error: dd This user doesn't have a yahoo.com account (x@yahoo.com) [0] - mta1397",
        C.MAILBOX_NOT_FOUND,
        id="yahoo-dd",
    ),
    # Outlook.com: generic 5.5.0, "mailbox unavailable" on a 5xx
    pytest.param(
        "550 5.5.0 Requested action not taken: mailbox unavailable",
        C.MAILBOX_NOT_FOUND,
        id="outlook-mailbox-unavailable",
    ),
    # Sendmail: generic 5.0.0, text decides
    pytest.param(
        "smtp; 550 5.0.0 <x@example.jp>... User unknown", C.MAILBOX_NOT_FOUND, id="generic-5.0.0-user-unknown"
    ),
    # Exim: no enhanced code
    pytest.param("550 Unrouteable address", C.MAILBOX_NOT_FOUND, id="exim-unrouteable"),
    # misuse: policy class 5.7.1 with recipient text and nothing about the sender: the text decides
    pytest.param(
        "550 5.7.1 <x@example.org>: Recipient address rejected: no such user",
        C.MAILBOX_NOT_FOUND,
        id="misuse-5.7.1-no-such-user",
    ),
    # Office 365 directory-based edge blocking (SparkPost reclassified it as an invalid recipient)
    pytest.param(
        "550 5.4.1 Recipient address rejected: Access denied. AS(201806281)", C.MAILBOX_NOT_FOUND, id="o365-dbeb-5.4.1"
    ),
    # RFC 3463 X.1.6: mailbox moved, no forwarding address
    pytest.param("550 5.1.6 recipient no longer on server: x@example.go.jp", C.MAILBOX_NOT_FOUND, id="5.1.6-moved"),
    # no enhanced code, "user not found"
    pytest.param("550 User not found", C.MAILBOX_NOT_FOUND, id="user-not-found"),
    # misuse: GoDaddy writes X.1.1 for its sender rate limit; the text is about our IP
    pytest.param(
        "550 5.1.1 <x@example.com> - 203.0.113.222 has sent to too many recipients this hour. IB607",
        C.PROBE_BLOCKED,
        id="misuse-godaddy-5.1.1-rate",
    ),
    # Postfix with unknown_*_reject_code 450: temporary code, permanent fact
    pytest.param(
        "450 4.1.1 <x@example.org>: Recipient address rejected: User unknown in virtual mailbox table",
        C.MAILBOX_NOT_FOUND,
        id="postfix-450-user-unknown",
    ),
    # Postfix reject_unverified_recipient while the check is still running: not a fact yet
    pytest.param(
        "450 4.1.1 <x@example.org>: Recipient address rejected: unverified address: Address verification in progress",
        C.TEMPORARY,
        id="postfix-unverified",
    ),
    # a 4xx "mailbox unavailable" is RFC 5321's stock 450 text, not a missing mailbox
    pytest.param(
        "450 4.2.0 Requested mail action not taken: mailbox unavailable", C.TEMPORARY, id="450-mailbox-unavailable"
    ),
    # Gmail disabled account
    pytest.param(
        "550 5.2.1 The email account that you tried to reach is disabled. g0000 - gsmtp",
        C.MAILBOX_DISABLED,
        id="gmail-disabled",
    ),
    # RFC 5248 X.7.13 user account disabled
    pytest.param("525 5.7.13 Disabled recipient address", C.MAILBOX_DISABLED, id="5.7.13"),
    # Yahoo: disabled, without an enhanced code
    pytest.param(
        "554 delivery error: dd Sorry your message to x@yahoo.com cannot be delivered. "
        "This account has been disabled or discontinued [#102]",
        C.MAILBOX_DISABLED,
        id="yahoo-discontinued",
    ),
    # misuse: 5.2.1 with user-unknown text; both permanent, the text is more specific
    pytest.param("550 5.2.1 <x@example.com>... User Unknown", C.MAILBOX_NOT_FOUND, id="misuse-5.2.1-user-unknown"),
    # Gmail rate limit uses X.2.1: the mailbox is fine, the moment is not
    pytest.param(
        "450-4.2.1 The user you are trying to contact is receiving mail at a rate that prevents additional messages",
        C.TEMPORARY,
        id="gmail-rate-4.2.1",
    ),
    # Gmail over quota
    pytest.param(
        "452-4.2.2 The email account that you tried to reach is over quota. Please direct the recipient to",
        C.MAILBOX_FULL,
        id="gmail-over-quota",
    ),
    # Sendmail mailbox full
    pytest.param("552 5.2.2 <x@example.org>... Mailbox Full", C.MAILBOX_FULL, id="552-5.2.2"),
    # 452 for too many recipients in one transaction is about our session, not the mailbox
    pytest.param("452 4.5.3 Error: too many recipients", C.TEMPORARY, id="452-too-many-recipients"),
    # message size, not mailbox size
    pytest.param(
        "552 5.2.3 Message size exceeds fixed maximum message size (10485760)", C.REJECTED, id="552-5.2.3-size"
    ),
    # Postgrey
    pytest.param(
        "450 4.2.0 <x@example.org>: Recipient address rejected: Greylisted, see http://postgrey.schweikert.ch/help/example.org.html",
        C.GREYLISTED,
        id="postgrey",
    ),
    # Exim greylistd
    pytest.param("451 4.7.1 Greylisting in action, please come back later", C.GREYLISTED, id="exim-greylistd"),
    # a 4xx saying "try again later" is treated as greylisting
    pytest.param("451 4.3.0 Please try again later", C.GREYLISTED, id="try-again-later"),
    # plain 4xx
    pytest.param("450 4.0.0 Temporary failure", C.TEMPORARY, id="plain-4xx"),
    # Gmail closing the session
    pytest.param("421-4.7.0 Try again later, closing connection. (EHLO)", C.SMTP_UNAVAILABLE, id="421"),
    # RFC 5321 §3.1 greeting refusal
    pytest.param("554 mx.me.example ESMTP not accepting connections", C.SMTP_UNAVAILABLE, id="554-no-service"),
    # Postfix RBL check: about our IP, not the address
    pytest.param(
        "550 5.7.1 Service unavailable; Client host [1.2.3.4] blocked using zen.spamhaus.org",
        C.PROBE_BLOCKED,
        id="spamhaus",
    ),
    # RBL text wins over recipient-looking words around it
    pytest.param(
        "554 5.7.1 Service unavailable; Client host [192.0.2.1] blocked using bl.spamcop.net; mailbox unavailable",
        C.PROBE_BLOCKED,
        id="rbl-beats-mailbox-text",
    ),
    # Proofpoint without an enhanced code
    pytest.param("554 Blocked - see https://ipcheck.proofpoint.com/?ip=192.0.2.1", C.PROBE_BLOCKED, id="proofpoint"),
    # Postfix reject_unknown_client_hostname (missing PTR)
    pytest.param(
        "450 4.7.1 Client host rejected: cannot find your hostname, [192.0.2.1]", C.PROBE_BLOCKED, id="postfix-no-ptr"
    ),
    # Gmail X.7.25 PTR
    pytest.param(
        "550-5.7.25 The IP address sending this message does not have a PTR record setup",
        C.PROBE_BLOCKED,
        id="gmail-ptr",
    ),
    # Gmail DMARC
    pytest.param(
        "550-5.7.26 Unauthenticated email from example.com is not accepted due to domain's DMARC policy",
        C.PROBE_BLOCKED,
        id="gmail-dmarc",
    ),
    # Yahoo deferral for complaints: a 421 that is really a block
    pytest.param(
        "421 4.7.0 [TSS04] Messages from 192.0.2.1 temporarily deferred due to user complaints",
        C.PROBE_BLOCKED,
        id="yahoo-tss04",
    ),
    # bad sender address (X.1.8) is about MAIL FROM
    pytest.param(
        "501 5.1.8 <probe@example.net>: Sender address rejected: Domain not found", C.PROBE_BLOCKED, id="sender-5.1.8"
    ),
    # Postfix relay refusal: a policy code with no recipient text
    pytest.param("554 5.7.1 <x@example.org>: Relay access denied", C.PROBE_BLOCKED, id="5.7.1-relay"),
    # 5xx with nothing clearer
    pytest.param("554 5.6.0 Message content rejected", C.REJECTED, id="plain-5xx"),
    # enhanced code only: its class decides (RFC 3463 §3.1)
    pytest.param("#5.1.1 bad destination mailbox address", C.MAILBOX_NOT_FOUND, id="enhanced-only"),
    # 354 is an intermediate reply, not an answer about a recipient
    pytest.param("354 End data with <CR><LF>.<CR><LF>", C.UNKNOWN, id="354"),
    # no code at all
    pytest.param("Connection timed out", C.UNKNOWN, id="no-code"),
]


@pytest.mark.parametrize(("raw", "expected"), CLASSIFY_CASES)
def test_classify_reply(raw: str, expected: ReplyClass) -> None:
    assert classify_reply(parse_reply(raw)) is expected


@pytest.mark.parametrize(
    ("cls", "permanent"),
    [pytest.param(cls, cls in (C.MAILBOX_NOT_FOUND, C.MAILBOX_DISABLED), id=cls.value) for cls in C],
)
def test_only_missing_and_disabled_mailboxes_are_permanent(cls: ReplyClass, permanent: bool) -> None:
    assert cls.permanent is permanent


def test_classes_are_lower_snake_wire_values() -> None:
    assert all(cls.value == cls.name.lower() for cls in C)


@pytest.mark.parametrize("junk", [None, b"550 5.1.1 x", 550, object()], ids=["none", "bytes", "int", "object"])
def test_non_text_input_is_no_reply(junk: object) -> None:
    reply = parse_reply(junk)  # type: ignore[arg-type]
    assert reply == Reply(None, None, "")
    assert classify_reply(reply) is C.UNKNOWN


def test_huge_input_is_bounded() -> None:
    reply = parse_reply("550-5.1.1 " + "x" * 200_000 + "\r\n550 5.1.1 User unknown")
    assert reply.code == 550 and len(reply.text) <= 65_536


_reply_like = st.builds(
    lambda code, sep, enh, body: f"{code}{sep}{enh}{body}",
    st.integers(0, 999).map(str),
    st.sampled_from([" ", "-", "", "\r\n", ";"]),
    st.sampled_from(["", "5.1.1 ", "4.2.2 ", "#5.7.1 ", "(2.0.0) ", "9.9.9 "]),
    st.text(max_size=200),
)


@given(st.one_of(st.text(max_size=500), _reply_like))
def test_parse_and_classify_never_raise(raw: str) -> None:
    reply = parse_reply(raw)
    assert isinstance(classify_reply(reply), ReplyClass)
    assert reply.code is None or 200 <= reply.code <= 559
    assert reply.enhanced is None or reply.enhanced[0] in "245"


@pytest.mark.parametrize(
    ("raw", "refuses"),
    [
        ("452 4.5.3 Error: too many recipients", True),  # Postfix smtpd_recipient_limit
        ("452 Too many recipients", True),  # RFC 5321 §4.5.3.1.10, no enhanced code
        ("552 5.5.3 Too many recipients", True),  # the 5xx form some servers use
        ("452 4.2.2 Mailbox full", False),  # over quota: an answer about the mailbox
        ("550 5.1.1 User unknown", False),
        ("451 4.7.1 Greylisting in action, please come back later", False),
    ],
)
def test_refuses_more_recipients(raw: str, refuses: bool) -> None:
    from validator.smtp_reply import refuses_more_recipients

    assert refuses_more_recipients(parse_reply(raw)) is refuses
