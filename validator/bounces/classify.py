"""From an SMTP reply (code, enhanced code, text) to a ``BounceReason``: one function for every reader.

Raw DSNs, MTA bounces, JSON events and ESP webhooks all end in a reply the remote server
gave; they all call ``reason_of`` so one rule set decides them alike. It builds on
``smtp_reply.classify_reply`` (what a reply says about the mailbox) and refines its classes
into Sisimai's finer reasons, where the enhanced code, the text or the SMTP command says more.

Order (what a reply says outweighs its codes): text rules specific enough to beat any code come first
(a full mailbox reported as "5.1.1", a spam filter answering "5.7.1"); then the command the
reply answered; then the address classes of ``classify_reply``; then the code. Every text rule
quotes a reply it was written for. Pure.
"""

from __future__ import annotations

import re

from validator.bounces import decisive_words
from validator.bounces.facts import BounceReason
from validator.bounces.reply_parts import STATUS_REASONS
from validator.smtp_reply import Reply, ReplyClass, classify_reply, read_mailbox_words

# RFC 5321 §3.4 "551 User not local; please try <forward-path>"; "550 5.1.6 recipient no longer on server".
# A 551 is a move only when its text says so: "551 5.7.1 ... not authorized" is a policy refusal.
_MOVED = re.compile(r"no longer on (?:this )?server")
_NOT_LOCAL = re.compile(r"not local|please try|forward(?:ing|ed)? to|has moved")
# The domain does not take mail, in a few general forms as the mailbox's absence is
# (smtp_reply/classify.py: _NOT_FOUND): a word for
# the host or domain and a verdict of absence; the domain's own name and the verdict; or the verdict first.
# "Not found, try again" is no verdict: the resolver's TRY_AGAIN (glibc <netdb.h>: "Non-Authoritative Host not found,
# or SERVERFAIL") against HOST_NOT_FOUND ("Authoritative Answer Host not found"); Postfix words it "Name service error
# for domain x: Host not found, try again".
_GONE = (
    r"(?:is |was )?(?:unknown|not found(?!,? (?:please )?try again)|not reachable|does ?n[o']t exist"
    r"|could ?n[o']t be found|nonexistent)"
)
_HOST_UNKNOWN = re.compile(
    # "550 Host unknown"; Postfix: "Host or domain name not found. Name service error for name=example.jp type=A: Host
    # not found"; Outlook.com: "554 The mail could not be delivered to the recipient because the domain is not
    # reachable"
    rf"\b(?:host|domain)(?: ?name)?(?: or domain(?: name)?)? {_GONE}"
    # Exim: "553 neko.example.com does not exist"; DragonFly: "DNS lookup failure: host cx.example.org not found";
    # Gmail: "the domain gmal.com couldn't be found. Check for typos" (not after "@": that names an address)
    rf"|(?<![@\w./-])(?:[a-z0-9-]+\.)+[a-z]{{2,}} {_GONE}"
    # Sendmail: "kijitora@neko.example.com ... unknown host"; SES: "550 5.4.4 Invalid domain";
    # "550 5.1.7 No such domain"
    r"|(?:unknown|nonexistent|no such|invalid(?= domain)) (?:host|domain)\b"
)
# Notices that say the address is unknown in words no SMTP reply uses: Exchange 2003 "The recipient name is not
# recognized"; Sendmail's mail.local "mail.local: unknown user: kijitora"; and the advice reporters give only when the
# address was not found, to check it: InterScan "Please check if address is correct"; Gmail "Please try double-checking
# the recipient's email address for typos"; Exchange's Recipient Not Found report (Microsoft KB 168557) "Check the
# address again, and resend" (one alternative per wording, so the bench's leave-families-out sees each reporter's)
_CHECK_ADDRESS = r"check(?:ing)? (?:if |that |whether )?(?:the )?(?:recipient'?s? )?(?:e-?mail )?address"
_NOTICE_UNKNOWN = re.compile(
    rf"recipient name is not recognized|unknown user:|{_CHECK_ADDRESS} again|{_CHECK_ADDRESS} is correct"
    rf"|{_CHECK_ADDRESS} for typos"
)
# "try again" says the lookup failed for now (Postfix: "Name service error for domain x: Host not found, try again");
# "No route to host", "Connection timed out" (Postfix); Google: "DNS Error: ... had no relevant answers";
# "host name lookup failure"; "554 5.4.6 Hop count exceeded - possible mail loop"
_NETWORK = re.compile(
    r"not found, try again|no route to host|timed out|connection refused|name lookup failure|temporary lookup failure"
    r"|no relevant answers|hop count exceeded|mail loop|routing loop|network is unreachable"
    r"|unable to connect|establish an smtp connection"
)
# RFC 7505 null MX and domains without MX, in one general form for "no MX" as for a missing mailbox: qmail "Sorry, I
# couldn't find a mail exchanger or IP address. (#5.4.4)"; Yahoo: "No mx record found for domain=x"; Google: "The
# domain x doesn't receive email according to the administrator"; Exim 4.96 for an RFC 7505 null MX
# (tests/data/mta-dsn/exim-null-mx.eml): "an MX or SRV record indicated no SMTP service"; Sendmail 8.17
# (tests/data/mta-dsn/sendmail-null-mx.eml): "556 Host does not accept mail: MX 0 ."
_NOT_ACCEPT = re.compile(
    r"(?:\bno|(?:could ?n[o']t|can ?n[o']t|unable to) find an?) (?:mx|mail exchanger)\b"
    r"|doesn'?t receive e-?mail|does not accept mail|null mx|record indicated no smtp service"
)
# "550 5.1.1 <x> - 192.0.2.1 has sent to too many recipients this hour" (GoDaddy);
# Gmail 5.2.1 "receiving mail at a rate"
_SPEEDING = re.compile(r"has sent (?:to )?too many|rate limit|too many messages|receiving mail at a rate")
# Sender refused: "501 5.1.8 <x>: Sender address rejected: Domain not found";
# qmail "Connected to x but sender was rejected."
_SENDER_REJECTED = re.compile(
    r"sender address rejected|domain of sender|sender (?:was |is )?(?:rejected|denied)"
    r"|not a registered gateway user|not have permission to post"
)
# The connection or our identity was refused before any recipient: qmail "Connected to 192.0.2.112 but my name was
# rejected."; Postfix "host x refused to talk to me: 421 Service not available"; "550-192.0.2.222 blocked by ldap"
_CLIENT_BLOCKED = re.compile(
    r"my name was rejected|refused to talk to me|blocked by|access denied|blacklist|blocklist"
    r"|not accepting connections|\(bl\)"
)
# Postfix: "554 5.7.1 Service unavailable; Client host [192.0.2.1] blocked using zen.spamhaus.org"
_RBL = re.compile(
    r"blocked using|spamhaus|spamcop|barracuda|\bsorbs\b|\bdnsbl\b|\brbl\b|black ?list|block ?list"
    r"|listed (?:at|in|on|by)\b|client host rejected"
)
_TOO_BIG = re.compile(
    r"message (?:is )?too (?:big|large)|message size exceeds|size limit|exceeds (?:the )?(?:maximum )?size"
)
# The local delivery program failed: Exim "pipe to |/usr/local/bin/x ... generated by x@example.com";
# "/home/neko/.forward generated by x"; Sendmail "X-Unix; 77"; "child status 100"
_MAILER = re.compile(r"pipe to \||generated by \S+@|child status|command died|mailer error|unknown mailer")
# "554 Service currently unavailable"; "550 5.3.5 Internal System Error";
# Postfix "451 4.3.0 Error: queue file write error"
_SYSTEM = re.compile(
    r"service (?:currently )?unavailable|system error|queue file write error|local error|temporary failure"
    r"|resources temporarily unavailable|internal error|server error"
)
# RFC 5321 §4.2.3: 500-504 are command syntax and sequence errors. "504 Command parameter not implemented";
# Exim: "malformed address: <x> may not follow"
_SYNTAX = re.compile(r"syntax error|malformed address|command parameter not implemented|command not recognized")


def reason_of(reply: Reply, *, command: str | None = None) -> BounceReason:
    """The Sisimai reason a failure reply states; ``onhold`` when it says too little to tell.

    ``command`` is the SMTP command the reply answered, when known (``reply_parts.smtp_command``).
    """
    klass = classify_reply(reply)
    text = reply.text.casefold()
    status = reply.enhanced.partition(".")[2] if reply.enhanced else ""
    first = reply.code // 100 if reply.code else int(reply.enhanced[0]) if reply.enhanced else None
    if klass is ReplyClass.ACCEPTED:
        return BounceReason.DELIVERED
    decisive = next((reason for pattern, reason in decisive_words.DECISIVE if pattern.search(text)), None)
    if command == "MAIL":  # before RCPT no recipient was named: whatever the words, it is the sender's trouble
        return _sender_refusal(decisive, text, status)
    if (reply.code == 551 and _NOT_LOCAL.search(text)) or status == "1.6" or _MOVED.search(text):
        return BounceReason.HASMOVED
    if decisive is not None:
        return decisive
    if _SENDER_REJECTED.search(text) or status in ("1.7", "1.8", "2.3", "3.4", "7.27") or _TOO_BIG.search(text):
        return _sender_refusal(None, text, status)  # our sender (RFC 7505 X.7.27: its null MX), our message's size
    if command == "CONN" or (_CLIENT_BLOCKED.search(text) and klass is not ReplyClass.MAILBOX_NOT_FOUND):
        return BounceReason.BLOCKED
    # Without a code the words alone speak (a provider's plain-language or non-English notice)
    words = read_mailbox_words(text) if klass is ReplyClass.UNKNOWN else None
    if klass is ReplyClass.MAILBOX_NOT_FOUND or words is ReplyClass.MAILBOX_NOT_FOUND or _NOTICE_UNKNOWN.search(text):
        # what the reply says about the mailbox outweighs a vague status (X.0.0, X.2.0, X.3.0, X.2.1) and the
        # command: "550 5.0.0 <x>... User unknown"; a content filter's words were read above (decisive_words)
        if status == "1.2" or _HOST_UNKNOWN.search(text):
            return _host_unknown(reply)
        # RFC 7505 §4.2: "556 5.1.10 Recipient address has null MX": the domain takes no mail (Office 365 uses X.1.10
        # for a recipient not found, whose words name no MX)
        return BounceReason.NOTACCEPT if _NOT_ACCEPT.search(text) else BounceReason.USERUNKNOWN
    if words is ReplyClass.MAILBOX_DISABLED:
        return BounceReason.SUSPEND
    if words is ReplyClass.MAILBOX_FULL:
        return BounceReason.MAILBOXFULL
    if klass is ReplyClass.GREYLISTED:  # the prober's reading too: "450 4.7.1 <x>: ... Greylisted" is transient
        return BounceReason.SYSTEMERROR
    if klass is ReplyClass.PROBE_BLOCKED and _RBL.search(text):  # before "Service unavailable" reads as trouble
        return BounceReason.BLOCKED
    found = _by_words(text)
    if found is BounceReason.HOSTUNKNOWN:
        return _host_unknown(reply)
    return found or _by_code(reply, klass, status, first)


# A reply code or enhanced status in a line of a notice: the line quotes the reply
_QUOTES_REPLY = re.compile(r"(?<![\w.])(?:[245]\d\d|[245]\.\d{1,3}\.\d{1,3})(?![\w.])")


def notice_says_disabled(notice: str) -> bool:
    """A line of the reporter's own notice says the mailbox is disabled, in the words the shared reading knows
    (``smtp_reply.read_mailbox_words``: RFC 3463 X.2.1 "Mailbox disabled", "suspended", "no longer active").

    au (KDDI): "The user(s) account is disabled." above "<x@ezweb.ne.jp>: 550 user unknown (in reply to RCPT TO
    command)": the reporter knows more than the quoted reply. Line by line, so a quoted "user unknown" on another line
    does not hide it; lines naming an address or a reply code quote the reply, whose words were read with its code
    (iCloud "550 5.1.1 <x>: inactive email address", wrapped by Postfix over several lines, stays X.1.1's).
    """
    return any(
        read_mailbox_words(line) is ReplyClass.MAILBOX_DISABLED
        for line in notice[:4000].splitlines()
        if "@" not in line and not _QUOTES_REPLY.search(line)
    )


def _sender_refusal(decisive: BounceReason | None, text: str, status: str) -> BounceReason:
    """A refusal of our sender (MAIL FROM, PTR, SPF, sender domain): the sender's problem, never the recipient's.

    Exim "SMTP error from remote mail server after MAIL FROM:<x> SIZE=1022: 553 5.1.0 ..."; Postfix "501 5.1.8
    <x>: Sender address rejected: Domain not found"; the size of the message (RFC 1870 SIZE=) stays the message's.
    """
    if decisive is not None:
        return decisive
    if status in ("2.3", "3.4"):
        return STATUS_REASONS[status]
    if _TOO_BIG.search(text):  # Sendmail: ">>> MAIL From:<x> SIZE=10485761 <<< 552 5.3.4 Message size exceeds ..."
        return BounceReason.MESGTOOBIG
    return BounceReason.REJECTED


def _host_unknown(reply: Reply) -> BounceReason:
    """A dead domain, unless the reporter itself called the lookup failure transient: Google "DNS Error: ... responded
    with code NXDOMAIN Domain name not found" under Status 4.0.0 (a domain being registered or moved fails so too)."""
    transient = (reply.code // 100 == 4) if reply.code else bool(reply.enhanced and reply.enhanced.startswith("4"))
    return BounceReason.NETWORKERROR if transient else BounceReason.HOSTUNKNOWN


def _by_words(text: str) -> BounceReason | None:
    for pattern, reason in (
        (_NOT_ACCEPT, BounceReason.NOTACCEPT),
        (_NETWORK, BounceReason.NETWORKERROR),
        (_HOST_UNKNOWN, BounceReason.HOSTUNKNOWN),
        (_TOO_BIG, BounceReason.MESGTOOBIG),
        (_SPEEDING, BounceReason.SPEEDING),
        (_MAILER, BounceReason.MAILERERROR),
        (_SYNTAX, BounceReason.SYNTAXERROR),
        (_SYSTEM, BounceReason.SYSTEMERROR),
    ):
        if pattern.search(text):
            return reason
    return None


def _by_code(reply: Reply, klass: ReplyClass, status: str, first: int | None) -> BounceReason:
    if klass is ReplyClass.MAILBOX_DISABLED:
        return BounceReason.SUSPEND
    if klass is ReplyClass.MAILBOX_FULL:
        return BounceReason.MAILBOXFULL
    if status == "4.4":  # X.4.4 unable to route: Sisimai's map reads 5.4.4 as a dead domain, 4.4.4 as network trouble
        return BounceReason.HOSTUNKNOWN if first == 5 else BounceReason.NETWORKERROR
    if klass is ReplyClass.PROBE_BLOCKED:  # our IP, domain or authentication was refused
        return (
            STATUS_REASONS.get(status, BounceReason.BLOCKED) if status not in ("7.0", "7.1") else BounceReason.BLOCKED
        )
    if status in STATUS_REASONS:
        return STATUS_REASONS[status]
    if status.startswith("6."):
        return BounceReason.CONTENTERROR
    if reply.code in (500, 501, 502, 503, 504):  # RFC 5321 §4.2.2: command syntax and sequence errors
        return BounceReason.SYNTAXERROR
    if klass in (ReplyClass.GREYLISTED, ReplyClass.TEMPORARY, ReplyClass.SMTP_UNAVAILABLE):
        return BounceReason.SYSTEMERROR
    return BounceReason.ONHOLD
