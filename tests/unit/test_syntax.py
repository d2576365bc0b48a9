"""The pre-send syntax policy, rule by rule, and the fast path held equal to the slow one."""

from __future__ import annotations

from typing import Any

import pytest
from email_validator import EmailNotValidError, validate_email
from hypothesis import HealthCheck, event, example, given, settings
from hypothesis import strategies as st

from validator import syntax
from validator.model import Address, InvalidAddress, SyntaxProblem
from validator.syntax import parse_address

P = SyntaxProblem


def _long_address(octets: int, local: str = "a" * 64) -> str:
    """An address of exactly ``octets`` UTF-8 octets, every label within 63."""
    head = f"{local}@{'b' * 63}.{'c' * 63}."
    return head + "d" * (octets - len(head.encode()) - 4) + ".com"


OPTION_SETS = [
    {"allow_smtputf8": True, "allow_reserved": False},  # the service's defaults
    {"allow_smtputf8": False, "allow_reserved": False},
    {"allow_smtputf8": True, "allow_reserved": True},
    {"allow_smtputf8": False, "allow_reserved": True},
]

REFUSED = [
    # (id, text, options, problem)
    ("empty", "", {}, P.EMPTY),
    ("only-whitespace", " \t\r\n ", {}, P.EMPTY),
    ("interior-cr", "a\rb@example.com", {}, P.FORBIDDEN_CHARACTER),
    ("interior-lf", "a@example.com\nBcc: x@example.org", {}, P.FORBIDDEN_CHARACTER),  # header injection
    ("interior-crlf-in-domain", "a@exam\r\nple.com", {}, P.FORBIDDEN_CHARACTER),
    ("interior-nul", "a\x00b@example.com", {}, P.FORBIDDEN_CHARACTER),
    ("surrounding-nul", "\x00a@example.com", {}, P.FORBIDDEN_CHARACTER),  # NUL is never paste noise
    ("interior-tab", "a\tb@example.com", {}, P.FORBIDDEN_CHARACTER),
    ("c1-control", "a\x85b@example.com", {}, P.FORBIDDEN_CHARACTER),  # NEL, a C1 control
    ("delete", "a\x7f@example.com", {}, P.FORBIDDEN_CHARACTER),
    ("lone-surrogate", "a\ud800@example.com", {}, P.FORBIDDEN_CHARACTER),  # a broken JSON "\ud800" escape
    ("no-at-sign", "john.example.com", {}, P.INVALID),
    ("nothing-before-at", "@example.com", {}, P.INVALID),
    ("nothing-after-at", "john@", {}, P.INVALID),
    ("two-at-signs", "a@b@example.com", {}, P.INVALID),
    ("interior-space", "john smith@example.com", {}, P.INVALID),
    ("double-dot-local", "john..smith@example.com", {}, P.INVALID),
    ("leading-dot-local", ".john@example.com", {}, P.INVALID),
    ("trailing-dot-local", "john.@example.com", {}, P.INVALID),
    ("trailing-dot-domain", "john@example.com.", {}, P.INVALID),
    ("underscore-domain", "john@exa_mple.com", {}, P.INVALID),
    ("hyphen-start-label", "john@-example.com", {}, P.INVALID),
    ("comment", "john(comment)@example.com", {}, P.INVALID),  # RFC 5322 CFWS: not in SMTP
    ("display-name", "John Smith <john@example.com>", {}, P.INVALID),
    ("angle-brackets-only", "<john@example.com>", {}, P.INVALID),
    ("numeric-tld", "john@example.123", {}, P.INVALID),  # every TLD ends with a letter
    ("bare-ipv4", "john@192.168.0.1", {}, P.INVALID),  # an IP without brackets: numeric "TLD"
    ("bad-ip-literal", "john@[300.1.2.3]", {}, P.INVALID),  # malformed: the parse fails first
    ("label-over-63", "john@" + "a" * 64 + ".com", {}, P.INVALID),  # RFC 1035 §2.3.4
    ("fake-punycode", "john@xn--zz.com", {}, P.INVALID),  # looks like an A-label, is not IDNA
    ("fullwidth-at", "john＠example.com", {}, P.INVALID),
    ("quoted-with-space", '"john smith"@example.com', {}, P.QUOTED_LOCAL_PART),
    ("quoted-needless", '"john"@example.com', {}, P.QUOTED_LOCAL_PART),  # refused even when quotes add nothing
    ("quoted-at-sign", '"a@b"@example.com', {}, P.QUOTED_LOCAL_PART),
    ("ipv4-literal", "john@[192.0.2.1]", {}, P.IP_LITERAL),
    ("ipv6-literal", "john@[IPv6:2001:db8::1]", {}, P.IP_LITERAL),
    ("dotless-localhost", "john@localhost", {}, P.DOTLESS_DOMAIN),
    ("dotless-tld", "john@com", {}, P.DOTLESS_DOMAIN),
    ("dotless-even-reserved-allowed", "john@mailhost", {"allow_reserved": True}, P.DOTLESS_DOMAIN),
    ("reserved-test", "john@example.test", {}, P.RESERVED_DOMAIN),
    ("reserved-localhost-sub", "john@app.localhost", {}, P.RESERVED_DOMAIN),
    ("reserved-invalid", "john@example.invalid", {}, P.RESERVED_DOMAIN),
    ("reserved-local", "john@printer.local", {}, P.RESERVED_DOMAIN),  # RFC 6762 mDNS
    ("reserved-onion", "john@abcdefgh.onion", {}, P.RESERVED_DOMAIN),  # RFC 7686
    ("reserved-arpa", "john@1.0.0.127.in-addr.arpa", {}, P.RESERVED_DOMAIN),
    ("reserved-upper-case", "john@EXAMPLE.TEST", {}, P.RESERVED_DOMAIN),
    ("reserved-idn-sub", "john@münchen.test", {}, P.RESERVED_DOMAIN),
    ("local-65-octets", "a" * 65 + "@example.com", {}, P.LOCAL_PART_TOO_LONG),  # RFC 5321 §4.5.3.1.1
    ("local-33-two-octet-chars", "é" * 33 + "@example.com", {}, P.LOCAL_PART_TOO_LONG),  # 33 chars, 66 octets
    ("local-22-three-octet-chars", "中" * 22 + "@example.com", {}, P.LOCAL_PART_TOO_LONG),  # 66 octets
    ("total-255-octets", _long_address(255), {}, P.TOO_LONG),  # RFC 5321 §4.5.3.1.3
    ("total-255-by-utf8", _long_address(255, local="é" * 32), {}, P.TOO_LONG),  # 223 characters, 255 octets
    ("huge-input", "a" * 100_000 + "@example.com", {}, P.TOO_LONG),  # refused before parsing, quickly
    ("intl-local-refused", "jörg@example.com", {"allow_smtputf8": False}, P.SMTPUTF8_REFUSED),
    ("cjk-local-refused", "用户@例子.广告", {"allow_smtputf8": False}, P.SMTPUTF8_REFUSED),
]


@pytest.mark.parametrize(("text", "options", "problem"), [c[1:] for c in REFUSED], ids=[c[0] for c in REFUSED])
def test_refused_addresses_name_the_rule(text: str, options: dict[str, bool], problem: SyntaxProblem) -> None:
    result = parse_address(text, **options)
    assert isinstance(result, InvalidAddress), result
    assert result.problem is problem, result.message
    assert result.message


ACCEPTED = [
    # (id, text, options, local_part, domain, ascii_domain, smtputf8)
    ("plain", "john.smith@example.com", {}, "john.smith", "example.com", "example.com", False),
    ("local-case-kept", "John.Smith@example.com", {}, "John.Smith", "example.com", "example.com", False),
    ("domain-lowered", "john@EXAMPLE.Com", {}, "john", "example.com", "example.com", False),
    ("role-name-case-kept", "Postmaster@example.com", {}, "Postmaster", "example.com", "example.com", False),
    ("spaces-trimmed", "  john@example.com  ", {}, "john", "example.com", "example.com", False),
    ("tabs-trimmed", "\tjohn@example.com\t", {}, "john", "example.com", "example.com", False),
    ("pasted-crlf-trimmed", "\r\njohn@example.com\r\n", {}, "john", "example.com", "example.com", False),
    (
        "atext-symbols",
        "a!#$%&'*+/=?^_`{|}~-z@example.com",
        {},
        "a!#$%&'*+/=?^_`{|}~-z",
        "example.com",
        "example.com",
        False,
    ),
    ("subaddress", "john+newsletter@example.com", {}, "john+newsletter", "example.com", "example.com", False),
    ("typo-tld-is-not-syntax", "john@gmail.con", {}, "john", "gmail.con", "gmail.con", False),  # a signal, not syntax
    ("unknown-tld", "john@example.zzzz", {}, "john", "example.zzzz", "example.zzzz", False),  # no TLD list here
    ("example-com", "john@example.com", {}, "john", "example.com", "example.com", False),  # null MX: DNS's job
    ("idn-to-punycode", "john@münchen.de", {}, "john", "münchen.de", "xn--mnchen-3ya.de", False),
    ("punycode-to-unicode", "john@XN--MNCHEN-3YA.de", {}, "john", "münchen.de", "xn--mnchen-3ya.de", False),
    (
        "idn-allowed-without-smtputf8",
        "john@münchen.de",
        {"allow_smtputf8": False},
        "john",
        "münchen.de",
        "xn--mnchen-3ya.de",
        False,
    ),  # A-labels need no SMTPUTF8 (RFC 5890)
    ("intl-local", "jörg@example.com", {}, "jörg", "example.com", "example.com", True),
    ("intl-local-nfc", "jo\u0308rg@example.com", {}, "jörg", "example.com", "example.com", True),  # combining diaeresis
    ("local-64-octets", "a" * 64 + "@example.com", {}, "a" * 64, "example.com", "example.com", False),
    ("local-32-two-octet-chars", "é" * 32 + "@example.com", {}, "é" * 32, "example.com", "example.com", True),
    (
        "reserved-test-allowed",
        "john@example.test",
        {"allow_reserved": True},
        "john",
        "example.test",
        "example.test",
        False,
    ),
    ("reserved-localhost-allowed", "john@localhost", {"allow_reserved": True}, "john", "localhost", "localhost", False),
    (
        "reserved-sub-allowed",
        "john@App.LocalHost",
        {"allow_reserved": True},
        "john",
        "app.localhost",
        "app.localhost",
        False,
    ),
    (
        "reserved-idn-allowed",
        "john@münchen.test",
        {"allow_reserved": True},
        "john",
        "münchen.test",
        "xn--mnchen-3ya.test",
        False,
    ),
]


@pytest.mark.parametrize(
    ("text", "options", "local_part", "domain", "ascii_domain", "smtputf8"),
    [c[1:] for c in ACCEPTED],
    ids=[c[0] for c in ACCEPTED],
)
def test_accepted_addresses_are_normalized(
    text: str, options: dict[str, bool], local_part: str, domain: str, ascii_domain: str, smtputf8: bool
) -> None:
    assert parse_address(text, **options) == Address(
        local_part=local_part,
        domain=domain,
        ascii_domain=ascii_domain,
        normalized=f"{local_part}@{domain}",
        smtputf8=smtputf8,
    )


@pytest.mark.parametrize("local", ["a" * 64, "é" * 32], ids=["ascii", "utf8"])
def test_254_octets_is_the_longest_accepted_address(local: str) -> None:
    text = _long_address(254, local=local)  # RFC 5321 §4.5.3.1.3: the 256-octet path minus "<" and ">"
    assert len(text.encode()) == 254
    assert isinstance(parse_address(text), Address)


@pytest.mark.parametrize(
    "text",
    [
        "a" * 64 + "@" + "ü." * 30 + "de",  # fits as typed, too long once the domain is punycode
        "a@" + "ü." * 40 + "de",  # the domain alone passes 253 octets after IDNA
        "a" * 73 + "@" + ("xn--fiqaaaaaaaaaaaaaaaaaaa." * 6) + "cn",  # fits as A-labels, too long as UTF-8
    ],
    ids=["ascii-form", "domain-after-idna", "unicode-form"],
)
def test_every_length_failure_of_email_validator_is_too_long(text: str) -> None:
    # Pins the one message prefix syntax.py relies on: if email-validator rewords, this fails.
    with pytest.raises(EmailNotValidError, match=f"^{syntax._EV_TOO_LONG}"):
        validate_email(text, check_deliverability=False)
    result = parse_address(text)
    assert isinstance(result, InvalidAddress) and result.problem is P.TOO_LONG


def test_plain_addresses_take_the_fast_path(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_slow_path(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("slow path taken")

    monkeypatch.setattr(syntax, "_parse_slow", no_slow_path)
    assert isinstance(parse_address("jane.doe+tag@Example.COM"), Address)  # the common case costs µs, not 60+
    assert parse_address("jane@localhost").problem is P.DOTLESS_DOMAIN  # type: ignore[union-attr]


def test_domain_memo_is_bounded() -> None:
    assert syntax._ask_domain.cache_info().maxsize == 50_000  # random domains cannot grow memory


def test_plain_host_names_need_neither_email_validator_nor_the_memo(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_validate(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("email-validator asked")

    # a bulk lookup spanning more domains than the memo holds must not pay ~50 µs per domain
    monkeypatch.setattr(syntax, "_validate", no_validate)
    for n in range(3):
        assert parse_address(f"user{n}@D{n}-x.mail{n}.COM") == Address(
            f"user{n}", f"d{n}-x.mail{n}.com", f"d{n}-x.mail{n}.com", f"user{n}@d{n}-x.mail{n}.com", False
        )
    assert parse_address("a@1.2.3.4").problem is P.INVALID  # type: ignore[union-attr]  # numeric TLD


# --- the fast path answers exactly as the slow path, on any input -------------------------
# Two generators: "plausible" addresses, shaped like real ones so most reach the fast path and
# its memo (all its branches: valid, too long, dotless, reserved, bad domain); and "hostile"
# text from a broad alphabet (quotes, controls, Unicode, brackets) that mostly cannot.

_ATEXT = list("abcXYZ0189!#$%&'*+/=?^_`{|}~-")
_ODD = [
    ".",
    "..",
    "@",
    '"',
    "\\",
    " ",
    "\t",
    "\r",
    "\n",
    "\x00",
    "\x0b",
    "\x7f",
    "\x85",
    "(",
    ")",
    "<",
    ">",
    "[",
    "]",
    ":",
    ",",
    ";",
    "é",
    "ü",
    "中",
    "İ",
    "\u212a",
    "ß",
    "\u0301",
    "\u200b",
    "\u00a0",
    "\u3002",
    "\uff0e",
    "＠",
    "\u202e",
    "\ud800",
    "\U0001f600",
    "xn--",
    "\u0627",
]
_LABELS = [
    "example",
    "EXAMPLE",
    "com",
    "de",
    "a",
    "x",
    "xn--mnchen-3ya",
    "XN--MNCHEN-3YA",
    "xn--zz",
    "xn--fiqaaaaaaaaaaaaaaaaaaa",
    "test",
    "TEST",
    "localhost",
    "invalid",
    "local",
    "onion",
    "arpa",
    "in-addr",
    "123",
    "-a",
    "a-",
    "ab--cd",
    "",
    "a" * 63,
    "a" * 64,
    "b" * 100,
]


def _joined(pieces: list[str], min_size: int, max_size: int) -> st.SearchStrategy[str]:
    return st.lists(st.sampled_from(pieces), min_size=min_size, max_size=max_size).map("".join)


_dot_atoms = st.one_of(
    st.lists(_joined(_ATEXT, 1, 12), min_size=1, max_size=6).map(".".join),
    _joined(_ATEXT, 60, 70),  # around the 64-octet local-part limit
    st.sampled_from(["postmaster", "INFO", "a" * 64, "a" * 65, "é" * 32, "é" * 33, "jörg"]),
)
_hostnames = st.one_of(
    st.lists(st.sampled_from(_LABELS), min_size=1, max_size=5).map(".".join),
    st.lists(_joined(list("abXY09-"), 1, 63), min_size=1, max_size=5).map(".".join),  # near the 253/254 limits
)
_plausible = st.builds(
    "{}{}@{}{}".format,
    st.sampled_from(["", " ", "\t", "\r\n"]),
    _dot_atoms,
    _hostnames,
    st.sampled_from(["", " ", "\n"]),
)
_hostile = st.one_of(
    st.builds(
        "{}{}@{}{}".format,
        st.sampled_from(["", " ", "\x00", "\x0c"]),
        st.one_of(_joined(_ATEXT + _ODD, 0, 30), _joined(_ATEXT + _ODD, 0, 8).map('"{}"'.format), st.text(max_size=20)),
        st.one_of(
            st.lists(_joined(list("abXY09-") + _ODD, 0, 10), min_size=1, max_size=4).map(".".join),
            st.sampled_from(["1.2.3.4", "300.1.1.1", "IPv6:::1", "ipv6:zz", "x:y", ""]).map("[{}]".format),
            st.text(max_size=30),
        ),
        st.sampled_from(["", " ", "\u00a0"]),
    ),
    st.builds("{} <{}@{}>".format, st.sampled_from(["Jane", '"Doe, Jane"', ""]), _dot_atoms, _hostnames),
    _joined(_ATEXT + _ODD + _LABELS, 0, 30),
)


def _assert_paths_agree(text: str, options: dict[str, bool]) -> None:
    result = parse_address(text, **options)
    assert result == syntax._parse_slow(text, **options)
    # --hypothesis-show-statistics shows how often each path and each answer came up
    fast = syntax._FAST_ADDRESS.fullmatch(text.strip(syntax._SURROUNDING_WHITESPACE)) is not None
    event(f"{'fast' if fast else 'slow'} path: {result.problem if isinstance(result, InvalidAddress) else 'valid'}")


@settings(max_examples=1000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=_plausible, options=st.sampled_from(OPTION_SETS))
@example(text="john@example.test", options=OPTION_SETS[2])
@example(text="John@LOCALHOST", options=OPTION_SETS[3])
@example(text=_long_address(254), options=OPTION_SETS[0])
@example(text=_long_address(255), options=OPTION_SETS[0])
def test_fast_path_agrees_with_slow_path_on_plausible_addresses(text: str, options: dict[str, bool]) -> None:
    _assert_paths_agree(text, options)


@settings(max_examples=1000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=_hostile, options=st.sampled_from(OPTION_SETS))
def test_fast_path_agrees_with_slow_path_on_hostile_text(text: str, options: dict[str, bool]) -> None:
    _assert_paths_agree(text, options)


_ldh_domains = st.lists(_joined(list("aZ09-"), 0, 66), min_size=1, max_size=6).map(".".join) | st.builds(
    "{}.{}".format, _joined(list("a-"), 1, 200), st.sampled_from(["com", "TEST", "arpa", "x", "9"])
)


@settings(max_examples=2000, deadline=None)
@given(domain=_ldh_domains)
@example(domain="a" * 63 + "." + "b" * 63 + "." + "c" * 63 + "." + "d" * 61)  # 252: the longest that fits
@example(domain="a" * 63 + "." + "b" * 63 + "." + "c" * 63 + "." + "d" * 62)  # 253
@example(domain="ab--cd.com")  # R-LDH: email-validator refuses it
@example(domain="xn--mnchen-3ya.de")  # an A-label: decoded through IDNA
def test_host_name_pattern_agrees_with_email_validator(domain: str) -> None:
    assert syntax._check_domain(domain) == syntax._ask_domain(domain)


def _assert_key_parts_agree(text: str, allow_reserved: bool) -> None:
    parts = syntax.parse_key_parts(text, allow_reserved=allow_reserved)
    parsed = parse_address(text, allow_reserved=allow_reserved)
    assert parts == (parsed if isinstance(parsed, InvalidAddress) else (parsed.local_part, parsed.ascii_domain))


@settings(max_examples=1000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=_plausible, allow_reserved=st.booleans())
@example(text="Jane.Doe@Example.COM", allow_reserved=False)
@example(text="jane@localhost", allow_reserved=True)  # dotless, but a reserved name: allowed
@example(text="jörg@bücher.de", allow_reserved=False)  # the slow path: SMTPUTF8 and IDNA
def test_key_parts_agree_with_parse_address_on_plausible_addresses(text: str, allow_reserved: bool) -> None:
    _assert_key_parts_agree(text, allow_reserved)


@settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=_hostile, allow_reserved=st.booleans())
def test_key_parts_agree_with_parse_address_on_hostile_text(text: str, allow_reserved: bool) -> None:
    _assert_key_parts_agree(text, allow_reserved)
