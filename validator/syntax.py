"""The pre-send syntax policy: text in, ``Address`` or ``InvalidAddress`` out.

email-validator (``check_deliverability=False``) is the authority on RFC 5321/5322/6531
syntax; this module adds the pre-send rules on top (no quoted local parts, no IP literals,
no dotless or special-use domains, octet limits) and names the rule an address broke.

Two paths give one answer. ``_parse_slow`` is the reference: it runs every rule through
``validate_email`` (45-70 µs). Most real addresses are an ASCII dot-atom at a domain seen
before, so ``parse_address`` first tries a fast path: the local part is matched against
email-validator's own ATEXT class; a plain letters-digits-hyphens domain is judged by a
pattern (about 1 µs, so a list spanning any number of domains costs the same), and any other
domain's verdict is memoised per domain text. A property test holds the two paths equal on
every input (tests/unit/test_syntax.py).

Must not live here: DNS, sockets, asyncio or aiohttp (pure core), and risk signals such as
typos or role accounts (``signals.py``). A refused address is an answer, never an exception.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from typing import NamedTuple

from email_validator import (
    SPECIAL_USE_DOMAIN_NAMES,
    EmailNotValidError,
    ValidatedEmail,
    validate_email,
)
from email_validator.rfc_constants import (
    ATEXT,
    DOMAIN_NAME_REGEX,
    EMAIL_MAX_LENGTH,
    LOCAL_PART_MAX_LENGTH,
)

from validator.model import Address, InvalidAddress, SyntaxProblem

# Copy-paste brings spaces, tabs and line ends around an address; they are trimmed. Anything
# else around it (NUL, form feed, NBSP) is kept, and so refused below: it is not paste noise.
_SURROUNDING_WHITESPACE = " \t\r\n"
# C0 and C1 controls (Unicode category Cc) anywhere inside: CR/LF split SMTP commands and
# headers (RFC 5321 §2.3.8 forbids bare CR and LF), NUL truncates C strings. Lone surrogates
# (a broken "\ud800" JSON escape) are not characters at all and are refused with them.
_FORBIDDEN = re.compile("[\x00-\x1f\x7f-\x9f\ud800-\udfff]")
# RFC 5322 §3.2.3 dot-atom built from email-validator's ATEXT, so the two cannot drift; the
# domain is letters, digits, hyphens and dots (RFC 1123 §2.1) and is judged by the memo.
_FAST_ADDRESS = re.compile(rf"([{ATEXT}]+(?:\.[{ATEXT}]+)*)@([A-Za-z0-9.-]+)")
# Special-use names: RFC 6761 §6.2-6.4 (.test, .localhost, .invalid), RFC 6762 (.local),
# RFC 7686 (.onion) and .arpa. email-validator's list, read once; each name maps to a
# stand-in of the same length (see _stand_in).
_RESERVED: dict[str, str] = {name: re.sub(r"[^.]", "x", name) for name in SPECIAL_USE_DOMAIN_NAMES}
_RESERVED_TLDS = frozenset(name.rpartition(".")[2] for name in _RESERVED)  # a domain ending so takes the memo path
# RFC 1123 §2.1 host names that email-validator accepts and returns unchanged but for case: labels
# of 1-63 letters, digits and hyphens, no hyphen at either end (its HOSTNAME_LABEL, RFC 952), and
# no "--" anywhere, which keeps out RFC 5890 §2.3.1 "??--" labels (xn-- A-labels, which it
# decodes through IDNA, and the R-LDH labels it refuses); those take the memoised path.
_LDH_LABEL = "[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_LDH_DOMAIN = re.compile(rf"{_LDH_LABEL}(?:\.{_LDH_LABEL})*")
_LDH_MAX = EMAIL_MAX_LENGTH - 2  # "x@" + domain must fit the 254 octets email-validator checks
_DOMAIN_MEMO_SIZE = 50_000  # distinct other domains remembered; a miss costs one validate_email call
# Every length failure email-validator reports (whole address, any of its three forms, or a
# domain over 253 octets) starts with these words; tests/unit/test_syntax.py pins each one.
_EV_TOO_LONG = "The email address is too long"

_TOO_LONG_MESSAGE = f"The email address is longer than {EMAIL_MAX_LENGTH} octets (RFC 5321 §4.5.3.1.3)."


class _Domain(NamedTuple):
    """A domain email-validator accepted, with the facts our domain rules need (a tuple: built
    once per address on the plain-host-name path, at a quarter of a frozen dataclass's cost)."""

    name: str  # Unicode, NFC, lower case
    ascii: str  # IDNA A-labels
    octets: int  # the longer of the two in UTF-8: email-validator checks both address forms
    dotless: bool
    numeric_tld: bool
    reserved: bool


def parse_address(text: str, *, allow_smtputf8: bool = True, allow_reserved: bool = False) -> Address | InvalidAddress:
    """Apply the pre-send syntax policy to one address as a person typed or pasted it.

    The first rule broken names the problem, in this order: empty; forbidden character;
    too long (as typed, then in any form email-validator measures); anything else
    email-validator refuses (``invalid``); display name (``invalid``); quoted local part;
    IP literal; SMTPUTF8 refused; local part too long; dotless domain; numeric TLD
    (``invalid``); reserved domain.

    ``allow_smtputf8=False`` refuses local parts that need SMTPUTF8 (RFC 6531);
    ``allow_reserved=True`` accepts special-use names (``.test``, ``.localhost``, bare
    ``localhost``, ...) for test environments.
    """
    fast = _fast_parts(text)
    if isinstance(fast, InvalidAddress):
        return fast
    if fast is not None:
        return _finish(fast[0], fast[1], smtputf8=False, allow_reserved=allow_reserved)
    return _parse_slow(text, allow_smtputf8=allow_smtputf8, allow_reserved=allow_reserved)


def _fast_parts(text: str) -> tuple[str, _Domain] | InvalidAddress | None:
    """A plain ASCII address split by pattern, its domain judged (None: not plain, take the slow path).
    The fast pattern is ASCII only, so there characters are octets; the length goes first so that a
    megabyte of text is not scanned."""
    trimmed = text.strip(_SURROUNDING_WHITESPACE)
    fast = _FAST_ADDRESS.fullmatch(trimmed) if len(trimmed) <= EMAIL_MAX_LENGTH else None
    if fast is None:
        return None
    domain = _check_domain(fast[2])
    return domain if isinstance(domain, InvalidAddress) else (fast[1], domain)


def _parse_slow(text: str, *, allow_smtputf8: bool, allow_reserved: bool) -> Address | InvalidAddress:
    """Every rule, in order, through ``validate_email``: the reference the fast path must match."""
    trimmed = text.strip(_SURROUNDING_WHITESPACE)
    if not trimmed:
        return InvalidAddress(SyntaxProblem.EMPTY, "The email address is empty.")
    if (bad := _FORBIDDEN.search(trimmed)) is not None:
        return InvalidAddress(
            SyntaxProblem.FORBIDDEN_CHARACTER,
            f"The email address contains a control character or a broken surrogate (U+{ord(bad[0]):04X}).",
        )
    # Checked before parsing too: email-validator's parser is per character and slow on
    # megabyte inputs, and nothing over the limit can pass.
    if len(trimmed.encode("utf-8")) > EMAIL_MAX_LENGTH:
        return InvalidAddress(SyntaxProblem.TOO_LONG, _TOO_LONG_MESSAGE)
    head, at, domain = trimmed.rpartition("@")  # a valid domain never holds an "@"
    stand_in, reserved = _stand_in(domain) if at else (domain, None)
    try:
        checked = _validate(head + at + stand_in)
    except EmailNotValidError as exc:
        return _refusal_of(exc)
    if checked.display_name is not None:
        return InvalidAddress(
            SyntaxProblem.INVALID, "A display name and angle brackets are not part of an email address."
        )
    # RFC 5321 §4.1.2: hosts "SHOULD avoid defining mailboxes where the Local-part requires
    # (or uses) the Quoted-string form"; a quoted address is a typo or a probe, not a mailbox.
    if checked.original.startswith('"'):
        return InvalidAddress(
            SyntaxProblem.QUOTED_LOCAL_PART, "Quoted text before the @-sign is not accepted for sending."
        )
    # RFC 5321 §4.1.3 address literals bypass MX routing; public mail hosts do not accept them.
    if checked.domain.startswith("["):
        return InvalidAddress(SyntaxProblem.IP_LITERAL, "An IP address in brackets after the @-sign is not accepted.")
    # RFC 6531 §3.3: a non-ASCII local part needs SMTPUTF8 all the way; a non-ASCII domain does
    # not (it travels as A-labels, RFC 5890), so only the local part decides this flag.
    if checked.smtputf8 and not allow_smtputf8:
        return InvalidAddress(
            SyntaxProblem.SMTPUTF8_REFUSED, "Internationalized characters before the @-sign are not accepted here."
        )
    # The local part as typed (email-validator lower-cases RFC 2142 role names; RFC 5321 §2.4
    # says local parts are case-sensitive), NFC-normalized as email-validator validated it.
    local = unicodedata.normalize("NFC", checked.original.rpartition("@")[0])
    return _finish(local, _domain_of(checked, reserved), smtputf8=checked.smtputf8, allow_reserved=allow_reserved)


def parse_key_parts(text: str, *, allow_reserved: bool = False) -> tuple[str, str] | InvalidAddress:
    """``parse_address`` (SMTPUTF8 allowed) reduced to what a suppression lookup needs: the local
    part and the ASCII domain, or the same ``InvalidAddress``; on the fast path no ``Address`` is
    built (a bulk lookup parses 1,000 per request). A property test holds it to ``parse_address``."""
    fast = _fast_parts(text)
    if isinstance(fast, InvalidAddress):
        return fast
    if fast is not None:
        local, domain = fast
        return _refusal(local, domain, allow_reserved) or (local, domain.ascii)
    parsed = _parse_slow(text, allow_smtputf8=True, allow_reserved=allow_reserved)
    return parsed if isinstance(parsed, InvalidAddress) else (parsed.local_part, parsed.ascii_domain)


def _finish(local: str, domain: _Domain, *, smtputf8: bool, allow_reserved: bool) -> Address | InvalidAddress:
    """The rules shared by both paths once email-validator has accepted the address."""
    return _refusal(local, domain, allow_reserved) or Address(  # positional: keywords cost more on every address
        local,  # local_part
        domain.name,  # domain
        domain.ascii,  # ascii_domain
        f"{local}@{domain.name}",  # normalized
        smtputf8,
    )


def _refusal(local: str, domain: _Domain, allow_reserved: bool) -> InvalidAddress | None:
    """The first of our own rules the address breaks, if any."""
    local_octets = len(local.encode("utf-8"))
    if local_octets + 1 + domain.octets > EMAIL_MAX_LENGTH:  # RFC 5321 §4.5.3.1.3, in octets (RFC 6531 §3.3)
        return InvalidAddress(SyntaxProblem.TOO_LONG, _TOO_LONG_MESSAGE)
    if local_octets > LOCAL_PART_MAX_LENGTH:  # RFC 5321 §4.5.3.1.1: 64 octets, UTF-8 octets under RFC 6531
        return InvalidAddress(
            SyntaxProblem.LOCAL_PART_TOO_LONG,
            f"The part before the @-sign is {local_octets} octets; the limit is {LOCAL_PART_MAX_LENGTH}.",
        )
    reserved_ok = domain.reserved and allow_reserved
    # ICANN prohibited dotless domains in 2013 (RFC 7085 surveys the few exceptions): mail to
    # "a@com" or "a@localhost" cannot cross the public internet.
    if domain.dotless and not reserved_ok:
        return InvalidAddress(SyntaxProblem.DOTLESS_DOMAIN, "The part after the @-sign should have a period.")
    if domain.numeric_tld:  # every TLD ends with a letter; "a@1.2.3.4" is an unbracketed IP
        return InvalidAddress(
            SyntaxProblem.INVALID, "The part after the @-sign is not within a valid top-level domain."
        )
    if domain.reserved and not reserved_ok:  # RFC 6761 special-use names never route on the internet
        return InvalidAddress(
            SyntaxProblem.RESERVED_DOMAIN, "The part after the @-sign is a special-use or reserved name."
        )
    return None


@functools.lru_cache(maxsize=_DOMAIN_MEMO_SIZE)
def _check_domain(domain: str) -> _Domain | InvalidAddress:
    """The verdict on one domain: by pattern for a plain ASCII host name, else by ``_ask_domain``.
    Memoised too: domains repeat from request to request, and a hit (0.15 µs) costs a seventh of
    the patterns and the tuple (1 µs)."""
    if (
        len(domain) <= _LDH_MAX
        and "--" not in domain
        and _LDH_DOMAIN.fullmatch(domain) is not None
        and domain.rpartition(".")[2].lower() not in _RESERVED_TLDS
    ):
        name = domain.lower()  # UTS #46 maps ASCII letters to lower case and leaves the rest
        return _Domain(name, name, len(name), "." not in name, DOMAIN_NAME_REGEX.search(name) is None, False)
    return _ask_domain(domain)


@functools.lru_cache(maxsize=_DOMAIN_MEMO_SIZE)
def _ask_domain(domain: str) -> _Domain | InvalidAddress:
    """email-validator's verdict on one domain, asked once: domains repeat, local parts vary.

    ``_validate``'s options are fixed, so the memo needs no key beyond the text; the
    per-request settings only act afterwards, in ``_finish``. The single-letter local part
    never fails, so any failure here is the domain's (or a length no local part could fix).
    """
    stand_in, reserved = _stand_in(domain)
    try:
        checked = _validate("x@" + stand_in)
    except EmailNotValidError as exc:
        return _refusal_of(exc)
    return _domain_of(checked, reserved)


def _validate(text: str) -> ValidatedEmail:
    """email-validator with every option pinned (its module defaults are mutable globals).

    Everything our policy refuses is let through, so that each refusal is decided on the
    parsed structure rather than by matching email-validator's wording.
    """
    return validate_email(
        text,
        allow_smtputf8=True,
        allow_empty_local=False,
        allow_quoted_local=True,
        allow_domain_literal=True,
        allow_display_name=True,
        strict=False,  # its local-part limit counts characters; RFC 5321 counts octets
        check_deliverability=False,
        globally_deliverable=False,  # its dotless and numeric-TLD checks are ours, in _finish
        test_environment=False,
    )


def _stand_in(domain: str) -> tuple[str, str | None]:
    """Swap a special-use suffix for same-length letters so email-validator checks the rest.

    email-validator refuses these names unconditionally (its ``test_environment`` spares only
    ``.test``). Swapping keeps every other check and every length identical, and lets us
    decide reservation ourselves. Only an ASCII spelling is swapped: a full-width ``.ｔｅｓｔ``
    stays ``invalid`` with email-validator's reserved-name message.
    """
    for name, letters in _RESERVED.items():
        tail = domain[-len(name) :]
        if tail.isascii() and tail.lower() == name and (len(domain) == len(name) or domain[-len(name) - 1] == "."):
            return domain[: -len(name)] + letters, name
    return domain, None


def _domain_of(checked: ValidatedEmail, reserved: str | None) -> _Domain:
    name, ascii_domain = checked.domain, checked.ascii_domain
    if reserved is not None:  # put the real suffix back: it is ASCII, the same in both forms
        name, ascii_domain = name[: -len(reserved)] + reserved, ascii_domain[: -len(reserved)] + reserved
    return _Domain(
        name=name,
        ascii=ascii_domain,
        octets=max(len(name.encode("utf-8")), len(ascii_domain)),
        dotless="." not in ascii_domain,
        numeric_tld=DOMAIN_NAME_REGEX.search(ascii_domain) is None,
        reserved=reserved is not None,
    )


def _refusal_of(exc: EmailNotValidError) -> InvalidAddress:
    message = str(exc)
    if message.startswith(_EV_TOO_LONG):  # its counts depend on the form it measured: ours is stable
        return InvalidAddress(SyntaxProblem.TOO_LONG, _TOO_LONG_MESSAGE)
    return InvalidAddress(SyntaxProblem.INVALID, message)
