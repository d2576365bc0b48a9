"""Reading SMTP replies: one parser and one classifier, shared by the prober and the bounce reader.

``parse_reply`` turns a server reply (live, or quoted in a DSN ``Diagnostic-Code``) into a
``Reply``: basic code (RFC 5321 §4.2), enhanced code (RFC 3463) and the text without codes.
``classify_reply`` says what the reply means for the *address* (``ReplyClass``). Both are pure
and total: no sockets, no asyncio, no logging, and no input makes them raise.

Facts, not decisions: what a class does to a verdict or a suppression belongs to ``verdict.py``
and ``policy.py``. The one fact attached here is ``ReplyClass.permanent``: the reply states
something lasting about the mailbox (it does not exist, or is disabled), whatever the code says.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

_MAX_INPUT = 65_536  # RFC 5321 §4.5.3.1.5 limits a reply line to 512 octets; bound the regex work


@dataclass(frozen=True, slots=True)
class Reply:
    """An SMTP reply: ``code`` is None when no basic code was found (then the class is unknown)."""

    code: int | None
    enhanced: str | None  # "5.1.1": class 2/4/5, subject and detail of 1-3 digits (RFC 3463 §2)
    text: str  # the text of every line, codes removed, whitespace collapsed


class ReplyClass(StrEnum):
    """What a reply says about the recipient address."""

    ACCEPTED = "accepted"
    MAILBOX_NOT_FOUND = "mailbox_not_found"
    MAILBOX_DISABLED = "mailbox_disabled"
    MAILBOX_FULL = "mailbox_full"
    GREYLISTED = "greylisted"
    SMTP_UNAVAILABLE = "smtp_unavailable"  # the server will not talk now (421, "No SMTP service")
    PROBE_BLOCKED = "probe_blocked"  # the sender or its IP was refused, not the address
    TEMPORARY = "temporary"  # any other 4xx
    REJECTED = "rejected"  # any other 5xx: refused, for no reason we can pin on the address
    UNKNOWN = "unknown"  # no usable code

    @property
    def permanent(self) -> bool:
        """A lasting fact about the mailbox; true even for a 4xx that says "User unknown"."""
        return self in (ReplyClass.MAILBOX_NOT_FOUND, ReplyClass.MAILBOX_DISABLED)


# --- parsing ----------------------------------------------------------------------------------

_LINE = re.compile(r"([2-5][0-5]\d)(?:([ -])(.*))?", re.DOTALL)  # RFC 5321 §4.2: code, " " or "-", text
_ENHANCED = re.compile(r"(?<![\d.])[#(\[]?([245]\.\d{1,3}\.\d{1,3})(?![\d.])[)\]]?")  # "#5.1.1", "(5.2.2)"
_LEADING_ENHANCED = re.compile(r"[#(\[]?([245]\.\d{1,3}\.\d{1,3})[)\]]?(?![\d.])[\s:-]*")
_CODE_ANYWHERE = re.compile(r"(?:^|(?<=[\s;:'\"(\[<]))([2-5][0-5]\d)(?=[\s-]|$)")
_PREFIXES = (
    re.compile(r"(?:diagnostic-code|remote-mta|status)\s*:\s*", re.IGNORECASE),  # DSN field names left in
    re.compile(r"([a-z][\w.-]{0,30})\s*;\s*", re.IGNORECASE),  # RFC 3464 §2.3.6 diagnostic-type: "smtp; 550 ..."
    # Postfix: "host mx.example.org[192.0.2.24] said: 550 5.1.1 <x>: Recipient address rejected: ..."
    re.compile(r"[\w .\[\]:-]{0,120}?\bsaid:\s*", re.IGNORECASE),
)
# Postfix appends "(in reply to RCPT TO command)" after the quoted reply
_IN_REPLY_TO = re.compile(r"\s*\(in reply to [^)]*\)\s*$", re.IGNORECASE)


def parse_reply(text: str) -> Reply:
    """Parse one reply, single- or multi-line, bare or quoted in a DSN; never raises."""
    if not isinstance(text, str):
        return Reply(None, None, "")
    lines = [line.strip() for line in text[:_MAX_INPUT].splitlines() if line.strip()]
    if not lines:
        return Reply(None, None, "")
    first, diagnostic_type = _strip_prefixes(lines[0])
    if diagnostic_type == "x-unix":  # RFC 3464: an X-Unix diagnostic is an exit status ("X-Unix; 77")
        return Reply(None, None, _squash(" ".join([first, *lines[1:]])))
    lines[0] = first
    head = _LINE.fullmatch(first)
    if head is not None:
        return _parse_lines(int(head.group(1)), lines)
    return _parse_loose(_squash(" ".join(lines)))


def _strip_prefixes(line: str) -> tuple[str, str | None]:
    diagnostic_type = None
    for pattern in _PREFIXES:
        match = pattern.match(line)
        if match is not None and not _LINE.fullmatch(line):
            if pattern.groups:
                diagnostic_type = match.group(1).lower()
            line = line[match.end() :]
    return line, diagnostic_type


def _parse_lines(code: int, lines: list[str]) -> Reply:
    """``250-first`` ... ``250 last``; lines without the code are folded header continuations."""
    enhanced: str | None = None
    pieces = []
    for line in lines:
        match = _LINE.fullmatch(line)
        if match is not None and int(match.group(1)) == code:
            line = match.group(3) or ""
        lead = _LEADING_ENHANCED.match(line)
        if lead is not None:
            enhanced = enhanced or lead.group(1)
            line = line[lead.end() :]
        pieces.append(line)
    return Reply(code, enhanced, _clean(" ".join(pieces), code))


def _parse_loose(text: str) -> Reply:
    """A code inside prose, or only an enhanced code ("#5.1.1"): the reply is what follows the code.

    Amazon SES: "5.1.0 - Unknown address error 550-'5.7.1 <x>... Access denied'": the words before
    550 are SES's label for its own status, the remote server's reply starts at 550.
    """
    found = _CODE_ANYWHERE.search(text)
    if found is not None:
        rest = text[found.end() :].lstrip(" -'\"")
        lead = _LEADING_ENHANCED.match(rest)
        enhanced = lead or _ENHANCED.search(text)
        return Reply(int(found.group(1)), enhanced.group(1) if enhanced else None, _clean(rest, None))
    enhanced = _ENHANCED.search(text)
    if enhanced is not None:
        text = text[: enhanced.start()] + text[enhanced.end() :]
    return Reply(None, enhanced.group(1) if enhanced else None, _clean(text, None))


def _clean(text: str, code: int | None) -> str:
    if code is not None:  # Gmail's lines folded into one DSN field: "... Please try 550-5.1.1 double-checking"
        text = re.sub(
            rf"(?<!\S){code}(?:-(?:[245]\.\d{{1,3}}\.\d{{1,3}}\s)?|\s[245]\.\d{{1,3}}\.\d{{1,3}}\s)", " ", text
        )
    text = _LEADING_ENHANCED.sub("", text.strip(), count=1) if _LEADING_ENHANCED.match(text.strip()) else text
    return _IN_REPLY_TO.sub("", _squash(text)).strip()


def _squash(text: str) -> str:
    return " ".join(text.split())


# --- classifying ------------------------------------------------------------------------------
# Each pattern is matched against the case-folded text. The comment quotes a reply it was written for.

_SENDER_REFUSED = re.compile(
    r"blocked using|spamhaus|spamcop|barracuda|\bsorbs\b|\bdnsbl\b|\brbl\b"
    # Postfix: "554 5.7.1 Service unavailable; Client host [192.0.2.1] blocked using zen.spamhaus.org"
    r"|black ?list|block ?list|listed (?:at|in|on|by)\b"
    # "550 5.7.1 IP address blacklisted by recipient"; Spamhaus: "... is listed at https://check.spamhaus.org"
    r"|client host rejected|ip name lookup failed|reverse dns|\brdns\b|\bptr\b|cannot find your (?:reverse )?hostname"
    # Postfix: "450 4.7.1 Client host rejected: cannot find your hostname, [192.0.2.1]";
    # Gmail: "550-5.7.25 The IP address sending this message does not have a PTR record setup"
    r"|\bspf\b|\bdkim\b|\bdmarc\b|unauthenticated|authentication required|not authori[sz]ed"
    # Gmail: "550-5.7.26 Unauthenticated email from example.com is not accepted due to domain's DMARC policy";
    # Exchange: "550 5.7.1 RESOLVER.RST.AuthRequired; authentication required"
    r"|not allowed to send|not permitted to|sender address rejected|domain of sender"
    # Postfix: "501 5.1.8 <x>: Sender address rejected: Domain not found"; MessageLabs: "... is not permitted to relay"
    r"|reputation|banned sending ip|proofpoint|mimecast|\[tss?\d\d\]|user complaints|has sent (?:to )?too many"
    # Office 365: "550 5.7.606 Access denied, banned sending IP [198.51.100.222]";
    # Proofpoint: "554 Blocked - see https://ipcheck.proofpoint.com/?ip=192.0.2.1";
    # Yahoo: "421 4.7.0 [TSS04] Messages from 192.0.2.1 temporarily deferred due to user complaints";
    # GoDaddy misuses X.1.1: "550 5.1.1 <x> - 192.0.2.1 has sent to too many recipients this hour. IB607"
)
# A few general forms rather than one pattern per server: a word for the mailbox and a verdict of absence, in
# either order, at most five plain words apart (no ":" between, so "Recipient address rejected: Invalid HELO"
# stays a refusal of the HELO).
_MAILBOX = r"(?:user|recipient|mailbox|address|account|addressee|person|local part)"
# Lotus Notes: "User not listed in public Name & Address Book" (Domino's directory, so named before R5)
_ABSENT = (
    r"(?:unknown|not (?:found|known|recognized)|invalid|nonexistent|does ?n[o']t exist"
    r"|(?:could|can|was|were) ?n[o']t (?:be )?found|could not be found"
    r"|not listed in (?:the |our )?(?:[\w&]+ ){0,3}(?:directory|address book|address list))"
)
_NOT_FOUND = re.compile(
    # Postfix: "550 5.1.1 <x>: Recipient address rejected: User unknown in local recipient table"; "550 User not
    # found"; Exchange: "Recipient not found by SMTP address lookup"; Gmail: "550-5.1.1 The email account that you
    # tried to reach does not exist"; "Address is unknown"; Exchange: "The email address you entered couldn't be found"
    rf"\b{_MAILBOX}(?: [\w'.-]+){{0,5}}? (?:is |was |has been )?{_ABSENT}"
    # Sendmail: "550 Unknown user x"; qmail: "No such user"; "553 Invalid recipient x (Mode: normal)";
    # "not a valid mailbox"; "No such person at this address"; Exim: "unknown local part"
    rf"|(?:unknown|no such|invalid|nonexistent|not a (?:valid|known)) {_MAILBOX}"
    # Yahoo: "554 delivery error: dd This user doesn't have a yahoo.com account"; Exim: "550 Unrouteable address";
    # "551 not our customer"; qmail: "Sorry, no mailbox here by that name"; Office 365 directory-based edge
    # blocking: "550 5.4.1 Recipient address rejected: Access denied" (Microsoft: the recipient is not in the tenant's
    # directory); Trend Micro Hosted Email Security's Directory Management answers the same words under 554 5.7.1 (KB
    # 1053962), as does Postfix by default for an administrator's check_recipient_access REJECT (access(5)): either
    # way that address is refused whoever sends
    r"|doesn'?t have an? [\w.-]+ account|unrouteable address|not our (?:customer|user)|no mailbox here"
    r"|recipient address rejected: access denied|no (?:such )?account\b|no one with that e-?mail address"
    r"|@[\w.-]+>? does ?n[o']t exist"  # "550 <x@example.org> does not exist": an address, not a bare domain
    # the wordings above in plain-language notices are also in node-bounce-handler's list (lib/responses.js),
    # collected from real bounces: "Addressee unknown", "Account not found", "No one with that email address here"
    # Italian "Indirizzo inesistente", "Destinatario sconosciuto"; Polish "Nie ma takiego konta", "... nie
    # istnieje"; German "Adressat unbekannt"; French "Destinataire inconnu" (node-bounce-handler, same list)
    r"|indirizzo inesistente|destinatario (?:sconosciuto|inesistente)|nie ma takiego konta|nie istnieje"
    r"|adressat unbekannt|empf(?:ä|ae)nger unbekannt|destinataire inconnu|usuario desconocido"
    # Russian "Пользователь не найден", "адрес не существует" ("user not found", "address does not exist")
    r"|(?:пользовател|адрес|ящик|получател)\w* (?:\S+ )?не (?:найден|существует)"
    r"|нет такого (?:пользователя|ящика|адреса)"
    # Japanese "宛先不明" (unknown destination) and "...は存在しません" after an address or user word
    r"|宛先不明|(?:アドレス|ユーザ|宛先|メールボックス)\S{0,12}(?:存在しません|見つかりません)"
)
# RFC 5321 §4.2.3 gives "mailbox unavailable" to 450 and 550 alike: only a 5xx makes it a missing mailbox.
# Outlook.com: "550 5.5.0 Requested action not taken: mailbox unavailable"
_NOT_FOUND_IF_5XX = re.compile(r"mailbox unavailable|mailbox not found|no mailbox")
_DISABLED = re.compile(
    r"\bdisabled\b|\binactive\b|no longer (?:in use|active|available|valid)|deactivated|discontinued"
    # Gmail: "550 5.2.1 The email account that you tried to reach is disabled";
    # Yahoo: "554 delivery error: dd This account has been disabled or discontinued"
    r"|(?:account|mailbox) (?:has been |is )?(?:suspended|closed|expired|not active|blocked due to inactivity)"
    # node-bounce-handler: "no longer accepts mail", "Mailbox Locked or Suspended", "account inactive";
    # French "boite aux lettres desactivee"; German "Mailbox deaktiviert"; Russian "ящик заблокирован/отключён"
    r"|no longer accepts mail|mailbox (?:locked|deaktiviert)|desactiv[ée]e|(?:ящик|аккаунт|учётная запись)\w* "
    r"(?:\S+ )?(?:заблокирован|отключ[её]н)"
)
_FULL = re.compile(
    r"over ?quota|quota exceeded|exceeded (?:\w+ )?(?:quota|storage)|mailbox (?:is )?full|mailbox size limit"
    # Gmail: "452-4.2.2 The email account that you tried to reach is over quota";
    # Sendmail: "552 5.2.2 <x>... Mailbox Full"; RFC 5321: "552 ... exceeded storage allocation"
    r"|(?:mailbox|mail ?folder|inbox|storage) (?:is )?(?:full|exceeded)|not enough storage"
    r"|too many messages on the server"
    # node-bounce-handler: "mailfolder is full", "User has too many messages on the server"; German
    # "Benutzer hat zuviele Mails auf dem Server"; Russian "Почтовый ящик переполнен" ("mailbox overfull");
    # Japanese "メールボックスの容量超過" / "容量がいっぱい" (XServer's FAQ on returned mail: mailbox capacity exceeded)
    r"|zuviele mails|переполнен|容量(?:超過|オーバー|がいっぱい)"
)
# Gmail: "550-5.2.1 The user you are trying to contact is receiving mail at a rate that prevents additional messages"
_RATE = re.compile(r"receiving mail at a rate|rate limit|too many (?:recipients|messages|connections)")
# Postfix reject_unverified_recipient: "450 4.1.1 <x>: Recipient address rejected: unverified address: ..."
_UNVERIFIED = re.compile(r"unverified address|verification in progress")
_GREYLIST = re.compile(r"gr[ae]y ?list|try again later|please retry|retry later|come back later")
# Postgrey: "450 4.2.0 <x>: Recipient address rejected: Greylisted, see http://postgrey.schweikert.ch/help/"
# Exim greylistd: "451 4.7.1 Greylisting in action, please come back later"
_NO_SERVICE = re.compile(r"no smtp service|not accepting connections|service not available")
# RFC 5321 §3.1: "554 No SMTP service here"; iCloud: "554 mx.me.com ESMTP not accepting connections"


def read_mailbox_words(text: str) -> ReplyClass | None:
    """What the words alone say about the mailbox (missing, disabled, full), code or no code.

    The one reading of such text for the prober, a DSN's Diagnostic-Code and a provider's plain-language
    notice alike; explicit words outrank a vague code (docs/bounces.md, "Precedence").
    """
    folded = " ".join(text[:_MAX_INPUT].casefold().split())  # notices pad with spaces: "User  not listed in ..."
    if _NOT_FOUND.search(folded):
        return ReplyClass.MAILBOX_NOT_FOUND
    if _DISABLED.search(folded):
        return ReplyClass.MAILBOX_DISABLED
    if _FULL.search(folded):
        return ReplyClass.MAILBOX_FULL
    return None


def classify_reply(reply: Reply) -> ReplyClass:
    """What the reply says about the address. Order matters: the first rule that holds wins."""
    if not isinstance(reply, Reply):
        return ReplyClass.UNKNOWN
    first = _class_digit(reply)
    if first == 2:
        return ReplyClass.ACCEPTED
    if first not in (4, 5):
        return ReplyClass.UNKNOWN  # no code, or 3xx (354 is not an answer about a recipient)
    status = reply.enhanced.partition(".")[2] if reply.enhanced else ""  # "1.1" of "5.1.1"
    text = reply.text.casefold()
    if _SENDER_REFUSED.search(text) or status in ("1.7", "1.8"):  # X.1.7/X.1.8: bad sender address
        return ReplyClass.PROBE_BLOCKED  # text about our IP or sender wins even over an X.1.1 code
    if first == 5 and status in (
        "1.1",
        "1.6",
        "1.10",
    ):  # RFC 3463 X.1.1 bad mailbox, X.1.6 moved; RFC 7505 X.1.10 (Office 365: RecipientNotFound)
        return ReplyClass.MAILBOX_NOT_FOUND
    if first == 5 and status == "7.13":  # RFC 5248 registry: "User Account Disabled"
        return ReplyClass.MAILBOX_DISABLED
    if reply.code == 421 or _NO_SERVICE.search(text):
        return ReplyClass.SMTP_UNAVAILABLE
    if (first == 4 and _UNVERIFIED.search(text)) or _RATE.search(text):
        return ReplyClass.TEMPORARY
    if _NOT_FOUND.search(text) or (first == 5 and _NOT_FOUND_IF_5XX.search(text)):
        return ReplyClass.MAILBOX_NOT_FOUND  # text decides even a 4xx: Postfix's 450 4.1.1 User unknown
    if (first == 5 and status == "2.1") or _DISABLED.search(text):
        return ReplyClass.MAILBOX_DISABLED
    if status == "2.2" or _FULL.search(text):
        return ReplyClass.MAILBOX_FULL
    if first == 4:
        return ReplyClass.GREYLISTED if _GREYLIST.search(text) else ReplyClass.TEMPORARY
    if status.startswith("7."):  # X.7.x: security or policy, and no recipient text said otherwise
        return ReplyClass.PROBE_BLOCKED
    return ReplyClass.REJECTED


def _class_digit(reply: Reply) -> int | None:
    """The basic code's first digit; without one, the enhanced code's class (RFC 3463 §3.1: same meaning)."""
    if reply.code is not None:
        return reply.code // 100
    if reply.enhanced and reply.enhanced[0] in "245":
        return int(reply.enhanced[0])
    return None


# --- session limits -----------------------------------------------------------------------------

# RFC 5321 §4.5.3.1.10: "452 Too many recipients" ends the recipients of this transaction; the
# same recipient may be tried again in a new one (RFC 3463 X.5.3 "Too many recipients").
# Postfix smtpd_recipient_limit: "452 4.5.3 Error: too many recipients";
# Exchange: "452 4.5.3 Too many recipients"; some servers answer 5xx: "552 5.5.3 Too many recipients".
_TOO_MANY_RECIPIENTS = re.compile(r"too many recipients|recipient limit|maximum (?:number of )?recipients")


def refuses_more_recipients(reply: Reply) -> bool:
    """The server refuses further recipients in this transaction: a limit, not an answer about the address."""
    if not isinstance(reply, Reply) or reply.code not in (451, 452, 552, 554):
        return False
    detail = reply.enhanced.partition(".")[2] if reply.enhanced else ""
    return detail == "5.3" or bool(_TOO_MANY_RECIPIENTS.search(reply.text.casefold()))


# Postfix smtpd_hard_error_limit: "421 4.7.0 mx.example.org Error: too many errors";
# Exim, a client over smtp_accept_max_nonmail: "421 ... too many nonmail commands";
# Exim ACL with a failed-recipient count: "550 Too many failed recipients".
_TOO_MANY_ERRORS = re.compile(
    r"too many (?:errors|failed recipients|invalid recipients|bad recipients|nonmail commands)"
)


def says_too_many_errors(reply: Reply) -> bool:
    """The server is ending the session because of the client's refused commands: a limit to
    learn (the session made too many errors), never an answer about the address."""
    if not isinstance(reply, Reply) or reply.code is None or reply.code // 100 not in (4, 5):
        return False
    return bool(_TOO_MANY_ERRORS.search(reply.text.casefold()))
