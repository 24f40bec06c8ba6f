"""Contact search pages: the first rows of name order that match, found without scanning the tenant.

A search is a condition (``Plan.cond``) plus ways to find the rows that can match it:

1. **Range walks.** A display-name prefix is a range of name order (``sort_key``): walking it in
   order yields its matches at once. Multi-word queries walk the range of each word ("smith j":
   the J… first names, checking "smith" on each row).
2. **Name-order walk.** The first ``WALK`` rows of name order (of the rows the principal may read)
   are checked against the condition. When matches are dense (a common last name, a letter) this
   finds the whole page, and it is exact: nothing after those rows can come first. On SQLite the
   walk reads only ``ix_contacts_name_walk``, which carries every column the condition needs.
3. **Sources** for sparse matches: index ranges over name keys, the FTS5 trigram table (SQLite) or
   the pg_trgm index (PostgreSQL), and the phone / e-mail indexes. Every matching row is in one of
   a plan's sources (a cover); each source is counted with a bound first, so a source that turns out
   dense never sorts thousands of rows, and the page found so far bounds the name range still to
   search. If no cover is small enough, the walk continues to the end of that range.

Every query carries the permission filter and the other filters (``base``) in SQL. Semantics: a
word matches the start of the display name, last name, company or (for queries with ``@`` or
``.``) an e-mail address; a single word of 3+ characters also matches anywhere in names, company,
e-mails and numbers (``match="substring"`` for any length, ``"prefix"`` for never); several words
must each match the start of one of those, or the whole query the start of one.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import (
    ColumnElement,
    and_,
    case,
    column,
    exists,
    false,
    func,
    literal,
    or_,
    select,
    table,
    text,
    union_all,
)

from plugin_host.models import COVER_BYTES, KEY_BYTES
from plugin_host.phones import digits_of
from plugin_host.repo.query import EM, PH, PHONEISH, C
from plugin_host.text import escape_like, fold, prefix_upper_bound, sort_prefix

CAP = 5000  # candidates a phone / e-mail source may have to be read (not walked)
KEY_CAP = {"sqlite": 30000, "postgresql": 3000}  # name-key candidates (index-only on SQLite)
SQLITE_KEY_INDEX = {"sort_key": "ix_contacts_name_walk", "last_key": "ix_contacts_last_walk",
                    "company_key": "ix_contacts_company_walk"}
TEXT_CAP = {"sqlite": 8000, "postgresql": 3000}  # substring candidates (each is a row read)
WALK = {"sqlite": 20000, "postgresql": 20000}  # rows of name order checked before any source
RANGE_WALK = 20000  # rows of one name range walked
QUICK = 1000  # candidates counted before any walk
MAX_VALUES = 24  # distinct last names / companies of a prefix read one by one in name order
CHUNK = 200
FTS = table("contacts_fts", column("rowid"))

Cols = Any  # a column namespace: ``C.c`` or a subquery's ``.c``


def _range(col: Any, key: str) -> ColumnElement[bool]:
    return and_(col >= key, col < prefix_upper_bound(key))


@dataclass(frozen=True)
class Source:
    """Index-backed candidates: ``key`` (a contacts column range), ``text`` (substring) or ``child``."""

    kind: str
    col: str = ""
    key: str = ""
    term: str = ""  # text: the folded substring
    ids: Any = field(default=None, compare=False, hash=False)  # child: Select of contact ids


@dataclass
class Plan:
    cond: Callable[[Cols, bool], ColumnElement[bool]]  # (columns, opaque) -> condition
    walkable: bool  # no correlated subquery: cheap to check on every walked row
    ranges: list[str]  # sort_key prefixes to walk
    covers: list[list[Source]] | None  # alternatives; each covers every match. None: walk only
    prefixes: list[Source] = field(default_factory=list)  # name-key sources whose rows all match


def _opaque(col: Any, opaque: bool) -> Any:
    """``col || ''`` keeps planners from range-scanning a key index and sorting every match."""
    return col.concat("") if opaque else col


def _prefix_cond(c: Cols, w: str, addressy: bool, tenant_id: int, opaque: bool) -> ColumnElement[bool]:
    parts = [_range(_opaque(c.sort_key, opaque), sort_prefix(w)), _range(_opaque(c.last_key, opaque), w),
             _range(_opaque(c.company_key, opaque), w)]
    if addressy:
        parts.append(exists().where(EM.c.contact_id == c.id, EM.c.tenant_id == tenant_id,
                                    _range(EM.c.address_key, w)))
    return or_(*parts)


def _like(c: Cols, w: str, opaque: bool = False) -> ColumnElement[bool]:
    return _opaque(c.search_text, opaque).like(f"%{escape_like(w)}%", escape="\\")


def _prefix_sources(tenant_id: int, w: str, addressy: bool) -> list[Source]:
    out = [Source("key", "sort_key", sort_prefix(w)), Source("key", "last_key", w), Source("key", "company_key", w)]
    if addressy:
        out.append(Source("child", "email", w, ids=select(EM.c.contact_id).where(
            EM.c.tenant_id == tenant_id, _range(EM.c.address_key, w))))
    return out


def plan(tenant_id: int, q: str, match: str) -> Plan | None:
    """The condition and the ways to find its rows, for the query ``q``."""
    raw = q.strip()
    digits = digits_of(raw)
    if PHONEISH.match(raw) and len(digits) >= 3:
        ranges = or_(_range(PH.c.e164, "+" + digits), _range(PH.c.national, digits.lstrip("0") or digits))
        substring = match != "prefix"

        def phone_cond(c: Cols, opaque: bool) -> ColumnElement[bool]:
            has = exists().where(PH.c.contact_id == c.id, PH.c.tenant_id == tenant_id, ranges)
            return or_(has, _like(c, digits, opaque)) if substring else has

        cover = [Source("child", "phone", digits, ids=select(PH.c.contact_id).where(PH.c.tenant_id == tenant_id,
                                                                                     ranges))]
        if substring:
            cover.append(Source("text", term=digits))
        return Plan(phone_cond, False, [], [cover])
    key = fold(raw)
    if not key:
        return None
    addressy = "@" in raw or "." in raw
    words = key.split()
    if len(words) == 1:
        if match == "substring" or (match == "auto" and len(key) >= 3):
            def substring_cond(c: Cols, opaque: bool) -> ColumnElement[bool]:
                return or_(_range(_opaque(c.sort_key, opaque), sort_prefix(key)), _like(c, key, opaque))

            covers = None
            if len(key) >= 3:
                covers = [[Source("key", "sort_key", sort_prefix(key)), Source("text", term=key)]]
            return Plan(substring_cond, True, [sort_prefix(key)], covers,
                        [Source("key", "last_key", key), Source("key", "company_key", key)])

        def prefix_cond(c: Cols, opaque: bool) -> ColumnElement[bool]:
            return _prefix_cond(c, key, addressy, tenant_id, opaque)

        return Plan(prefix_cond, not addressy, [sort_prefix(key)], [_prefix_sources(tenant_id, key, addressy)])

    substring = match == "substring"

    def words_cond(c: Cols, opaque: bool) -> ColumnElement[bool]:
        if substring:
            each = [_like(c, w, opaque) for w in words]
        else:
            each = [_prefix_cond(c, w, addressy, tenant_id, opaque) for w in words]
        return or_(_prefix_cond(c, key, addressy, tenant_id, opaque), and_(*each))

    whole = _prefix_sources(tenant_id, key, addressy)
    if substring:
        longest = max(words, key=len)
        covers = [[*whole, Source("text", term=longest)]] if len(longest) >= 3 else None
    else:
        covers = [whole + _prefix_sources(tenant_id, w, addressy) for w in dict.fromkeys(words)]
    # Several words rarely match densely all over name order: no name-order walk, the ranges instead.
    return Plan(words_cond, False, [sort_prefix(key), *(sort_prefix(w) for w in dict.fromkeys(words))], covers)


Pos = tuple[str, int]  # (sort_key, id)


def _after(c: Cols, after: Pos | None) -> list[ColumnElement[bool]]:
    if after is None:
        return []
    key, cid = after
    return [or_(c.sort_key > key, and_(c.sort_key == key, c.id > cid))]


def _upto(c: Cols, bound: Pos | None) -> list[ColumnElement[bool]]:
    if bound is None:
        return []
    key, cid = bound
    return [c.sort_key <= key, or_(c.sort_key < key, and_(c.sort_key == key, c.id <= cid))]


class SearchPager:
    """Runs a search page for a repository (its session, principal and base filters)."""

    def __init__(self, session: Any, base: list[ColumnElement[bool]], dialect: str) -> None:
        self.s, self.base = session, base
        self.dialect = dialect if dialect in WALK else "postgresql"

    def page(self, tenant_id: int, q: str, match: str, after: Pos | None, limit: int) -> list[Mapping[str, Any]]:
        """Up to ``limit + 1`` rows after ``after``, in name order."""
        p = plan(tenant_id, q, match)
        if p is None:
            return []
        n = limit + 1
        found: dict[int, str] = {}
        if p.prefixes and p.covers:
            for prefix in p.ranges:
                self._walk(p, found, n, after, rows=RANGE_WALK, prefix=prefix)
            # Substrings: the name-key prefixes are cheap (one ordered read per last name / company)
            # and bound the name range; the other matches are then looked for before that bound
            # only: by the trigram index on PostgreSQL (with the name range, a small bitmap), by a
            # walk of the covering name-order index on SQLite.
            for src in p.prefixes:
                values = self._values(src, tenant_id)
                if len(values) <= MAX_VALUES:
                    self._read(p, src, values, found, n, after, None, tenant_id)
            best = _ordered(found)
            if len(best) >= n:
                for src in p.covers[0]:
                    if src.kind != "text":
                        continue
                    if self.dialect != "sqlite" and _trigrams(src.term):
                        # the covering index up to the bound first (often a few thousand rows, read
                        # from the index alone); the trigram bitmap for what is left of the range
                        matched, last = self._walk_first(p, found, n, after, WALK[self.dialect], bound=best[n - 1])
                        if matched < n and last is not None:
                            self._read(p, src, None, found, n, last, best[n - 1], tenant_id)
                    else:  # "o'b": pg_trgm keeps no trigram of it, its index would return every row
                        self._walk(p, found, n, after, bound=best[n - 1])
                return self._rows(found, n)
            cover = self._cheapest_cover(p, tenant_id, after, None, quick=True)
        else:
            # a small cover answers alone; otherwise the name ranges of the words give a first page
            cover = self._cheapest_cover(p, tenant_id, after, None, quick=True)
            if cover is None:
                for prefix in p.ranges:
                    self._walk(p, found, n, after, rows=RANGE_WALK, prefix=prefix)
        if cover is None:
            if p.walkable:
                matched, last = self._walk_first(p, found, n, after, WALK[self.dialect])
                if matched >= n or last is None:  # the page, or every row was checked
                    return self._rows(found, n)
                after = last  # rows up to here are checked: search only after them
            best = _ordered(found)
            bound = best[n - 1] if len(best) >= n else None
            cover = self._cheapest_cover(p, tenant_id, after, bound)
        else:
            bound = None
        if cover is None:
            self._walk(p, found, n, after, bound=bound)
        else:
            for src, ids in cover:
                self._read(p, src, ids, found, n, after, bound, tenant_id)
        return self._rows(found, n)

    # ------------------------------------------------------------------ walks
    def _walk(self, p: Plan, found: dict[int, str], n: int, after: Pos | None, rows: int | None = None,
              prefix: str | None = None, bound: Pos | None = None) -> int:
        """Matches among the first ``rows`` rows of name order (of ``prefix``'s range, up to
        ``bound``); every row when ``rows`` is None. Returns how many matched."""
        terms = [*self.base, *_after(C.c, after), *_upto(C.c, bound)]
        if prefix is not None:
            terms.append(_range(C.c.sort_key, prefix))
        if rows is None:
            if self.dialect == "postgresql":
                sub = self._name_order([*terms, p.cond(C.c, True)], n)
                stmt = select(sub.c.id, sub.c.sort_key)
            else:
                stmt = (select(C.c.id, C.c.sort_key).where(*terms, p.cond(C.c, True))
                        .order_by(C.c.sort_key, C.c.id).limit(n))
        else:
            sub = self._name_order(terms, rows)
            # No ORDER BY here: the subquery yields name order and is read lazily, so a dense match
            # stops the walk early (sorting would read all ``rows`` first). Sorted in Python.
            stmt = select(sub.c.id, sub.c.sort_key).where(p.cond(sub.c, False)).limit(n)
        got = self.s.execute(stmt).all()
        found.update((i, k) for i, k in got)
        return len(got)

    def _walk_first(self, p: Plan, found: dict[int, str], n: int, after: Pos | None,
                    rows: int, bound: Pos | None = None) -> tuple[int, Pos | None]:
        """The first ``rows`` rows of name order (up to ``bound``): (matches, position of the last
        row checked), the position None when fewer rows exist (the walk saw them all)."""
        sub = self._name_order([*self.base, *_after(C.c, after), *_upto(C.c, bound)], rows, numbered=True)
        cond = p.cond(sub.c, False)
        # read lazily in name order (no ORDER BY); the row numbered ``rows`` marks how far it got
        stmt = (select(sub.c.id, sub.c.sort_key, sub.c.rn, case((cond, 1), else_=0))
                .where(or_(cond, sub.c.rn == rows)).limit(n + 1))
        matched, last = 0, None
        for cid, key, rn, hit in self.s.execute(stmt):
            if hit and matched < n:
                found[cid] = key
                matched += 1
            if rn == rows:
                last = (key, cid)
        return matched, last

    def _name_order(self, terms: list[ColumnElement[bool]], rows: int, numbered: bool = False) -> Any:
        """The first ``rows`` rows of name order with ``terms``, with the columns a search condition
        reads (and ``rn``, their number in name order, when ``numbered``).

        PostgreSQL: the rows that fit ``ix_contacts_name_cover`` are read from it alone (an index
        only scan: no table page per row), the others from ``ix_contacts_name_long``, and the two
        ordered streams merged (Merge Append), lazily as before.
        """
        cols = (C.c.id, C.c.sort_key, C.c.last_key, C.c.company_key, C.c.search_text)
        if self.dialect != "postgresql":
            extra = [func.row_number().over(order_by=(C.c.sort_key, C.c.id)).label("rn")] if numbered else []
            return select(*cols, *extra).where(*terms).order_by(C.c.sort_key, C.c.id).limit(rows).subquery()
        parts = [select(*cols).where(*terms, which).order_by(C.c.sort_key, C.c.id).limit(rows)
                 for which in (FITS, LONG)]
        both = union_all(*parts).subquery()
        extra = [func.row_number().over(order_by=(both.c.sort_key, both.c.id)).label("rn")] if numbered else []
        return select(both, *extra).order_by(both.c.sort_key, both.c.id).limit(rows).subquery()

    # ------------------------------------------------------------------ sources
    def _cheapest_cover(self, p: Plan, tenant_id: int, after: Pos | None, bound: Pos | None,
                        quick: bool = False) -> list[tuple[Source, list[Any] | None]] | None:
        """The cover with the fewest candidates (each source counted up to its cap), or None.

        ``quick``: a first look with a small cap, before any walk (sparse queries stop here).
        """
        if not p.covers:
            return None
        counted: dict[Source, tuple[int, int, list[Any] | None]] = {}  # src -> (count, cap used, ids/values)
        best: tuple[int, list[tuple[Source, list[Any] | None]]] | None = None
        for cover in p.covers:
            total, chosen = 0, []
            for src in cover:
                if quick and src.kind == "text" and self.dialect != "sqlite" and not _trigrams(src.term):
                    break  # pg_trgm has nothing to look up: walk first
                cap = QUICK if quick else (CAP if src.kind == "child" else
                                           (KEY_CAP if src.kind == "key" else TEXT_CAP)[self.dialect])
                if best is not None:
                    cap = min(cap, best[0] - total)
                have = counted.get(src)
                if have is None or (have[0] > have[1] and have[1] < cap):  # unknown, or capped lower
                    have = counted[src] = self._count(src, tenant_id, after, bound, cap)
                count, _, ids = have
                if count > cap:
                    break
                total += count
                chosen.append((src, ids))
            else:
                if best is None or total < best[0]:
                    best = (total, chosen)
        return None if best is None else best[1]

    def _count(self, src: Source, tenant_id: int, after: Pos | None, bound: Pos | None,
               cap: int) -> tuple[int, int, list[Any] | None]:
        """(candidates up to ``cap + 1``, ``cap``, the ids of a child source or the distinct values
        of a name key read value by value)."""
        if src.kind == "child":
            ids = sorted(set(self.s.execute(src.ids.limit(cap + 1)).scalars()))
            return len(ids), cap, ids
        if src.kind == "key" and src.col != "sort_key":
            values = self._values(src, tenant_id)
            if len(values) <= MAX_VALUES:  # read per value in name order: cheap however many rows
                return len(values), cap, values
        if src.kind == "key":
            terms = [C.c.tenant_id == tenant_id, _range(C.c[src.col], src.key)]
            if after is not None:
                terms.append(C.c.sort_key >= after[0])
            if bound is not None:
                terms.append(C.c.sort_key <= bound[0])
            inner = select(literal(1)).where(*terms).limit(cap + 1).subquery()
        elif self.dialect != "sqlite" and not _trigrams(src.term):
            return cap + 1, cap, None  # no trigram to look up: the index would return every row
        elif self.dialect == "sqlite":
            inner = select(literal(1)).select_from(FTS).where(_match(src.term)).limit(cap + 1).subquery()
        else:
            inner = select(literal(1)).where(C.c.tenant_id == tenant_id, _like(C.c, src.term)).limit(cap + 1).subquery()
        return self.s.execute(select(func.count()).select_from(inner)).scalar_one(), cap, None

    def _read(self, p: Plan, src: Source, ids: list[Any] | None, found: dict[int, str], n: int,
              after: Pos | None, bound: Pos | None, tenant_id: int) -> None:
        """The first ``n`` matches among a (small) source's candidates."""
        # opaque keys: no planner turns the condition into a bitmap of every match
        terms = [*self.base, p.cond(C.c, True), *_after(C.c, after), *_upto(C.c, bound)]
        if src.kind == "child":
            assert ids is not None
            for i in range(0, len(ids), CHUNK):
                stmt = select(C.c.id, C.c.sort_key).where(C.c.id.in_(ids[i:i + CHUNK]), *terms)
                found.update((cid, k) for cid, k in self.s.execute(stmt))
            return
        if src.kind == "key" and ids is not None:  # the key's distinct values: one ordered read each
            parts = []
            for value in ids:
                sub = _covering(select(C.c.id, C.c.sort_key).where(C.c[src.col] == value, *terms)
                                .order_by(C.c.sort_key, C.c.id).limit(n), src.col).subquery()
                parts.append(select(sub.c.id, sub.c.sort_key))
            if parts:
                found.update((cid, k) for cid, k in self.s.execute(union_all(*parts)))
            return
        if src.kind == "key":
            stmt = _covering(select(C.c.id, C.c.sort_key).where(_range(C.c[src.col], src.key), *terms)
                             .order_by(C.c.sort_key.concat(""), C.c.id).limit(n), src.col)
            found.update((cid, k) for cid, k in self.s.execute(stmt))
            return
        if self.dialect == "sqlite":
            where = C.c.id.in_(select(FTS.c.rowid).where(_match(src.term)))
        else:
            where = _like(C.c, src.term)
        stmt = (select(C.c.id, C.c.sort_key).where(where, *terms)
                .order_by(C.c.sort_key.concat(""), C.c.id).limit(n))
        found.update((cid, k) for cid, k in self.s.execute(stmt))

    def _values(self, src: Source, tenant_id: int) -> list[Any]:
        """Up to ``MAX_VALUES + 1`` distinct values of the key in the source's range (a skip scan:
        one index probe per value)."""
        col = src.col
        stmt = text(f"""
            WITH RECURSIVE v(k) AS (
              SELECT (SELECT {col} FROM contacts WHERE tenant_id = :t AND {col} >= :lo AND {col} < :hi
                      ORDER BY {col} LIMIT 1)
              UNION ALL
              SELECT (SELECT {col} FROM contacts WHERE tenant_id = :t AND {col} > v.k AND {col} < :hi
                      ORDER BY {col} LIMIT 1) FROM v WHERE v.k IS NOT NULL
            ) SELECT k FROM v WHERE k IS NOT NULL LIMIT :m""")
        return list(self.s.execute(stmt, {"t": tenant_id, "lo": src.key, "hi": prefix_upper_bound(src.key),
                                          "m": MAX_VALUES + 1}).scalars())

    # ------------------------------------------------------------------ rows
    def _rows(self, found: dict[int, str], n: int) -> list[Mapping[str, Any]]:
        ids = [i for _, i in _ordered(found)[:n]]
        if not ids:
            return []
        rows = self.s.execute(select(C).where(C.c.id.in_(ids), *self.base)).mappings().all()
        return sorted(rows, key=lambda r: (r["sort_key"], r["id"]))


def _ordered(found: dict[int, str]) -> list[Pos]:
    return sorted((k, i) for i, k in found.items())


#: PostgreSQL: the rows whose name keys and ``search_text`` fit a b-tree entry are in
#: ``ix_contacts_name_cover`` with every column a walk reads, the (rare) others in
#: ``ix_contacts_name_long``. The same predicates as the indexes' (models / migration 0005), constant
#: included: a partial index is used only when the query's WHERE implies its predicate.
FITS = text(f"{KEY_BYTES} <= {COVER_BYTES}")
LONG = text(f"{KEY_BYTES} > {COVER_BYTES}")


def _covering(stmt: Any, col: str) -> Any:
    """On SQLite, read through the covering twin of ``col``'s index (its statistics look like the
    empty stand-in's, so the planner would not pick it alone)."""
    return stmt.with_hint(C, f"INDEXED BY {SQLITE_KEY_INDEX[col]}", "sqlite") if col in SQLITE_KEY_INDEX else stmt


def _trigrams(term: str) -> bool:
    """Whether pg_trgm can use ``term``: it indexes runs of 3+ letters or digits only."""
    return re.search(r"[^\W_]{3}", term) is not None


def _match(term: str) -> Any:
    """FTS5 trigram phrase for ``term`` (3+ characters)."""
    return text("contacts_fts MATCH :m").bindparams(m='"' + term.replace('"', '""') + '"')


def search_condition(tenant_id: int, q: str, match: str) -> ColumnElement[bool]:
    """The search as one SQL condition on ``contacts`` (counts, dynamic lists)."""
    p = plan(tenant_id, q, match)
    return p.cond(C.c, False) if p is not None else false()
