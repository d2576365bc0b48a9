"""Replies as their primary sources write them (RFCs, the C library, vendors' public documentation), each with the
reason its source gives it: a truth set nobody fitted the rules to, and the bench's reference for generic wording.

Two kinds, kept apart because they answer different questions:
- ``STANDARD``: the words of the standards every rule writer reads before any bounce (RFC 5321's reply texts, RFC 3463
  and the RFC 5248 registry's status names under their own codes, RFC 7505) and the C library's error strings that
  MTAs quote (glibc ``strerror``, ``hstrerror``). A rule alternative these match is not fitted to any MTA family.
- ``VENDOR``: replies a vendor documents publicly with their meaning. A rule alternative these match was writable
  from the documentation without seeing that vendor's bounces, but it is knowledge of that vendor.

``tests/corpus/test_documented_replies.py`` reads every reply and expects the reason here; ``bench/bounce_families.py``
keeps a rule alternative that matches one of them when it estimates the rules on families held out. An RFC status
name under its code is a reply built from the RFC's words, not one a server sent: it says what the status means.
"""

from __future__ import annotations

from dataclasses import dataclass

from validator.bounces.facts import BounceReason as R

STANDARD, VENDOR = "standard", "vendor"


@dataclass(frozen=True, slots=True)
class Documented:
    reply: str
    reason: R
    kind: str
    source: str


_RFC5321 = "RFC 5321 §4.2.2"
_RFC3463 = "RFC 3463 §3 (status name under its code)"
_GMAIL = "Google, Gmail SMTP errors and codes (support.google.com/a/answer/3726730)"
_YAHOO = "Yahoo Sender Hub, SMTP error codes (senders.yahooinc.com/smtp-error-codes)"

DOCUMENTED: tuple[Documented, ...] = (
    # RFC 5321's own reply texts
    Documented("451 Requested action aborted: local error in processing", R.SYSTEMERROR, STANDARD, _RFC5321),
    Documented("550 Requested action not taken: mailbox unavailable", R.USERUNKNOWN, STANDARD, _RFC5321),
    Documented("551 User not local; please try <forward@example.org>", R.HASMOVED, STANDARD, "RFC 5321 §3.4"),
    Documented("552 Requested mail action aborted: exceeded storage allocation", R.MAILBOXFULL, STANDARD, _RFC5321),
    Documented("500 Syntax error, command unrecognized", R.SYNTAXERROR, STANDARD, _RFC5321),
    Documented("501 Syntax error in parameters or arguments", R.SYNTAXERROR, STANDARD, _RFC5321),
    Documented("504 Command parameter not implemented", R.SYNTAXERROR, STANDARD, _RFC5321),
    # RFC 3463 status names (and RFC 5248's registry, RFC 7505's null MX) under their own codes
    Documented("550 5.1.1 Bad destination mailbox address", R.USERUNKNOWN, STANDARD, _RFC3463),
    Documented("550 5.1.2 Bad destination system address", R.HOSTUNKNOWN, STANDARD, _RFC3463),
    Documented("551 5.1.6 Destination mailbox has moved, No forwarding address", R.HASMOVED, STANDARD, _RFC3463),
    Documented("553 5.1.8 Bad sender's system address", R.REJECTED, STANDARD, _RFC3463),
    Documented("550 5.2.1 Mailbox disabled, not accepting messages", R.SUSPEND, STANDARD, _RFC3463),
    Documented("552 5.2.2 Mailbox full", R.MAILBOXFULL, STANDARD, _RFC3463),
    Documented("552 5.2.3 Message length exceeds administrative limit", R.EXCEEDLIMIT, STANDARD, _RFC3463),
    Documented("452 4.3.1 Mail system full", R.SYSTEMFULL, STANDARD, _RFC3463),
    Documented("554 5.3.2 System not accepting network messages", R.NOTACCEPT, STANDARD, _RFC3463),
    Documented("552 5.3.4 Message too big for system", R.MESGTOOBIG, STANDARD, _RFC3463),
    Documented("554 5.4.6 Routing loop detected", R.NETWORKERROR, STANDARD, _RFC3463),
    Documented("554 5.4.7 Delivery time expired", R.EXPIRED, STANDARD, _RFC3463),
    Documented("550 5.7.13 User Account Disabled", R.SUSPEND, STANDARD, "RFC 5248 registry (status name)"),
    Documented("550 5.7.23 SPF validation failed", R.AUTHFAILURE, STANDARD, "RFC 7372 §3.2 (status name)"),
    Documented("550 5.7.25 Reverse DNS validation failed", R.REQUIREPTR, STANDARD, "RFC 7372 §3.3 (status name)"),
    Documented("556 5.1.10 Recipient address has null MX", R.NOTACCEPT, STANDARD, "RFC 7505 §4.2"),
    # the sender's domain has a null MX: the sender's problem (RFC 7505 §4.2), never the recipient's
    Documented("550 5.7.27 Sender address has null MX", R.REJECTED, STANDARD, "RFC 7505 §4.2"),
    # the C library's words, as MTAs quote them (glibc strerror and hstrerror)
    Documented("connect to mx.example.org[192.0.2.1]:25: Connection refused", R.NETWORKERROR, STANDARD, "strerror"),
    Documented("connect to mx.example.org[192.0.2.1]:25: No route to host", R.NETWORKERROR, STANDARD, "strerror"),
    Documented("connect to mx.example.org[192.0.2.1]:25: Connection timed out", R.NETWORKERROR, STANDARD, "strerror"),
    Documented("connect to mx.example.org[192.0.2.1]:25: Network is unreachable", R.NETWORKERROR, STANDARD, "strerror"),
    Documented("mx.example.org: Host name lookup failure", R.NETWORKERROR, STANDARD, "hstrerror(TRY_AGAIN)"),
    # vendors' documentation
    Documented(
        "550 5.4.1 Recipient address rejected: Access denied. AS(201806281)",
        R.USERUNKNOWN,
        VENDOR,
        "Microsoft, Fix email delivery issues for error code 5.4.1 in Exchange Online (directory-based edge blocking: "
        "the recipient is not in the organisation's directory)",
    ),
    Documented(
        "550 5.1.10 RESOLVER.ADR.RecipientNotFound; Recipient not found by SMTP address lookup",
        R.USERUNKNOWN,
        VENDOR,
        "Microsoft, Fix email delivery issues for error code 5.1.10 in Exchange Online",
    ),
    Documented(
        "550 5.7.606 Access denied, banned sending IP [192.0.2.1]",
        R.BLOCKED,
        VENDOR,
        "Microsoft, Fix email delivery issues for error codes 5.7.606-649 in Exchange Online",
    ),
    Documented(
        "554 5.7.1 <x@example.com>: Recipient address rejected: Access denied.",
        R.USERUNKNOWN,
        VENDOR,
        "Trend Micro KB 1053962: Hosted Email Security answers so for an address not in its Directory Management",
    ),
    Documented(
        "550 5.1.1 The email account that you tried to reach does not exist. Please try double-checking the "
        "recipient's email address for typos or unnecessary spaces.",
        R.USERUNKNOWN,
        VENDOR,
        _GMAIL,
    ),
    Documented("550 5.2.1 The email account that you tried to reach is disabled.", R.SUSPEND, VENDOR, _GMAIL),
    Documented("452 4.2.2 The email account that you tried to reach is over quota.", R.MAILBOXFULL, VENDOR, _GMAIL),
    Documented(
        "450 4.2.1 The user you are trying to contact is receiving mail at a rate that prevents additional messages "
        "from being delivered.",
        R.SPEEDING,
        VENDOR,
        _GMAIL,
    ),
    Documented(
        "553 5.1.2 We weren't able to find the recipient domain. Please check for any spelling errors, and make sure "
        "you didn't enter any spaces, periods, or other punctuation after the recipient's email address.",
        R.HOSTUNKNOWN,
        VENDOR,
        _GMAIL,
    ),
    Documented(
        "550 5.7.25 The IP address sending this message does not have a PTR record setup, or the corresponding "
        "forward DNS entry does not point to the sending IP. As a policy, Gmail does not accept messages from IPs "
        "with missing PTR records.",
        R.REQUIREPTR,
        VENDOR,
        _GMAIL,
    ),
    Documented(
        "550 5.7.1 Messages with multiple addresses in From: header are not accepted.",
        R.NOTCOMPLIANTRFC,
        VENDOR,
        _GMAIL,
    ),
    Documented(
        "554 delivery error: dd This user doesn't have a yahoo.com account (x@yahoo.com) [0]",
        R.USERUNKNOWN,
        VENDOR,
        _YAHOO,
    ),
    Documented(
        "421 4.7.0 [TSS04] Messages from 192.0.2.1 temporarily deferred due to unexpected volume or user complaints",
        R.BADREPUTATION,
        VENDOR,
        _YAHOO,
    ),
)
