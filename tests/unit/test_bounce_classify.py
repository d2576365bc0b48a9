"""reason_of: one rule set for raw bounces, JSON events and webhooks; each row a reply seen in the wild."""

import pytest

from validator.bounces.classify import notice_says_disabled, reason_of
from validator.bounces.facts import BounceFact, Category, DsnAction, EventKind
from validator.bounces.facts import BounceReason as R
from validator.bounces.policy import categorize
from validator.bounces.reply_parts import smtp_command
from validator.smtp_reply import ReplyClass, classify_reply, parse_reply


@pytest.mark.parametrize(
    ("reply", "command", "expected"),
    [
        # Postfix local recipient table: the classic hard bounce
        (
            "550 5.1.1 <x@example.com>: Recipient address rejected: User unknown in local recipient table",
            "RCPT",
            R.USERUNKNOWN,
        ),
        # 5xx with a full mailbox: the text beats the class digit and even an X.1.1 code (MailFoundry)
        ("552 5.1.1 sorry, mailbox x@example.org is over quota", None, R.MAILBOXFULL),
        # what the text says about the mailbox outweighs a vague status (X.0.0) and the command (Sendmail)
        ("550 5.0.0 <x@example.com>... User unknown", "DATA", R.USERUNKNOWN),
        ("550 5.1.1 <x@example.com>... User unknown", "DATA", R.USERUNKNOWN),
        # ... and X.2.1 (disabled): the same reply is labelled userunknown and filtered in two corpus messages
        ("550 5.2.1 <x@example.com>... User Unknown", None, R.USERUNKNOWN),
        # "no MX" in its general form, whoever words it: qmail, Yahoo, and wordings no corpus message has
        ("Sorry, I couldn't find a mail exchanger or IP address. (#5.4.4)", None, R.NOTACCEPT),
        ("554 No mx record found for domain=example.org", None, R.NOTACCEPT),
        ("550 5.4.4 Unable to find an MX for example.org", None, R.NOTACCEPT),
        # ... but a host that "may not be mail exchanger" is the sender's relay refused (Sendmail's transcript)
        ("553 5.7.1 <x@example.org>: Client host rejected: may not be mail exchanger", "RCPT", R.BLOCKED),
        # the recipient's own choice, whatever the code: Facebook, and the same meaning in other words
        ("550 5.1.1 RCP-P2 Refused due to recipient preferences", "RCPT", R.FILTERED),
        ("550 5.1.1 Message refused by the recipient's filter settings", "RCPT", R.FILTERED),
        # RFC 5321 §3.4: "551 User not local; please try <forward-path>"
        ("551 User not local; please try <y@example.org>", None, R.HASMOVED),
        # a 551 whose words say nothing of a move: the words decide
        ("551 not our customer", None, R.USERUNKNOWN),
        ("551 5.7.1 <x@example.com>: sender not authorized", "RCPT", R.BLOCKED),
        # a refusal after MAIL FROM is the sender's, even in words that would mean a missing mailbox elsewhere
        ("550 5.1.1 <x@example.com>... User unknown", "MAIL", R.REJECTED),
        ("550 5.7.1 Client host rejected: cannot find your reverse hostname", "MAIL", R.REQUIREPTR),
        # Postgrey: transient, as the prober reads it (greylisted); a DSN that gave up turns it into expired
        (
            "450 4.7.1 <x@example.com>: Recipient address rejected: Greylisted, see http://postgrey.schweikert.ch/help/",
            "RCPT",
            R.SYSTEMERROR,
        ),
        # no code at all: the words alone, in English, Russian or Japanese
        ("Пользователь не найден", None, R.USERUNKNOWN),
        ("宛先不明", None, R.USERUNKNOWN),
        ("Почтовый ящик переполнен", None, R.MAILBOXFULL),
        ("This account has been disabled", None, R.SUSPEND),
        ("Sorry, no mailbox here by that name", None, R.USERUNKNOWN),
        # a refusal after MAIL FROM is about the sender, not the recipient
        ("553 5.1.0 <sender@example.org>... Domain of sender address does not exist", "MAIL", R.REJECTED),
        # Exim "after initial connection": our IP was refused before any recipient was named
        ("550 Access denied", "CONN", R.BLOCKED),
        # RBL listing with "Service unavailable" words: still a block of our IP
        ("554 5.7.1 Service unavailable; Client host [192.0.2.1] blocked using zen.spamhaus.org", None, R.BLOCKED),
        # Gmail DMARC rejection: authentication, not spam, although the text mentions spam elsewhere
        (
            "550-5.7.26 Unauthenticated email from example.com is not accepted due to domain's DMARC policy",
            None,
            R.AUTHFAILURE,
        ),
        # Amavis spam verdict under an ambiguous 5.7.0
        ("554 5.7.0 Reject, id=20025-09 - SPAM", None, R.SPAMDETECTED),
        # the domain does not exist (5.4.4 read as a dead domain, as Sisimai's map does)
        ("550 5.4.4 Invalid domain", None, R.HOSTUNKNOWN),
        # the same lookup failure reported as transient is network trouble, not a dead domain
        ("451 4.4.0 DNS lookup failure: host example.comn not found", None, R.NETWORKERROR),
        # qmail: no MX and no A: the domain takes no mail
        ("Sorry, I couldn't find a mail exchanger or IP address. (#5.4.4)", None, R.NOTACCEPT),
        # Exim's queue gave up
        ("retry timeout exceeded", None, R.EXPIRED),
        # Postfix: connection trouble on one attempt
        ("connect to mx.example.com[192.0.2.1]:25: No route to host", None, R.NETWORKERROR),
        # SIZE refused at MAIL FROM is still the message's size
        ("552 5.3.4 Message size exceeds fixed limit", "MAIL", R.MESGTOOBIG),
        # Postfix relay refusal under 5.7.1
        ("554 5.7.1 <x@example.com>: Relay access denied", "RCPT", R.NORELAYING),
        # Yahoo reputation deferral
        (
            "421 4.7.0 [TSS04] Messages from 192.0.2.1 temporarily deferred due to user complaints",
            None,
            R.BADREPUTATION,
        ),
        # GoDaddy misuses 5.1.1 for a rate limit
        ("550 5.1.1 <x@example.com> - 192.0.2.1 has sent to too many recipients this hour. IB607", "RCPT", R.SPEEDING),
        # a dead domain in its general forms: a host/domain word and a verdict, the domain's name and a verdict, or
        # the verdict first (wordings of servers outside the corpus read by the same forms)
        ("550 Host unknown", None, R.HOSTUNKNOWN),
        ("553 neko.example.com does not exist", "DATA", R.HOSTUNKNOWN),  # Exim
        ("DNS lookup failure: host cx.example.org not found", None, R.HOSTUNKNOWN),  # DragonFly
        ("550 5.1.2 The domain example.net could not be found", None, R.HOSTUNKNOWN),
        ("kijitora@neko.example.com ... unknown host", None, R.HOSTUNKNOWN),  # Sendmail
        ("550 5.1.2 No such domain at this location", None, R.HOSTUNKNOWN),
        # ... but an address that does not exist is a missing mailbox, and a file name is no domain
        ("550 <kijitora@example.org> does not exist", "RCPT", R.USERUNKNOWN),
        ("451 4.3.0 /etc/postfix/main.cf not found", None, R.SYSTEMERROR),
        # a HELO refusal naming an invalid host name is not a dead recipient domain
        ("550 5.7.1 Helo command rejected: Invalid host name", "RCPT", R.BLOCKED),
        # Lotus Notes: absent from the directory ("Public Name & Address Book", the Domino Directory before R5)
        ("User  not listed in public Name & Address Book", None, R.USERUNKNOWN),
        # advice given only when the address was not found: InterScan, Exchange (Microsoft KB 168557)
        ("Unable to deliver message to <x@example.jp>. Please check if address is correct.", None, R.USERUNKNOWN),
        ("This error is a Recipient Not Found error. Check the address again, and resend.", None, R.USERUNKNOWN),
        # Office 365 directory-based edge blocking means the recipient does not exist
        ("550 5.4.1 Recipient address rejected: Access denied", "RCPT", R.USERUNKNOWN),
        # RFC 5248 X.7.13 user account disabled
        ("525 5.7.13 Disabled recipient", None, R.SUSPEND),
        # a 250 in a report is a delivery
        ("250 2.1.5 Ok", None, R.DELIVERED),
        # too little to tell
        ("550 5.0.0 Rejected", None, R.ONHOLD),
        # the resolver's TRY_AGAIN is no verdict on the domain (Postfix), its HOST_NOT_FOUND is
        ("Name service error for domain example.com: Host not found, try again", None, R.NETWORKERROR),
        (
            "Host or domain name not found. Name service error for name=example.com type=A: Host not found",
            None,
            R.HOSTUNKNOWN,
        ),
        # Exim: the domain that "does not exist" is our sender's, refused after MAIL FROM
        (
            "SMTP error from remote mail server after MAIL FROM:<s@neko.example.com> SIZE=1022: "
            "553 5.1.0 neko.example.com does not exist",
            "MAIL",
            R.REJECTED,
        ),
    ],
)
def test_reason_of(reply: str, command: str | None, expected: R) -> None:
    assert reason_of(parse_reply(reply), command=command) is expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("host mx.example.org[192.0.2.1] said: 550 5.1.1 <x>: User unknown (in reply to RCPT TO command)", "RCPT"),
        ("SMTP error from remote mail server after end of data: 550 ...", "DATA"),
        ("SMTP error from remote mail server after MAIL FROM:<a@example.org> SIZE=1543: 550 ...", "MAIL"),
        ("SMTP error from remote mail server after initial connection: 554 ...", "CONN"),
        ("mx.example.com [192.0.2.25] did not like our RCPT TO: 550 5.1.1 ...", "RCPT"),
        # the command quoted in its RFC 5321 form names it, whatever the MTA's wrapper words: Sendmail's transcript
        (">>> MAIL From:<a@example.org> SIZE=10485761 <<< 552 5.3.4 Message size exceeds fixed limit", "MAIL"),
        (">>> RCPT To:<x@example.com> <<< 550 5.1.1 <x@example.com>... User unknown", "RCPT"),
        ("550 5.1.1 <x@example.com>... User unknown", None),
    ],
)
def test_smtp_command(text: str, expected: str | None) -> None:
    assert smtp_command(text) == expected


_CATEGORY_OF_CLASS = {
    ReplyClass.GREYLISTED: Category.SOFT_TRANSIENT,
    ReplyClass.MAILBOX_NOT_FOUND: Category.HARD_INVALID,
    ReplyClass.MAILBOX_DISABLED: Category.DISABLED,
    ReplyClass.MAILBOX_FULL: Category.SOFT_MAILBOX,
    ReplyClass.PROBE_BLOCKED: Category.SENDER_PROBLEM,
}


@pytest.mark.parametrize(
    "text",
    [
        # Postgrey, then Exim greylistd: the prober's "greylisted" is a transient bounce, never a policy refusal
        "450 4.7.1 <x@example.com>: Recipient address rejected: Greylisted, see http://postgrey.schweikert.ch/help/",
        "451 4.7.1 Greylisting in action, please come back later",
        "550 5.1.1 <x@example.com>: Recipient address rejected: User unknown in virtual mailbox table",  # Postfix
        "550 5.0.0 <x@example.com>... User unknown",  # Sendmail under a vague status
        "550 5.2.1 The email account that you tried to reach is disabled.",  # Gmail
        "552 5.2.2 The email account that you tried to reach is over quota.",  # Gmail
        "554 5.7.1 Service unavailable; Client host [192.0.2.1] blocked using zen.spamhaus.org",  # Postfix RBL
    ],
)
def test_the_prober_and_the_bounce_reader_read_a_reply_alike(text: str) -> None:
    reply = parse_reply(text)
    fact = BounceFact(
        "x@example.com",
        EventKind.BOUNCE,
        reason=reason_of(reply),
        action=DsnAction.FAILED,
        reply_code=reply.code,
        status=reply.enhanced,
    )
    assert categorize(fact) is _CATEGORY_OF_CLASS[classify_reply(reply)]


@pytest.mark.parametrize(
    ("notice", "expected"),
    [
        # au (KDDI): the reporter's own line says disabled; the quoted "550 user unknown" does not hide it
        ("The user(s) account is disabled.\n\n<x@ezweb.ne.jp>: 550 user unknown (in reply to RCPT TO command)", True),
        # iCloud's words are the quoted reply's, read with its X.1.1 code: not the reporter's
        (
            "<x@icloud.com>: host mx1.mail.icloud.com[17.172.34.9] said: 550\n    5.1.1 <x@icloud.com>: inactive email",
            False,
        ),
        # a Postfix notice says nothing about the mailbox
        ("I'm sorry to have to inform you that your message could not\nbe delivered to one or more recipients.", False),
    ],
)
def test_notice_says_disabled(notice: str, expected: bool) -> None:
    assert notice_says_disabled(notice) is expected
