"""Risk signals that need no DNS: disposable, privacy relay, role account, free provider, typo.

What lives here: ``assess_signals`` and the ``SignalTables`` it reads, the typo index, and the
edit distance the typo index needs. The facts come from word lists shipped as package data
(``validator/data/*.txt``, one entry a line, ``#`` comments) and from the maintained
``disposable-email-domains`` blocklist, all loaded once. What must not live here: I/O beyond
reading that package data at load time (no asyncio, sockets, sqlite3 or aiohttp), and any
decision. A signal is a fact about the address; what it does to the verdict is ``verdict.py``'s
business under the operator's ``SignalEffect`` settings (Sisimai keeps facts apart from decisions).
"""

from __future__ import annotations

import functools
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from importlib.resources import files

from disposable_email_domains import blocklist as _DISPOSABLE_BLOCKLIST

from validator.model import Address, Signals
from validator.signals.typos import TypoIndex, edit_distance

__all__ = ["SignalTables", "TypoIndex", "assess_signals", "default_tables", "edit_distance", "suggest_unparsed"]

# Domains repeat across requests while local parts do not, so the per-domain work (parent
# walks, typo search) is cached on the domain. 4096 domains cover the head of real traffic
# (the top few hundred mailbox domains carry most consumer mail) at well under 1 MB.
DEFAULT_CACHE_SIZE = 4096


def _role_key(local_part: str) -> str:
    """The form a local part is compared in against roles.txt.

    RFC 2142 §2: mailbox names are case-insensitive. A +tag (RFC 5233 subaddress) still reaches
    the role mailbox, and people spell one role with or without separators (``no-reply``,
    ``no_reply``, ``No.Reply``, ``noreply``), so the tag and the separators "." "-" "_" go.
    """
    base = local_part.partition("+")[0].lower()
    return base.replace(".", "").replace("-", "").replace("_", "")


def _listed(domain: str, table: frozenset[str]) -> bool:
    """``domain`` or one of its parents is in ``table``; the bare TLD never counts.

    Disposable services and relays hand out subdomains (``x.mailinator.com``,
    ``johndoe.anonaddy.com``); regional ISP mailboxes live under one parent (``nc.rr.com``).
    """
    labels = domain.split(".")
    return any(".".join(labels[i:]) in table for i in range(len(labels) - 1))


@dataclass(frozen=True, slots=True)
class _DomainFacts:
    """Everything about one domain, computed once: ready Signals for both role answers."""

    person: Signals
    role: Signals
    typo_domain: str | None


class SignalTables:
    """The loaded word lists plus a bounded per-domain cache. Build once, share, never mutate.

    ``SignalTables.load()`` reads the package data; the constructor takes explicit collections so
    a test can build a tiny table. ``cache_size`` bounds the per-domain LRU (entries, not bytes).
    """

    __slots__ = ("_disposable", "_relays", "_roles", "_free", "_typos", "_facts")

    def __init__(
        self,
        *,
        disposable: Collection[str],
        relays: Collection[str],
        roles: Iterable[str],
        free_providers: Collection[str],
        typos: TypoIndex,
        cache_size: int = DEFAULT_CACHE_SIZE,
    ) -> None:
        self._disposable = frozenset(disposable)
        self._relays = frozenset(relays)
        self._roles = frozenset(_role_key(role) for role in roles)
        self._free = frozenset(free_providers)
        self._typos = typos
        self._facts = functools.lru_cache(maxsize=cache_size)(self._assess_domain)

    @classmethod
    def load(cls, cache_size: int = DEFAULT_CACHE_SIZE) -> SignalTables:
        """Read every list from ``validator/data`` and the disposable blocklist."""
        relays = _read_words("privacy_relays.txt")
        free = _read_words("free_providers.txt")
        typos = TypoIndex(
            targets=_read_words("typo_targets.txt"),
            known=[*free, *relays, *_read_words("real_lookalikes.txt")],
            tld_typos=_read_pairs("tld_typos.txt"),
            delegated_tlds=_read_words("tlds.txt"),
        )
        return cls(
            disposable=_DISPOSABLE_BLOCKLIST,
            relays=relays,
            roles=_read_words("roles.txt"),
            free_providers=free,
            typos=typos,
            cache_size=cache_size,
        )

    def assess(self, address: Address) -> Signals:
        """The signals for ``address``; a suggestion keeps the local part exactly as typed."""
        facts = self._facts(address.domain, address.ascii_domain)
        signals = facts.role if _role_key(address.local_part) in self._roles else facts.person
        if facts.typo_domain is None:
            return signals
        return Signals(
            disposable=signals.disposable,
            role_account=signals.role_account,
            free_provider=signals.free_provider,
            privacy_relay=signals.privacy_relay,
            suggestion=f"{address.local_part}@{facts.typo_domain}",
        )

    def suggest_unparsed(self, text: str) -> str | None:
        """A suggestion for text that is no valid address, when only its domain is off.

        ``jane@,yahoo.com`` or ``jane@gmail,com`` stay invalid, but the address meant is plain;
        the caller checks the suggestion parses before offering it.
        """
        local, at, domain = text.strip().rpartition("@")
        if not at or not local or len(domain) > 255:
            return None
        domain = domain.lower()
        fixed = self._typos.suggest_repaired(domain) or self._typos.suggest(domain)
        return f"{local}@{fixed}" if fixed else None

    def _assess_domain(self, domain: str, ascii_domain: str) -> _DomainFacts:
        # Lists hold ASCII (IDNA) names; the typo index reads the Unicode form, so a homoglyph
        # such as "gmaíl.com" is one edit from gmail.com rather than a distant "xn--" label.
        relay = _listed(ascii_domain, self._relays)
        # A relay delivers to a real inbox: it is never disposable, whatever the blocklist says.
        disposable = not relay and _listed(ascii_domain, self._disposable)
        free = not relay and _listed(ascii_domain, self._free)
        return _DomainFacts(
            person=Signals(disposable=disposable, free_provider=free, privacy_relay=relay),
            role=Signals(disposable=disposable, role_account=True, free_provider=free, privacy_relay=relay),
            typo_domain=None if relay else self._typos.suggest(domain),
        )


def _read_lines(name: str) -> Iterable[tuple[int, str]]:
    text = files("validator").joinpath("data", name).read_text(encoding="utf-8")
    for number, line in enumerate(text.splitlines(), 1):
        entry = line.split("#", 1)[0].strip().lower()
        if entry:
            yield number, entry


def _read_words(name: str) -> list[str]:
    """One entry a line, in file order (typo_targets.txt's order is its priority)."""
    return [entry for _, entry in _read_lines(name)]


def _read_pairs(name: str) -> dict[str, str]:
    pairs: dict[str, str] = {}
    for number, entry in _read_lines(name):
        words = entry.split()
        if len(words) != 2:
            raise ValueError(f"validator/data/{name}:{number}: expected 'typed meant', got {entry!r}")
        pairs[words[0]] = words[1]
    return pairs


@functools.cache
def default_tables() -> SignalTables:
    """The package-data tables, loaded on first use and then shared read-only.

    This is the one module-level instance: ``assess_signals(address)`` uses it so the checker
    needs no wiring; a caller that wants its own lists or cache size passes ``tables``.
    """
    return SignalTables.load()


def assess_signals(address: Address, tables: SignalTables | None = None) -> Signals:
    """Disposable, privacy relay, role account, free provider and a typo suggestion for ``address``.

    Cheap on the hot path: per-domain facts are cached, so a repeat domain costs one cache hit,
    one role lookup and no allocation (the Signals for that domain are shared, frozen values).
    """
    return (default_tables() if tables is None else tables).assess(address)


def suggest_unparsed(text: str, tables: SignalTables | None = None) -> str | None:
    """``SignalTables.suggest_unparsed`` on the package-data tables (or ``tables``)."""
    return (default_tables() if tables is None else tables).suggest_unparsed(text)
