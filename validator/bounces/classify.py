"""From an SMTP reply (code, enhanced code, text) to a ``BounceReason``: one function for every reader.

Raw DSNs, MTA bounces, JSON events and ESP webhooks all end in a reply the remote server
gave; they all call ``reason_of`` so one rule set decides them alike. It builds on
``smtp_reply.classify_reply`` (what a reply says about the mailbox) and refines its classes
into Sisimai's finer reasons, where the enhanced code or the text says more. Pure.
"""

from __future__ import annotations

import re

from ..smtp_reply import Reply, ReplyClass, classify_reply
from .facts import BounceReason

# RFC 3463 §3.x subject.detail → reason, used when the text gave no better answer.
_BY_STATUS = {
    "1.2": BounceReason.HOSTUNKNOWN,  # X.1.2 bad destination system address
    "1.3": BounceReason.USERUNKNOWN,  # X.1.3 bad destination mailbox address syntax
    "2.3": BounceReason.EXCEEDLIMIT,  # X.2.3 message length exceeds administrative limit
    "3.4": BounceReason.MESGTOOBIG,  # X.3.4 message too big for system
    "3.2": BounceReason.SYSTEMERROR,  # X.3.2 system not accepting network messages
    "3.1": BounceReason.SYSTEMFULL,  # X.3.1 mail system full
    "4.4": BounceReason.NETWORKERROR,  # X.4.4 unable to route
    "4.7": BounceReason.EXPIRED,  # X.4.7 delivery time expired
    "5.3": BounceReason.SYNTAXERROR,  # X.5.3 too many recipients... treated by servers as protocol trouble
    "6.0": BounceReason.CONTENTERROR,  # X.6.x media and content
    "7.0": BounceReason.SECURITYERROR,
    "7.1": BounceReason.POLICYVIOLATION,  # X.7.1 delivery not authorized: the text decides, see _SENDER
    "7.10": BounceReason.FAILEDSTARTTLS,  # RFC 5248: encryption needed
    "7.23": BounceReason.AUTHFAILURE,  # RFC 7372: SPF validation failed
    "7.24": BounceReason.AUTHFAILURE,  # RFC 7372: SPF validation error
    "7.25": BounceReason.REQUIREPTR,  # RFC 7372: reverse DNS validation failed
    "7.26": BounceReason.AUTHFAILURE,  # RFC 7372: multiple authentication checks failed
    "7.27": BounceReason.NOTACCEPT,  # RFC 7505: sender address has null MX
}
# Text rules refining a sender-side refusal; each quotes a reply it was written for.
_SENDER = (
    # Gmail: "550-5.7.26 Unauthenticated email from example.com is not accepted due to domain's DMARC policy"
    (re.compile(r"\bspf\b|\bdkim\b|\bdmarc\b|unauthenticated|authentication"), BounceReason.AUTHFAILURE),
    # Gmail: "550-5.7.25 The IP address sending this message does not have a PTR record setup"
    (re.compile(r"\bptr\b|reverse dns|\brdns\b|cannot find your (?:reverse )?hostname|ip name lookup"),
     BounceReason.REQUIREPTR),
    # Yahoo: "421 4.7.0 [TSS04] Messages from 192.0.2.1 temporarily deferred due to user complaints"
    (re.compile(r"reputation|user complaints|\[tss?\d\d\]"), BounceReason.BADREPUTATION),
    # "501 5.1.8 <x>: Sender address rejected: Domain not found"
    (re.compile(r"sender address rejected|domain of sender|sender (?:is )?(?:rejected|denied)"), BounceReason.REJECTED),
    # GoDaddy: "550 5.1.1 <x> - 192.0.2.1 has sent to too many recipients this hour"
    (re.compile(r"has sent (?:to )?too many|rate limit|too many (?:recipients|messages)|receiving mail at a rate"),
     BounceReason.SPEEDING),
    # Postfix: "421 4.7.0 Error: too many connections from 192.0.2.1"
    (re.compile(r"too many (?:concurrent )?connections"), BounceReason.TOOMANYCONN),
)
_SPAM = re.compile(r"\bspam\b|junk mail|unsolicited")  # "550 5.7.1 Message rejected as spam"
_VIRUS = re.compile(r"virus|malware|infected")  # "554 5.7.1 Virus found in message"
_RELAY = re.compile(r"relay(?:ing)? (?:access )?(?:denied|not permitted)|not permitted to relay")  # "554 5.7.1 Relay access denied"
# "550 Host unknown"; "554 5.4.4 SMTPSEND.DNS.NonExistentDomain; nonexistent domain"
_HOST_UNKNOWN = re.compile(r"host unknown|unknown host|domain not found|nonexistent domain|no such domain")
_TOO_BIG = re.compile(r"message (?:is )?too (?:big|large)|message size exceeds|size limit")  # "552 5.3.4 Message size exceeds fixed limit"


def reason_of(reply: Reply) -> BounceReason:
    """The Sisimai reason a failure reply states; ``onhold`` when it says too little to tell."""
    klass = classify_reply(reply)
    text = reply.text.casefold()
    status = reply.enhanced.partition(".")[2] if reply.enhanced else ""
    if klass is ReplyClass.ACCEPTED:
        return BounceReason.DELIVERED
    if klass is ReplyClass.MAILBOX_NOT_FOUND:
        return BounceReason.HOSTUNKNOWN if status == "1.2" or _HOST_UNKNOWN.search(text) else BounceReason.USERUNKNOWN
    if klass is ReplyClass.MAILBOX_DISABLED:
        return BounceReason.SUSPEND
    if klass is ReplyClass.MAILBOX_FULL:
        return BounceReason.MAILBOXFULL
    if klass is ReplyClass.PROBE_BLOCKED:  # our IP, domain or authentication was refused
        specific = _BY_STATUS.get(status) if status not in ("7.0", "7.1") else None
        return _sender_reason(text) or specific or BounceReason.BLOCKED
    if _VIRUS.search(text):
        return BounceReason.VIRUSDETECTED
    if _SPAM.search(text):
        return BounceReason.SPAMDETECTED
    if _RELAY.search(text):
        return BounceReason.NORELAYING
    if _HOST_UNKNOWN.search(text):
        return BounceReason.HOSTUNKNOWN
    if _TOO_BIG.search(text):
        return BounceReason.MESGTOOBIG
    sender = _sender_reason(text)
    if sender is not None:
        return sender
    if status in _BY_STATUS:
        return _BY_STATUS[status]
    if status.startswith("6."):
        return BounceReason.CONTENTERROR
    if klass in (ReplyClass.GREYLISTED, ReplyClass.TEMPORARY, ReplyClass.SMTP_UNAVAILABLE):
        return BounceReason.SYSTEMERROR
    return BounceReason.ONHOLD


def _sender_reason(text: str) -> BounceReason | None:
    return next((reason for pattern, reason in _SENDER if pattern.search(text)), None)
