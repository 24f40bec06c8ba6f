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

import json
import re
from collections.abc import Callable, Hashable, Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    String,
    and_,
    any_,
    bindparam,
    column,
    exists,
    false,
    func,
    literal,
    literal_column,
    or_,
    select,
    table,
    text,
    union_all,
)
from sqlalchemy.dialects.postgresql import ARRAY

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
DENSE = 4  # PostgreSQL: a substring estimated at more than this many times a count's cap is not counted
MAX_VALUES = 24  # distinct last names / companies of a prefix read one by one in name order
CHUNK = 200
FTS = table("contacts_fts", column("rowid"))

Cols = Any  # a column namespace: ``C.c`` or a subquery's ``.c``


class _Walked:
    """The columns of a name-order walk's subquery (always aliased ``WALK_ALIAS``) by name, so that a
    page builds its condition on them once for all its walks. Qualified names: a correlated
    ``exists`` inside the condition must reach the walk's ``id``, not its own table's."""

    def __init__(self, alias: str) -> None:
        for name in ("id", "sort_key", "last_key", "company_key", "search_text"):
            setattr(self, name, literal_column(f"{alias}.{name}", BigInteger() if name == "id" else String()))


WALK_ALIAS = "walk"
WALKED = _Walked(WALK_ALIAS)


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
    # Several words: for the rows of one last name / company value, the ``sort_key`` prefixes that
    # hold every match, and whether every row there matches (or None). Arguments: the key column, the
    # value, and whether the other key (company / last name) has no value starting with a prefix.
    narrow: Callable[[str, str, Callable[[str], bool]], tuple[list[str], bool] | None] | None = None
    _built: dict[tuple[int, bool], ColumnElement[bool]] = field(default_factory=dict, repr=False)

    def where(self, c: Cols, opaque: bool) -> ColumnElement[bool]:
        """``cond`` on ``c`` (the table's columns or a walk's, ``WALKED``), built once per page and reused
        by every statement of the page (a several-word condition is ~30 range terms: building it for
        each of a page's reads and walks was a quarter of a page's Python time)."""
        if c is not C.c and c is not WALKED:
            return self.cond(c, opaque)
        got = self._built.get((id(c), opaque))
        if got is None:
            got = self._built[(id(c), opaque)] = self.cond(c, opaque)
        return got


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
    def narrow(col: str, value: str, none_other: Callable[[str], bool]) -> tuple[list[str], bool] | None:
        """A row with ``col = value`` matches if it matches every word (its display name, this value or
        its other key starts with the word), or the whole query likewise; the rows matching the whole
        query by display name are in every cover anyway (``whole``). When the value starts with neither
        the query nor some word, and no other key starts with that word, the other matches' display
        names start with it: one range of name order ("smith j": the J... Smiths, not every Smith),
        and with one such word every row there matches."""
        unmatched = [w for w in words if not value.startswith(w)]
        if substring or addressy or value.startswith(key) or not unmatched:
            return None
        word = max(unmatched, key=len)
        if not none_other(word):
            return None
        return [sort_prefix(word)], len(unmatched) == 1

    # Several words rarely match densely all over name order: no name-order walk, the ranges instead.
    return Plan(words_cond, False, [sort_prefix(key), *(sort_prefix(w) for w in dict.fromkeys(words))], covers,
                narrow=narrow)


Pos = tuple[str, int]  # (sort_key, id)


def _after(c: Cols, after: Pos | None) -> list[ColumnElement[bool]]:
    if after is None:
        return []
    key, cid = after
    return [or_(c.sort_key > key, and_(c.sort_key == key, c.id > cid))]


def _walk_terms(base: list[ColumnElement[bool]], after: Pos | None, bound: Pos | None,
                prefix: str | None = None) -> list[ColumnElement[bool]]:
    """A walk's range of name order: the base filters, after ``after``, up to ``bound``, in ``prefix``."""
    terms = [*base, *_after(C.c, after), *_upto(C.c, bound)]
    if prefix is not None:
        terms.append(_range(C.c.sort_key, prefix))
    return terms


def _upto(c: Cols, bound: Pos | None) -> list[ColumnElement[bool]]:
    if bound is None:
        return []
    key, cid = bound
    return [c.sort_key <= key, or_(c.sort_key < key, and_(c.sort_key == key, c.id <= cid))]


class SearchPager:
    """Runs a search page for a repository (its session, principal and base filters)."""

    def __init__(self, session: Any, base: list[ColumnElement[bool]], dialect: str,
                 children: Callable[[Any], list[Any]] | None = None, children_key: Hashable = None) -> None:
        self.s, self.base = session, base
        self.dialect = dialect if dialect in WALK else "postgresql"
        self.children = children  # extra columns of the page's rows (PostgreSQL: phones, e-mails... as JSON)
        self.children_key = children_key  # what ``children``'s columns depend on (the principal)
        self._seen_values: dict[tuple[str, str, int], list[Any]] = {}

    def _execute(self, stmt: Any, params: Any = None) -> Any:
        """Core statements on the session's connection (its transaction), without the ORM's
        per-statement work: a page runs up to ~15 of them."""
        return self.s.connection().execute(stmt, params)

    def page(self, tenant_id: int, q: str, match: str, after: Pos | None, limit: int) -> list[Mapping[str, Any]]:
        """Up to ``limit + 1`` rows after ``after``, in name order."""
        p = plan(tenant_id, q, match)
        if p is None:
            return []
        n = limit + 1
        # the last-name / company ranges the plan will read value by value, in one round trip: a
        # substring's prefixes, and every word's of several (a single word's are asked only if the
        # display-name range is small: a dense "m" stops there)
        several = p.covers if p.covers and len(p.covers) > 1 else []
        self._prefetch_values([src for src in (*p.prefixes, *(src for cover in several for src in cover))
                               if src.kind == "key" and src.col in ("last_key", "company_key")], tenant_id)
        found: dict[int, str] = {}
        if p.prefixes and p.covers:
            # Substrings: the name-key prefixes are cheap (one ordered read per last name / company)
            # and bound the name range; the other matches are then looked for before that bound
            # only: by the trigram index on PostgreSQL (with the name range, a small bitmap), by a
            # walk of the covering name-order index on SQLite. The range walks and the prefix reads
            # are one statement.
            parts = [part for prefix in p.ranges for part in self._walk_parts(p, n, after, RANGE_WALK, prefix)]
            for src in p.prefixes:
                values = self._values(src, tenant_id)
                if len(values) <= MAX_VALUES:
                    parts += self._read_parts(p, src, values, n, after, None, tenant_id)
            self._gather(parts, found)
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
                self._gather([part for prefix in p.ranges
                              for part in self._walk_parts(p, n, after, RANGE_WALK, prefix)], found)
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
        else:  # every source of the cover in one statement
            self._gather([part for src, ids in cover
                          for part in self._read_parts(p, src, ids, n, after, bound, tenant_id)], found)
        return self._rows(found, n)

    # ------------------------------------------------------------------ walks
    def _walk(self, p: Plan, found: dict[int, str], n: int, after: Pos | None, rows: int | None = None,
              prefix: str | None = None, bound: Pos | None = None) -> int:
        """Matches among the first ``rows`` rows of name order (of ``prefix``'s range, up to
        ``bound``); every row when ``rows`` is None. Returns how many matched."""
        if rows is not None:
            return self._gather(self._walk_parts(p, n, after, rows, prefix, bound), found)
        terms = [*_walk_terms(self.base, after, bound, prefix), p.where(C.c, True)]
        order = (C.c.sort_key, C.c.id)
        if self.dialect == "postgresql":
            # the rows that fit ``ix_contacts_name_cover`` (read from it alone) and the others (from
            # ``ix_contacts_name_long``), the two ordered streams merged
            both = union_all(*(select(C.c.id, C.c.sort_key).where(*terms, which).order_by(*order).limit(n)
                               for which in (FITS, LONG))).subquery()
            stmt = select(both.c.id, both.c.sort_key).order_by(both.c.sort_key, both.c.id).limit(n)
        else:
            stmt = select(C.c.id, C.c.sort_key).where(*terms).order_by(*order).limit(n)
        return self._gather([stmt], found)

    def _walk_first(self, p: Plan, found: dict[int, str], n: int, after: Pos | None,
                    rows: int, bound: Pos | None = None) -> tuple[int, Pos | None]:
        """The first ``rows`` rows of name order (up to ``bound``): (matches up to where the walk is
        complete, position of the last row walked), the position None when the walk saw every row."""
        terms = _walk_terms(self.base, after, bound)
        # Only the matches come back, in name order as the index yields them, and the walk stops at
        # the page. Numbering the rows instead (row_number(), to learn where the walk ended) cost SQLite
        # the whole window before the first row (20,000 rows: ~20 ms) and PostgreSQL 10-20 % of a
        # page; now only a walk that did not fill the page asks where its last row was (an index-only
        # OFFSET of the same walk).
        fits, longs, walked = self._capped_walk(p, terms, rows, n)
        found.update(fits)
        found.update(longs)
        if len(fits) >= n:  # the page is among these: nothing after the n-th can come first
            return len(fits), None
        mark = self._execute(select(walked.c.sort_key, walked.c.id).offset(rows - 1).limit(1)).first()
        if mark is None:  # the walk saw every row of the range (and the other rows were all read)
            return len(fits) + len(longs), None
        last: Pos = (mark[0], mark[1])
        # Every match up to ``last`` is known if the ``LONG`` read did not stop before it; if it did, its
        # ``n`` matches are all before ``last`` and the page is known anyway.
        return sum(1 for cid, key in (*fits, *longs) if (key, cid) <= last), last

    def _walk_parts(self, p: Plan, n: int, after: Pos | None, rows: int, prefix: str | None = None,
                    bound: Pos | None = None) -> list[Any]:
        """``_walk``'s statement as parts of a UNION ALL of (id, sort_key) (``_gather``)."""
        walk, others, _ = self._capped_walk_parts(p, _walk_terms(self.base, after, bound, prefix), rows, n)
        return [_member(walk), *([] if others is None else [_member(others)])]

    def _gather(self, parts: list[Any], found: dict[int, str]) -> int:
        """Runs the (id, sort_key) selects ``parts`` as one statement (one round trip, one execution's
        overhead) and adds their rows to ``found``; returns how many rows came back."""
        if not parts:
            return 0
        got = self._execute(parts[0] if len(parts) == 1 else union_all(*parts)).all()
        found.update((cid, key) for cid, key in got)
        return len(got)

    def _capped_walk_parts(self, p: Plan, terms: list[ColumnElement[bool]], rows: int,
                           n: int) -> tuple[Any, Any, Any]:
        """``_capped_walk``'s selects: the walk, the read of the rows outside the covering index (None
        on SQLite), and the walked subquery."""
        pg = self.dialect == "postgresql"
        cols = (C.c.id, C.c.sort_key, C.c.last_key, C.c.company_key, C.c.search_text)
        walked = (select(*cols).where(*terms, *([FITS] if pg else [])).order_by(C.c.sort_key, C.c.id)
                  .limit(rows).subquery(WALK_ALIAS))
        # No ORDER BY here: the subquery yields name order and is read lazily, so a dense match stops
        # the walk early (sorting would read all ``rows`` first).
        walk = select(walked.c.id, walked.c.sort_key).where(p.where(WALKED, False)).limit(n)
        if not pg:
            return walk, None, walked
        others = (select(C.c.id, C.c.sort_key).where(*terms, LONG, p.where(C.c, True))
                  .order_by(C.c.sort_key, C.c.id).limit(n))
        return walk, others, walked

    def _capped_walk(self, p: Plan, terms: list[ColumnElement[bool]], rows: int,
                     n: int) -> tuple[list[tuple[int, str]], list[tuple[int, str]], Any]:
        """The matches (up to ``n``, as (id, sort_key), in name order) among the first ``rows`` rows of
        name order with ``terms``; on PostgreSQL also the first ``n`` matches among the rows that do
        not fit the covering index (``LONG``), wherever they are in the range; and the walked subquery.

        PostgreSQL walks only the rows in ``ix_contacts_name_cover`` (an index-only scan: no table page
        per row); the others, few by construction, are read with the condition from
        ``ix_contacts_name_long`` in the same statement. Two plain streams: merging them into one
        ordered walk cost a Merge Append and three more plan nodes per walked row (~20 % of a
        10,000-row walk).
        """
        walk, others, walked = self._capped_walk_parts(p, terms, rows, n)
        if others is None:
            return [(i, k) for i, k in self._execute(walk)], [], walked
        got = self._execute(union_all(walk.add_columns(literal(0)), others.add_columns(literal(1)))).all()
        return [(i, k) for i, k, t in got if t == 0], [(i, k) for i, k, t in got if t == 1], walked

    # ------------------------------------------------------------------ sources
    def _cheapest_cover(self, p: Plan, tenant_id: int, after: Pos | None, bound: Pos | None,
                        quick: bool = False) -> list[tuple[Source, list[Any] | None]] | None:
        """The cover with the fewest candidates (each source counted up to its cap), or None.

        ``quick``: a first look with a small cap, before any walk (sparse queries stop here).
        """
        if not p.covers:
            return None
        counted: dict[Source, tuple[int, int, list[Any] | None]] = {}  # src -> (count, cap used, ids/values)
        if quick and len(p.covers) > 1:
            self._precount(p, tenant_id, after, bound, QUICK, counted)
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
            ids = sorted(set(self._execute(src.ids.limit(cap + 1)).scalars()))
            return len(ids), cap, ids
        if src.kind == "key" and src.col != "sort_key":
            values = self._values(src, tenant_id)
            if len(values) <= MAX_VALUES:  # read per value in name order: cheap however many rows
                return len(values), cap, values
        if src.kind == "key":
            inner = self._key_candidates(src, tenant_id, after, bound, cap)
        elif self.dialect != "sqlite" and not _trigrams(src.term):
            return cap + 1, cap, None  # no trigram to look up: the index would return every row
        elif self.dialect == "sqlite":
            inner = select(literal(1)).select_from(FTS).where(_match(src.term)).limit(cap + 1).subquery()
        elif self._estimate(src.term) > DENSE * cap:
            # Counting a common trigram builds its whole bitmap (``ann`` at 1M contacts: ~28,000 rows,
            # 8-14 ms) only to learn that it is too many: the planner's estimate says so at once. An
            # estimate too low just means counting, as before.
            return cap + 1, cap, None
        else:
            inner = select(literal(1)).where(C.c.tenant_id == tenant_id, _like(C.c, src.term)).limit(cap + 1).subquery()
        return self._execute(select(func.count()).select_from(inner)).scalar_one(), cap, None

    def _key_candidates(self, src: Source, tenant_id: int, after: Pos | None, bound: Pos | None, cap: int) -> Any:
        """Up to ``cap + 1`` rows (a constant each) of a name-key source's range, to be counted."""
        terms = [C.c.tenant_id == tenant_id, _range(C.c[src.col], src.key)]
        if after is not None:
            terms.append(C.c.sort_key >= after[0])
        if bound is not None:
            terms.append(C.c.sort_key <= bound[0])
        return union_all(*(select(literal(1)).where(*terms, *which).limit(cap + 1)
                           for which in self._halves(src.col))).subquery()

    def _precount(self, p: Plan, tenant_id: int, after: Pos | None, bound: Pos | None, cap: int,
                  counted: dict[Source, tuple[int, int, list[Any] | None]]) -> None:
        """``_count`` (up to ``cap``) of every name-key and child source of the plan's covers that needs
        a statement, all in one statement. Counting one by one stops at a cover's first source over its
        cap; with several covers (several words: up to six sources counted) and every count capped
        small, counting them all at once costs less than the round trips it saves. With one cover it
        does not: a dense first source ("m") would make the others be counted for nothing."""
        todo = list(dict.fromkeys(
            src for cover in p.covers or () for src in cover
            if src.kind == "child" or (src.kind == "key" and (src.col == "sort_key"
                                                              or len(self._values(src, tenant_id)) > MAX_VALUES))))
        if len(todo) < 2:
            return
        parts = []
        for i, src in enumerate(todo):
            if src.kind == "child":
                sub = src.ids.limit(cap + 1).subquery()
                parts.append(select(literal(i).label("s"), sub.c.contact_id.label("v")))
            else:
                inner = self._key_candidates(src, tenant_id, after, bound, cap)
                parts.append(select(literal(i).label("s"), func.count().label("v")).select_from(inner))
        got: list[list[Any]] = [[] for _ in todo]
        for i, v in self._execute(union_all(*parts)):
            got[i].append(v)
        for src, values in zip(todo, got, strict=True):
            if src.kind == "child":
                ids = sorted(set(values))
                counted[src] = (len(ids), cap, ids)
            else:
                counted[src] = (values[0], cap, None)

    def _estimate(self, term: str) -> float:
        """PostgreSQL's estimate of the rows whose ``search_text`` contains ``term`` (planning only)."""
        plan = self._execute(text("EXPLAIN (FORMAT JSON) SELECT 1 FROM contacts WHERE search_text LIKE :p "
                                   "ESCAPE '\\'"), {"p": f"%{escape_like(term)}%"}).scalar_one()
        if isinstance(plan, str):
            plan = json.loads(plan)
        return float(plan[0]["Plan"]["Plan Rows"])

    def _read(self, p: Plan, src: Source, ids: list[Any] | None, found: dict[int, str], n: int,
              after: Pos | None, bound: Pos | None, tenant_id: int) -> None:
        """The first ``n`` matches among a (small) source's candidates."""
        self._gather(self._read_parts(p, src, ids, n, after, bound, tenant_id), found)

    def _read_parts(self, p: Plan, src: Source, ids: list[Any] | None, n: int, after: Pos | None,
                    bound: Pos | None, tenant_id: int) -> list[Any]:
        """``_read``'s selects of (id, sort_key), to be run as one UNION ALL with others (``_gather``)."""
        # opaque keys: no planner turns the condition into a bitmap of every match
        terms = [*self.base, p.where(C.c, True), *_after(C.c, after), *_upto(C.c, bound)]
        if src.kind == "child":
            assert ids is not None
            return [select(C.c.id, C.c.sort_key).where(C.c.id.in_(ids[i:i + CHUNK]), *terms)
                    for i in range(0, len(ids), CHUNK)]
        if src.kind == "key" and ids is not None:  # the key's distinct values: one ordered read each
            halves = self._halves(src.col)
            other = "company_key" if src.col == "last_key" else "last_key"

            def none_other(prefix: str) -> bool:
                return not self._values(Source("key", other, prefix), tenant_id)

            parts = []
            plain = [*self.base, *_after(C.c, after), *_upto(C.c, bound)]  # without the condition
            for value in ids:
                narrowed = p.narrow(src.col, value, none_other) if p.narrow and src.col in ("last_key", "company_key") \
                    else None
                ranges, exact = narrowed if narrowed else ([None], False)
                for prefix in ranges:
                    where = [C.c[src.col] == value, *(plain if exact else terms), *halves[0]]
                    if prefix is not None:
                        where.append(_range(C.c.sort_key, prefix))
                    parts.append(_member(_covering(select(C.c.id, C.c.sort_key).where(*where)
                                                   .order_by(C.c.sort_key, C.c.id).limit(n), src.col)))
            for which in halves[1:] if ids else ():  # rows too long for the covering index (``_values`` has
                # their values too: none at all means none of them either)
                parts.append(_member(select(C.c.id, C.c.sort_key).where(_range(C.c[src.col], src.key), *terms, *which)
                                     .order_by(C.c.sort_key, C.c.id).limit(n)))
            return parts
        if src.kind == "key":
            return [_member(_covering(select(C.c.id, C.c.sort_key).where(_range(C.c[src.col], src.key), *terms, *which)
                                      .order_by(C.c.sort_key.concat(""), C.c.id).limit(n), src.col))
                    for which in self._halves(src.col)]
        if self.dialect == "sqlite":
            where = C.c.id.in_(select(FTS.c.rowid).where(_match(src.term)))
        else:
            where = _like(C.c, src.term)
        return [_member(select(C.c.id, C.c.sort_key).where(where, *terms)
                        .order_by(C.c.sort_key.concat(""), C.c.id).limit(n))]

    def _values(self, src: Source, tenant_id: int) -> list[Any]:
        """Up to ``MAX_VALUES + 1`` distinct values of the key in the source's range (a skip scan:
        one index probe per value); asked once per page (``_prefetch_values`` asks for a plan's all)."""
        memo = (src.col, src.key, tenant_id)
        if memo not in self._seen_values:
            self._prefetch_values([src], tenant_id)
        return self._seen_values[memo]

    def _prefetch_values(self, sources: list[Source], tenant_id: int) -> None:
        """``_values`` of several sources in one statement (one skip scan each)."""
        todo = list(dict.fromkeys((src.col, src.key) for src in sources
                                  if (src.col, src.key, tenant_id) not in self._seen_values))
        if not todo:
            return
        ctes, selects, params = [], [], {"t": tenant_id, "m": MAX_VALUES + 1}
        for i, (col, key) in enumerate(todo):
            # PostgreSQL: a skip scan of the covering index (the rows that fit it: nearly all), plus the
            # values of the other rows (``LONG``: few, all in ix_contacts_name_long), so none is missed.
            halves = self._halves(col)
            only = f" AND {halves[0][0]}" if halves[0] else ""
            lo, hi = f":lo{i}", f":hi{i}"
            params.update({f"lo{i}": key, f"hi{i}": prefix_upper_bound(key)})
            ctes.append(f"""v{i}(k) AS (
              SELECT (SELECT {col} FROM contacts WHERE tenant_id = :t AND {col} >= {lo} AND {col} < {hi}{only}
                      ORDER BY {col} LIMIT 1)
              UNION ALL
              SELECT (SELECT {col} FROM contacts WHERE tenant_id = :t AND {col} > v{i}.k AND {col} < {hi}{only}
                      ORDER BY {col} LIMIT 1) FROM v{i} WHERE v{i}.k IS NOT NULL)""")
            selects.append(f"SELECT {i} AS s, k FROM (SELECT k FROM v{i} WHERE k IS NOT NULL LIMIT :m) AS f{i}")
            selects += [f"SELECT {i} AS s, k FROM (SELECT {col} AS k FROM contacts WHERE tenant_id = :t AND "
                        f"{col} >= {lo} AND {col} < {hi} AND {which[0]} LIMIT :m) AS l{i}" for which in halves[1:]]
        stmt = text(f"WITH RECURSIVE {', '.join(ctes)} {' UNION ALL '.join(selects)}")
        got: list[list[Any]] = [[] for _ in todo]
        for i, value in self._execute(stmt, params):
            got[i].append(value)
        for (col, key), values in zip(todo, got, strict=True):
            self._seen_values[(col, key, tenant_id)] = list(dict.fromkeys(values))[:MAX_VALUES + 1]

    def _halves(self, col: str) -> list[list[Any]]:
        """The predicates of the partial indexes holding ``col``'s rows, one read each: PostgreSQL's
        last-name and company keys are in ``ix_contacts_*_cover`` (the rows that fit a b-tree entry,
        with the permission columns; migration 0007), the other rows in ``ix_contacts_name_long``
        (few by construction: read by range). Otherwise one read."""
        if self.dialect == "postgresql" and col in ("last_key", "company_key"):
            return [[FITS], [LONG]]
        return [[]]

    # ------------------------------------------------------------------ rows
    def _rows(self, found: dict[int, str], n: int) -> list[Mapping[str, Any]]:
        ids = [i for _, i in _ordered(found)[:n]]
        if not ids:
            return []
        rows = self._execute(self._rows_statement(), {"page_ids": ids}).mappings().all()
        return sorted(rows, key=lambda r: (r["sort_key"], r["id"]))

    def _rows_statement(self) -> Any:
        """The statement reading a page's rows (and their children) by id, with the page's ids as the
        parameter ``page_ids``. Built once per base filter and principal and kept: building it, and
        SQLAlchemy's cache key of it, cost about 2 ms a page (half of reading the rows)."""
        key = (self.dialect, self.children_key if self.children else None, statement_key(and_(*self.base)))
        stmt = _ROWS.get(key) if key[-1] is not None else None
        if stmt is None:
            if self.dialect == "postgresql":  # one statement text whatever the page: prepared, parsed once
                which = C.c.id == any_(bindparam("page_ids", type_=ARRAY(BigInteger)))
            else:
                which = C.c.id.in_(bindparam("page_ids", expanding=True))
            extra = self.children(C.c.id) if self.children else []
            stmt = select(C, *extra).where(which, *self.base)
            if key[-1] is not None:
                if len(_ROWS) >= ROWS_CACHED:
                    _ROWS.clear()
                _ROWS[key] = stmt
        return stmt


#: ``SearchPager._rows_statement``'s statements by (dialect, principal, base filter with its values).
_ROWS: dict[Hashable, Any] = {}
ROWS_CACHED = 512


def statement_key(clause: Any) -> Hashable | None:
    """What identifies ``clause`` with its values: SQLAlchemy's cache key (the SQL it compiles to, bound
    values left out) and the bound values; None when SQLAlchemy cannot key it."""
    ck = clause._generate_cache_key()
    if ck is None:
        return None

    def frozen(v: Any) -> Hashable:
        if isinstance(v, list | tuple | set | frozenset):
            return (type(v).__name__, tuple(frozen(x) for x in v))
        return v

    try:
        values = tuple(frozen(b.effective_value) for b in ck.bindparams)
        hash(values)
    except TypeError:  # an unhashable bound value (a dict...): not kept
        return None
    return ck.key, values


def _ordered(found: dict[int, str]) -> list[Pos]:
    return sorted((k, i) for i, k in found.items())


#: PostgreSQL: the rows whose name keys and ``search_text`` fit a b-tree entry are in
#: ``ix_contacts_name_cover`` with every column a walk reads, the (rare) others in
#: ``ix_contacts_name_long``. The same predicates as the indexes' (models / migration 0005), constant
#: included: a partial index is used only when the query's WHERE implies its predicate.
FITS = text(f"{KEY_BYTES} <= {COVER_BYTES}")
LONG = text(f"{KEY_BYTES} > {COVER_BYTES}")


def _member(stmt: Any) -> Any:
    """``stmt`` (with its ORDER BY / LIMIT) as a member of a UNION ALL of (id, sort_key): SQLite allows
    neither in a compound member, so it is read through a subquery."""
    sub = stmt.subquery()
    return select(sub.c.id, sub.c.sort_key)


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
