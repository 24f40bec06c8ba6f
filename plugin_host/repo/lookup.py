"""Caller-ID lookup: E.164, then national number, then the last N digits (never ambiguous)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import lru_cache
from typing import Any

from sqlalchemy import (
    BigInteger,
    Select,
    and_,
    any_,
    bindparam,
    cast,
    func,
    literal_column,
    select,
    union_all,
)
from sqlalchemy.dialects.postgresql import ARRAY

from plugin_host.permissions import Principal, contact_read_filter
from plugin_host.phones import normalise
from plugin_host.repo.base import Bound
from plugin_host.repo.contacts import ContactRepository, phones_emails_json
from plugin_host.repo.query import PH, C
from plugin_host.text import prefix_upper_bound

#: Phones read per tier (a tier with more matches is only ever "ambiguous" or a shared number).
PHONES_PER_TIER = 200
#: Contacts kept per tier (more than one suffix match is refused as ambiguous anyway).
CONTACTS_PER_TIER = 11
#: With at most this many candidate contacts, their full rows come with the permission check.
FULL_ROWS_UP_TO = 40

# How each tier finds its phones (bound parameters; the tenant is always bound as ``t``).
_TIER_TERMS: dict[str, Any] = {
    "extension": lambda: and_(PH.c.kind == "internal", PH.c.digits_rev == bindparam("ext")),
    "e164": lambda: PH.c.e164 == bindparam("e164"),
    "national": lambda: PH.c.national == bindparam("national"),
    # The range's ends as scalar subqueries: PostgreSQL's custom plans then estimate it as its generic
    # plan does, so a prepared statement settles on the generic plan instead of planning every call.
    "suffix": lambda: and_(PH.c.digits_rev >= select(bindparam("lo")).scalar_subquery(),
                           PH.c.digits_rev < select(bindparam("hi")).scalar_subquery()),
}


@lru_cache(maxsize=16)
def _probe(tiers: tuple[str, ...]) -> Select[Any]:
    """One statement for every tier's phones: ``(contact_id, tier number)``, each tier from its own index.

    Built once per tier combination; the values are bound at execution.
    """
    parts = [select(PH.c.contact_id, literal_column(str(i)).label("tier"))
             .where(PH.c.tenant_id == bindparam("t"), _TIER_TERMS[name]())
             .limit(literal_column(str(PHONES_PER_TIER))).subquery(f"t{i}") for i, name in enumerate(tiers)]
    if len(parts) == 1:
        return select(parts[0].c.contact_id, parts[0].c.tier)
    return union_all(*(select(p.c.contact_id, p.c.tier) for p in parts))  # type: ignore[return-value]


@lru_cache(maxsize=4096)
def _visible(p: Principal, full: bool) -> Select[Any]:
    """The candidates ``p`` may read (full rows, or ids only), by primary key: one cached statement per principal."""
    cols = (C,) if full else (C.c.id,)
    return select(*cols).where(C.c.id.in_(bindparam("ids", expanding=True)), contact_read_filter(p, C))


@lru_cache(maxsize=4096)
def _answer(p: Principal, tiers: tuple[str, ...]) -> Select[Any]:
    """PostgreSQL: a whole caller-ID answer in one statement (one round trip for a hit or a miss).

    Every tier's phones (``_probe``, materialized first), then their contacts that ``p`` may read, by
    primary key (``id = ANY(array)``: the primary-key index whatever the statistics say), each with
    the first tier that found it, best tier first and by id: the first row's tier is the answer's,
    and the rows of that tier (at most ``CONTACTS_PER_TIER + 1`` are read) come with their phones
    and e-mails as JSON arrays in position order (computed for the rows returned only). No row: a
    miss.
    """
    m = _probe(tiers).cte("m").prefix_with("MATERIALIZED")
    tier = select(func.min(m.c.tier)).where(m.c.contact_id == C.c.id).scalar_subquery()
    ids = cast(select(func.array_agg(m.c.contact_id)).scalar_subquery(), ARRAY(BigInteger))  # ANY(array), not IN
    return (select(C, tier.label("tier"), *phones_emails_json(C.c.id))
            .where(C.c.id == any_(ids), contact_read_filter(p, C))
            .order_by(literal_column("tier"), C.c.id).limit(literal_column(str(CONTACTS_PER_TIER + 1))))


class LookupRepository(Bound):
    """Finds who is calling, among the contacts the principal may read (filtered in SQL).

    ``match_ids``, and ``lookup`` on SQLite: at most three round trips for an answer: every tier's
    phones in one statement (from the phone indexes), then the permission check of their contacts
    by primary key (two statements, so no planner can start from the contacts table whatever its
    statistics say), then phones and e-mails. A number nobody has costs one statement. ``lookup``
    on PostgreSQL: one statement (``_answer``), where a round trip costs more than on SQLite.
    """

    def _plan(self, number: str) -> tuple[tuple[str, ...], dict[str, Any]]:
        n = normalise(number, self.region)
        params: dict[str, Any] = {"t": self.p.tenant_id}
        if n.kind == "internal":
            params["ext"] = n.digits_rev
            return ("extension",), params
        tiers: list[str] = []
        if n.e164:
            tiers.append("e164")
            params["e164"] = n.e164
            if n.national:
                tiers.append("national")
                params["national"] = n.national
        digits = n.digits_rev[: self.suffix_digits]
        if len(digits) >= self.suffix_digits:
            tiers.append("suffix")
            params.update(lo=digits, hi=prefix_upper_bound(digits))
        return tuple(tiers), params

    def _match(self, number: str, full: bool) -> tuple[str, list[int], dict[int, Mapping[str, Any]]]:
        """(how, ids in id order, {id: row} when ``full`` and the rows came with the check)."""
        tiers, params = self._plan(number)
        if not tiers:
            return ("none", [], {})
        per_tier: list[set[int]] = [set() for _ in tiers]
        for cid, tier in self.s.execute(_probe(tiers), params):
            per_tier[tier].add(cid)
        candidates = sorted(set().union(*per_tier))
        if not candidates:
            return ("none", [], {})
        full = full and len(candidates) <= FULL_ROWS_UP_TO
        rows: dict[int, Mapping[str, Any]] = {}
        if full:
            rows = {r["id"]: r for r in self.s.execute(_visible(self.p, True), {"ids": candidates}).mappings()}
            visible = set(rows)
        else:
            visible = set(self.s.execute(_visible(self.p, False), {"ids": candidates}).scalars())
        for name, found in zip(tiers, per_tier, strict=True):
            ids = sorted(found & visible)[:CONTACTS_PER_TIER]
            if not ids:
                continue
            if name == "suffix" and len(ids) > 1:
                return ("ambiguous", [], {})
            return (name, ids, rows)
        return ("none", [], {})

    def match_ids(self, number: str) -> tuple[str, list[int]]:
        """(how it matched, contact ids): ``extension``, ``e164``, ``national``, ``suffix``, ``ambiguous``, ``none``."""
        how, ids, _ = self._match(number, full=False)
        return how, ids

    def lookup(self, number: str) -> dict[str, Any]:
        if self.s.get_bind().dialect.name == "postgresql":
            return self._lookup_one_statement(number)
        how, ids, rows = self._match(number, full=True)
        found: Sequence[Mapping[str, Any]] = [rows[i] for i in ids] if rows else (
            self.s.execute(_visible(self.p, True), {"ids": ids}).mappings().all() if ids else [])
        found = sorted(found, key=lambda r: (r["sort_key"], r["id"]))
        contacts = ContactRepository(self.s, self.p).hydrate(found, light=True) if found else []
        return {"number": number, "e164": normalise(number, self.region).e164,
                "match": how if ids or how == "ambiguous" else "none", "contacts": contacts}

    def _lookup_one_statement(self, number: str) -> dict[str, Any]:
        """PostgreSQL: :meth:`lookup` in one round trip (``_answer``)."""
        tiers, params = self._plan(number)
        found: list[Mapping[str, Any]] = []
        how = "none"
        if tiers:
            found = self.s.execute(_answer(self.p, tiers), params).mappings().all()
        if found:
            best = found[0]["tier"]
            how, found = tiers[best], [r for r in found if r["tier"] == best]
            if how == "suffix" and len(found) > 1:
                how, found = "ambiguous", []
            found = sorted(found[:CONTACTS_PER_TIER], key=lambda r: (r["sort_key"], r["id"]))
        contacts = ContactRepository(self.s, self.p).hydrate(found, light=True) if found else []
        return {"number": number, "e164": normalise(number, self.region).e164, "match": how, "contacts": contacts}
