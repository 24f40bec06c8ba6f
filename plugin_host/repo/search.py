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

import itertools
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
from sqlalchemy.sql import visitors

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


def _range(col: Any, name: str) -> ColumnElement[bool]:
    """``col`` in a prefix range given as the parameters ``<name>_lo`` / ``<name>_hi`` (``_Params.range``)."""
    return and_(col >= bindparam(f"{name}_lo"), col < bindparam(f"{name}_hi"))


class _Params(dict[str, Any]):
    """A plan's parameter values by name. Statements hold only named parameters, no values (``_bp``), so
    that a statement built once serves every query of its shape (``SearchPager._run``)."""

    def range(self, name: str, key: str) -> str:
        self[f"{name}_lo"], self[f"{name}_hi"] = key, prefix_upper_bound(key)
        return name


def _bp(name: str) -> Any:
    """A parameter that must be given at execution (no value of its own: a kept statement can never run
    with a value left over from the query it was built for)."""
    return bindparam(name)


@dataclass(frozen=True)
class Source:
    """Index-backed candidates: ``key`` (a contacts column range), ``text`` (substring) or ``child``.

    ``name`` is the source's parameter prefix (``<name>_lo`` / ``_hi`` for a key's range, ``<name>_like`` /
    ``<name>_m`` for a substring); sources equal by value and different by name are the same candidates."""

    kind: str
    col: str = ""
    key: str = ""
    term: str = ""  # text: the folded substring
    ids: Any = field(default=None, compare=False, hash=False)  # child: Select of contact ids (named parameters)
    name: str = field(default="", compare=False)


@dataclass
class Plan:
    cond: Callable[[Cols, bool], ColumnElement[bool]]  # (columns, opaque) -> condition (named parameters)
    walkable: bool  # no correlated subquery: cheap to check on every walked row
    ranges: list[str]  # sort_key prefix ranges to walk (parameter names, values in ``params``)
    covers: list[list[Source]] | None  # alternatives; each covers every match. None: walk only
    prefixes: list[Source] = field(default_factory=list)  # name-key sources whose rows all match
    # Several words: for the rows of one last name / company value, the ``sort_key`` prefixes that
    # hold every match, and whether every row there matches (or None). Arguments: the key column, the
    # value, and whether the other key (company / last name) has no value starting with a prefix.
    narrow: Callable[[str, str, Callable[[str], bool]], tuple[list[str], bool] | None] | None = None
    params: _Params = field(default_factory=_Params)  # the values of the condition's and sources' parameters
    shape: tuple[Any, ...] = ()  # what the statements built from this plan depend on, values aside
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


def _word(params: _Params, role: str, w: str) -> str:
    """Registers word ``w``'s values under ``role``: its display-name range ``<role>_s``, its name-key /
    address range ``<role>`` and its substring pattern ``<role>_like`` (and FTS5 phrase ``<role>_m``)."""
    params.range(f"{role}_s", sort_prefix(w))
    params.range(role, w)
    params[f"{role}_like"] = f"%{escape_like(w)}%"
    params[f"{role}_m"] = '"' + w.replace('"', '""') + '"'
    return role


def _prefix_cond(c: Cols, role: str, addressy: bool, opaque: bool) -> ColumnElement[bool]:
    parts = [_range(_opaque(c.sort_key, opaque), f"{role}_s"), _range(_opaque(c.last_key, opaque), role),
             _range(_opaque(c.company_key, opaque), role)]
    if addressy:
        parts.append(exists().where(EM.c.contact_id == c.id, EM.c.tenant_id == _bp("sp_t"),
                                    _range(EM.c.address_key, role)))
    return or_(*parts)


def _like(c: Cols, role: str, opaque: bool = False) -> ColumnElement[bool]:
    return _opaque(c.search_text, opaque).like(_bp(f"{role}_like"), escape="\\")


def _prefix_sources(role: str, w: str, addressy: bool) -> list[Source]:
    """A word's name-key sources (ranges ``<role>_s`` and ``<role>``, see ``_word``)."""
    out = [Source("key", "sort_key", sort_prefix(w), name=f"{role}_s"), Source("key", "last_key", w, name=role),
           Source("key", "company_key", w, name=role)]
    if addressy:
        out.append(Source("child", "email", w, name=f"{role}_e", ids=select(EM.c.contact_id).where(
            EM.c.tenant_id == _bp("sp_t"), _range(EM.c.address_key, role))))
    return out


def plan(tenant_id: int, q: str, match: str) -> Plan | None:
    """The condition and the ways to find its rows, for the query ``q``."""
    raw = q.strip()
    digits = digits_of(raw)
    params = _Params(sp_t=tenant_id)
    if PHONEISH.match(raw) and len(digits) >= 3:
        params.range("ph_e", "+" + digits)
        params.range("ph_n", digits.lstrip("0") or digits)
        _word(params, "ph", digits)
        ranges = or_(_range(PH.c.e164, "ph_e"), _range(PH.c.national, "ph_n"))
        substring = match != "prefix"

        def phone_cond(c: Cols, opaque: bool) -> ColumnElement[bool]:
            has = exists().where(PH.c.contact_id == c.id, PH.c.tenant_id == _bp("sp_t"), ranges)
            return or_(has, _like(c, "ph", opaque)) if substring else has

        cover = [Source("child", "phone", digits, name="ph_c",
                        ids=select(PH.c.contact_id).where(PH.c.tenant_id == _bp("sp_t"), ranges))]
        if substring:
            cover.append(Source("text", term=digits, name="ph"))
        return Plan(phone_cond, False, [], [cover], params=params, shape=("phone", substring))
    key = fold(raw)
    if not key:
        return None
    addressy = "@" in raw or "." in raw
    words = key.split()
    _word(params, "k", key)
    if len(words) == 1:
        if match == "substring" or (match == "auto" and len(key) >= 3):
            def substring_cond(c: Cols, opaque: bool) -> ColumnElement[bool]:
                return or_(_range(_opaque(c.sort_key, opaque), "k_s"), _like(c, "k", opaque))

            covers = None
            if len(key) >= 3:
                covers = [[Source("key", "sort_key", sort_prefix(key), name="k_s"), Source("text", term=key, name="k")]]
            return Plan(substring_cond, True, ["k_s"], covers,
                        [Source("key", "last_key", key, name="k"), Source("key", "company_key", key, name="k")],
                        params=params, shape=("substring", covers is not None))

        def prefix_cond(c: Cols, opaque: bool) -> ColumnElement[bool]:
            return _prefix_cond(c, "k", addressy, opaque)

        return Plan(prefix_cond, not addressy, ["k_s"], [_prefix_sources("k", key, addressy)], params=params,
                    shape=("prefix", addressy))

    substring = match == "substring"
    roles = [_word(params, f"w{i}", w) for i, w in enumerate(words)]
    first = {w: roles[words.index(w)] for w in words}  # a repeated word: its first role
    pattern = tuple(words.index(w) for w in words)

    def words_cond(c: Cols, opaque: bool) -> ColumnElement[bool]:
        if substring:
            each = [_like(c, r, opaque) for r in roles]
        else:
            each = [_prefix_cond(c, r, addressy, opaque) for r in roles]
        return or_(_prefix_cond(c, "k", addressy, opaque), and_(*each))

    whole = _prefix_sources("k", key, addressy)
    longest = max(words, key=len)
    if substring:
        covers = [[*whole, Source("text", term=longest, name=first[longest])]] if len(longest) >= 3 else None
    else:
        covers = [whole + _prefix_sources(first[w], w, addressy) for w in dict.fromkeys(words)]

    def narrow(col: str, value: str, none_other: Callable[[str], bool]) -> tuple[list[str], bool] | None:
        """A row with ``col = value`` matches if it matches every word (its display name, this value or
        its other key starts with the word), or the whole query likewise; the rows matching the whole
        query by display name are in every cover anyway (``whole``). When the value starts with neither
        the query nor some word, and no other key starts with that word, the other matches' display
        names start with it: one range of name order ("smith j": the J... Smiths, not every Smith),
        and with one such word every row there matches. Returns the range's parameter name."""
        unmatched = [w for w in words if not value.startswith(w)]
        if substring or addressy or value.startswith(key) or not unmatched:
            return None
        word = max(unmatched, key=len)
        if not none_other(word):
            return None
        return [f"{first[word]}_s"], len(unmatched) == 1

    # Several words rarely match densely all over name order: no name-order walk, the ranges instead.
    return Plan(words_cond, False, ["k_s", *(f"{first[w]}_s" for w in dict.fromkeys(words))], covers,
                narrow=narrow, params=params,
                shape=("words", pattern, addressy, substring, first[longest] if covers is not None else None))


Pos = tuple[str, int]  # (sort_key, id)


def _after(c: Cols, after: bool) -> list[ColumnElement[bool]]:
    """After the position ``sp_ak`` / ``sp_ai`` (``_positions``), when there is one."""
    if not after:
        return []
    return [or_(c.sort_key > _bp("sp_ak"), and_(c.sort_key == _bp("sp_ak"), c.id > _bp("sp_ai")))]


def _upto(c: Cols, bound: bool) -> list[ColumnElement[bool]]:
    """Up to the position ``sp_bk`` / ``sp_bi`` (``_positions``), when there is one."""
    if not bound:
        return []
    return [c.sort_key <= _bp("sp_bk"), or_(c.sort_key < _bp("sp_bk"), and_(c.sort_key == _bp("sp_bk"),
                                                                          c.id <= _bp("sp_bi")))]


def _positions(after: Pos | None, bound: Pos | None) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if after is not None:
        out["sp_ak"], out["sp_ai"] = after
    if bound is not None:
        out["sp_bk"], out["sp_bi"] = bound
    return out


def _walk_terms(base: list[ColumnElement[bool]], after: bool, bound: bool,
                prefix: str | None = None) -> list[ColumnElement[bool]]:
    """A walk's range of name order: the base filters, after ``after``, up to ``bound``, in the range
    ``prefix`` (a parameter name)."""
    terms = [*base, *_after(C.c, after), *_upto(C.c, bound)]
    if prefix is not None:
        terms.append(_range(C.c.sort_key, prefix))
    return terms


#: A statement to run, or a member of a UNION ALL: (what its build depends on besides the base filters,
#: the values of its parameters, the function building it).
Part = tuple[Hashable, dict[str, Any], Callable[[], Any]]


class SearchPager:
    """Runs a search page for a repository (its session, principal and base filters)."""

    def __init__(self, session: Any, base: list[ColumnElement[bool]], dialect: str,
                 children: Callable[[Any], list[Any]] | None = None, children_key: Hashable = None) -> None:
        self.s, self.base = session, base
        self.dialect = dialect if dialect in WALK else "postgresql"
        self.children = children  # extra columns of the page's rows (PostgreSQL: phones, e-mails... as JSON)
        self.children_key = children_key  # what ``children``'s columns depend on (the principal)
        self._seen_values: dict[tuple[str, str, int], list[Any]] = {}
        self._base_key = _intern(statement_key(and_(*base)))  # None: the base filters cannot be keyed, nothing kept

    def _execute(self, stmt: Any, params: Any = None) -> Any:
        """Core statements on the session's connection (its transaction), without the ORM's
        per-statement work: a page runs up to ~15 of them."""
        return self.s.connection().execute(stmt, params)

    def _run(self, parts: list[Part]) -> Any:
        """Runs ``parts`` (one statement, or the members of a UNION ALL) with their parameters.

        The statement is built once per shape and kept (``_STATEMENTS``): its key is what each part's
        build depends on, the dialect and the base filters with their values; every other value is a
        named parameter, given here. Building a page's statements, and SQLAlchemy's cache key of each,
        cost more than a third of a page's time. Parts of one statement agree on every parameter they
        share (checked)."""
        params: dict[str, Any] = {}
        for _, values, _ in parts:
            for name, value in values.items():
                if params.setdefault(name, value) != value:
                    raise AssertionError(f"search statement parameter {name!r} has two values")
        key = (self.dialect, self._base_key, tuple(k for k, _, _ in parts)) if self._base_key is not None else None
        stmt = _STATEMENTS.get(key) if key is not None else None
        if stmt is None:
            built = [build() for _, _, build in parts]
            stmt = built[0] if len(built) == 1 else union_all(*built)
            if key is not None:
                if len(_STATEMENTS) >= STATEMENTS_KEPT:
                    _STATEMENTS.clear()
                _STATEMENTS[key] = stmt
        return self._execute(stmt, params)

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
        """Matches among the first ``rows`` rows of name order (of the range ``prefix``, up to
        ``bound``); every row when ``rows`` is None. Returns how many matched."""
        if rows is not None:
            return self._gather(self._walk_parts(p, n, after, rows, prefix, bound), found)
        has_after, has_bound = after is not None, bound is not None

        def build() -> Any:
            terms = [*_walk_terms(self.base, has_after, has_bound, prefix), p.where(C.c, True)]
            order = (C.c.sort_key, C.c.id)
            if self.dialect == "postgresql":
                # the rows that fit ``ix_contacts_name_cover`` (read from it alone) and the others (from
                # ``ix_contacts_name_long``), the two ordered streams merged
                both = union_all(*(select(C.c.id, C.c.sort_key).where(*terms, which).order_by(*order)
                                   .limit(_bp("sp_n")) for which in (FITS, LONG))).subquery()
                return select(both.c.id, both.c.sort_key).order_by(both.c.sort_key, both.c.id).limit(_bp("sp_n"))
            return select(C.c.id, C.c.sort_key).where(*terms).order_by(*order).limit(_bp("sp_n"))

        values = {**p.params, **_positions(after, bound), "sp_n": n}
        return self._gather([(("walk", p.shape, has_after, has_bound, prefix), values, build)], found)

    def _walk_first(self, p: Plan, found: dict[int, str], n: int, after: Pos | None,
                    rows: int, bound: Pos | None = None) -> tuple[int, Pos | None]:
        """The first ``rows`` rows of name order (up to ``bound``): (matches up to where the walk is
        complete, position of the last row walked), the position None when the walk saw every row."""
        # Only the matches come back, in name order as the index yields them, and the walk stops at
        # the page. Numbering the rows instead (row_number(), to learn where the walk ended) cost SQLite
        # the whole window before the first row (20,000 rows: ~20 ms) and PostgreSQL 10-20 % of a
        # page; now only a walk that did not fill the page asks where its last row was (an index-only
        # OFFSET of the same walk).
        fits, longs = self._capped_walk(p, after, bound, rows, n)
        found.update(fits)
        found.update(longs)
        if len(fits) >= n:  # the page is among these: nothing after the n-th can come first
            return len(fits), None
        has_after, has_bound = after is not None, bound is not None

        def build() -> Any:
            walked = self._capped_walk_parts(p, has_after, has_bound, None, rows)[2]
            return select(walked.c.sort_key, walked.c.id).offset(rows - 1).limit(1)

        values = {**_positions(after, bound)}
        mark = self._run([(("mark", has_after, has_bound, rows), values, build)]).first()
        if mark is None:  # the walk saw every row of the range (and the other rows were all read)
            return len(fits) + len(longs), None
        last: Pos = (mark[0], mark[1])
        # Every match up to ``last`` is known if the ``LONG`` read did not stop before it; if it did, its
        # ``n`` matches are all before ``last`` and the page is known anyway.
        return sum(1 for cid, key in (*fits, *longs) if (key, cid) <= last), last

    def _walk_parts(self, p: Plan, n: int, after: Pos | None, rows: int, prefix: str | None = None,
                    bound: Pos | None = None) -> list[Part]:
        """A capped walk of the range ``prefix`` as parts of a UNION ALL of (id, sort_key) (``_gather``)."""
        has_after, has_bound = after is not None, bound is not None
        values = {**p.params, **_positions(after, bound), "sp_n": n}
        shape = (p.shape, has_after, has_bound, prefix, rows)

        def walk() -> Any:
            return _member(self._capped_walk_parts(p, has_after, has_bound, prefix, rows)[0])

        def others() -> Any:
            return _member(self._capped_walk_parts(p, has_after, has_bound, prefix, rows)[1])

        out: list[Part] = [(("walk-fits", *shape), values, walk)]
        if self.dialect == "postgresql":
            out.append((("walk-long", *shape), values, others))
        return out

    def _gather(self, parts: list[Part], found: dict[int, str]) -> int:
        """Runs the (id, sort_key) selects ``parts`` as one statement (one round trip, one execution's
        overhead) and adds their rows to ``found``; returns how many rows came back."""
        if not parts:
            return 0
        got = self._run(parts).all()
        found.update((cid, key) for cid, key in got)
        return len(got)

    def _capped_walk_parts(self, p: Plan, after: bool, bound: bool, prefix: str | None,
                           rows: int) -> tuple[Any, Any, Any]:
        """``_capped_walk``'s selects: the walk, the read of the rows outside the covering index (None
        on SQLite), and the walked subquery. ``after`` / ``bound``: whether the walk has them."""
        pg = self.dialect == "postgresql"
        terms = _walk_terms(self.base, after, bound, prefix)
        cols = (C.c.id, C.c.sort_key, C.c.last_key, C.c.company_key, C.c.search_text)
        walked = (select(*cols).where(*terms, *([FITS] if pg else [])).order_by(C.c.sort_key, C.c.id)
                  .limit(rows).subquery(WALK_ALIAS))
        # No ORDER BY here: the subquery yields name order and is read lazily, so a dense match stops
        # the walk early (sorting would read all ``rows`` first).
        walk = select(walked.c.id, walked.c.sort_key).where(p.where(WALKED, False)).limit(_bp("sp_n"))
        if not pg:
            return walk, None, walked
        others = (select(C.c.id, C.c.sort_key).where(*terms, LONG, p.where(C.c, True))
                  .order_by(C.c.sort_key, C.c.id).limit(_bp("sp_n")))
        return walk, others, walked

    def _capped_walk(self, p: Plan, after: Pos | None, bound: Pos | None, rows: int,
                     n: int) -> tuple[list[tuple[int, str]], list[tuple[int, str]]]:
        """The matches (up to ``n``, as (id, sort_key), in name order) among the first ``rows`` rows of
        name order after ``after`` and up to ``bound``; on PostgreSQL also the first ``n`` matches among
        the rows that do not fit the covering index (``LONG``), wherever they are in the range.

        PostgreSQL walks only the rows in ``ix_contacts_name_cover`` (an index-only scan: no table page
        per row); the others, few by construction, are read with the condition from
        ``ix_contacts_name_long`` in the same statement. Two plain streams: merging them into one
        ordered walk cost a Merge Append and three more plan nodes per walked row (~20 % of a
        10,000-row walk).
        """
        has_after, has_bound = after is not None, bound is not None
        values = {**p.params, **_positions(after, bound), "sp_n": n}
        shape = ("capped", p.shape, has_after, has_bound, rows)
        if self.dialect != "postgresql":
            def walk() -> Any:
                return self._capped_walk_parts(p, has_after, has_bound, None, rows)[0]

            return [(i, k) for i, k in self._run([(shape, values, walk)])], []

        def both() -> Any:
            walk, others, _ = self._capped_walk_parts(p, has_after, has_bound, None, rows)
            return union_all(walk.add_columns(literal(0)), others.add_columns(literal(1)))

        got = self._run([(shape, values, both)]).all()
        return [(i, k) for i, k, t in got if t == 0], [(i, k) for i, k, t in got if t == 1]

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
                    have = counted[src] = self._count(p, src, tenant_id, after, bound, cap)
                count, _, ids = have
                if count > cap:
                    break
                total += count
                chosen.append((src, ids))
            else:
                if best is None or total < best[0]:
                    best = (total, chosen)
        return None if best is None else best[1]

    def _count(self, p: Plan, src: Source, tenant_id: int, after: Pos | None, bound: Pos | None,
               cap: int) -> tuple[int, int, list[Any] | None]:
        """(candidates up to ``cap + 1``, ``cap``, the ids of a child source or the distinct values
        of a name key read value by value)."""
        values = {**p.params, "sp_cap": cap + 1}
        if src.kind == "child":
            got = self._run([(("child", src.col, src.name), values, lambda: src.ids.limit(_bp("sp_cap")))])
            ids = sorted(set(got.scalars()))
            return len(ids), cap, ids
        if src.kind == "key" and src.col != "sort_key":
            known = self._values(src, tenant_id)
            if len(known) <= MAX_VALUES:  # read per value in name order: cheap however many rows
                return len(known), cap, known
        if src.kind == "key":
            values.update(_positions(after, bound))
            has_after, has_bound = after is not None, bound is not None

            def build() -> Any:
                inner = self._key_candidates(src, has_after, has_bound)
                return select(func.count()).select_from(inner)

            part: Part = (("count-key", src.col, src.name, has_after, has_bound), values, build)
        elif self.dialect != "sqlite" and not _trigrams(src.term):
            return cap + 1, cap, None  # no trigram to look up: the index would return every row
        elif self.dialect == "sqlite":
            def build() -> Any:
                inner = select(literal(1)).select_from(FTS).where(_match(src.name)).limit(_bp("sp_cap")).subquery()
                return select(func.count()).select_from(inner)

            part = (("count-fts", src.name), values, build)
        elif self._estimate(src.term) > DENSE * cap:
            # Counting a common trigram builds its whole bitmap (``ann`` at 1M contacts: ~28,000 rows,
            # 8-14 ms) only to learn that it is too many: the planner's estimate says so at once. An
            # estimate too low just means counting, as before.
            return cap + 1, cap, None
        else:
            def build() -> Any:
                inner = (select(literal(1)).where(C.c.tenant_id == _bp("sp_t"), _like(C.c, src.name))
                         .limit(_bp("sp_cap")).subquery())
                return select(func.count()).select_from(inner)

            part = (("count-text", src.name), values, build)
        return self._run([part]).scalar_one(), cap, None

    def _key_candidates(self, src: Source, after: bool, bound: bool) -> Any:
        """Up to ``sp_cap`` rows (a constant each) of a name-key source's range, to be counted."""
        terms = [C.c.tenant_id == _bp("sp_t"), _range(C.c[src.col], src.name)]
        if after:
            terms.append(C.c.sort_key >= _bp("sp_ak"))
        if bound:
            terms.append(C.c.sort_key <= _bp("sp_bk"))
        return union_all(*(select(literal(1)).where(*terms, *which).limit(_bp("sp_cap"))
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
        has_after, has_bound = after is not None, bound is not None
        values = {**p.params, **_positions(after, bound), "sp_cap": cap + 1}

        def build() -> Any:
            parts = []
            for i, src in enumerate(todo):
                if src.kind == "child":
                    sub = src.ids.limit(_bp("sp_cap")).subquery()
                    parts.append(select(literal(i).label("s"), sub.c.contact_id.label("v")))
                else:
                    inner = self._key_candidates(src, has_after, has_bound)
                    parts.append(select(literal(i).label("s"), func.count().label("v")).select_from(inner))
            return union_all(*parts)

        shape = ("precount", tuple((src.kind, src.col, src.name) for src in todo), has_after, has_bound)
        got: list[list[Any]] = [[] for _ in todo]
        for i, v in self._run([(shape, values, build)]):
            got[i].append(v)
        for src, found in zip(todo, got, strict=True):
            if src.kind == "child":
                ids = sorted(set(found))
                counted[src] = (len(ids), cap, ids)
            else:
                counted[src] = (found[0], cap, None)

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
                    bound: Pos | None, tenant_id: int) -> list[Part]:
        """``_read``'s selects of (id, sort_key), to be run as one UNION ALL with others (``_gather``)."""
        has_after, has_bound = after is not None, bound is not None
        values = {**p.params, **_positions(after, bound), "sp_n": n}
        shape = (p.shape, src.kind, src.col, src.name, has_after, has_bound)

        def terms() -> list[Any]:  # opaque keys: no planner turns the condition into a bitmap of every match
            return [*self.base, p.where(C.c, True), *_after(C.c, has_after), *_upto(C.c, has_bound)]

        tag = f"{src.name}_{src.col}"
        if src.kind == "child":
            assert ids is not None
            out: list[Part] = []
            for c, i in enumerate(range(0, len(ids), CHUNK)):
                name = f"{tag}_i{c}"
                out.append((("read-ids", *shape, name), {**values, name: ids[i:i + CHUNK]},
                            lambda name=name: select(C.c.id, C.c.sort_key).where(self._among(name), *terms())))
            return out
        if src.kind == "key" and ids is not None:  # the key's distinct values: one ordered read each
            halves = self._halves(src.col)
            other = "company_key" if src.col == "last_key" else "last_key"

            def none_other(prefix: str) -> bool:
                return not self._values(Source("key", other, prefix), tenant_id)

            out = []
            for j, value in enumerate(ids):
                narrowed = p.narrow(src.col, value, none_other) if p.narrow and src.col in ("last_key", "company_key") \
                    else None
                ranges, exact = narrowed if narrowed else ([None], False)
                name = f"{tag}_v{j}"
                for prefix in ranges:
                    def build(name: str = name, prefix: str | None = prefix, exact: bool = exact) -> Any:
                        where = [C.c[src.col] == _bp(name), *([*self.base, *_after(C.c, has_after),
                                                               *_upto(C.c, has_bound)] if exact else terms()),
                                 *halves[0]]
                        if prefix is not None:
                            where.append(_range(C.c.sort_key, prefix))
                        return _member(_covering(select(C.c.id, C.c.sort_key).where(*where)
                                                 .order_by(C.c.sort_key, C.c.id).limit(_bp("sp_n")), src.col))

                    out.append((("read-value", *shape, name, prefix, exact), {**values, name: value}, build))
            for k, which in enumerate(halves[1:] if ids else ()):  # rows too long for the covering index
                # (``_values`` has their values too: none at all means none of them either)
                def long(which: list[Any] = which) -> Any:
                    return _member(select(C.c.id, C.c.sort_key).where(_range(C.c[src.col], src.name), *terms(), *which)
                                   .order_by(C.c.sort_key, C.c.id).limit(_bp("sp_n")))

                out.append((("read-long", *shape, k), values, long))
            return out
        if src.kind == "key":
            def half(which: list[Any]) -> Any:
                return _member(_covering(select(C.c.id, C.c.sort_key).where(_range(C.c[src.col], src.name), *terms(),
                                                                            *which)
                                         .order_by(C.c.sort_key.concat(""), C.c.id).limit(_bp("sp_n")), src.col))

            return [(("read-key", *shape, k), values, lambda which=which: half(which))
                    for k, which in enumerate(self._halves(src.col))]

        def substring() -> Any:
            if self.dialect == "sqlite":
                where = C.c.id.in_(select(FTS.c.rowid).where(_match(src.name)))
            else:
                where = _like(C.c, src.name)
            return _member(select(C.c.id, C.c.sort_key).where(where, *terms())
                           .order_by(C.c.sort_key.concat(""), C.c.id).limit(_bp("sp_n")))

        return [(("read-text", *shape), values, substring)]

    def _among(self, name: str) -> Any:
        """``contacts.id`` among the ids given as the parameter ``name`` (a list)."""
        if self.dialect == "postgresql":
            return C.c.id == any_(bindparam(name, type_=ARRAY(BigInteger)))
        return C.c.id.in_(bindparam(name, expanding=True))

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
            only = f" AND {FITS_SQL}" if halves[0] else ""
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
                        f"{col} >= {lo} AND {col} < {hi} AND {LONG_SQL} LIMIT :m) AS l{i}" for _ in halves[1:]]
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
        key = (self.dialect, self.children_key if self.children else None, self._base_key)
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
#: ``SearchPager._run``'s statements by (dialect, base filter with its values, the parts' shapes).
_STATEMENTS: dict[Hashable, Any] = {}
STATEMENTS_KEPT = 2048
#: Base filters (with their values) by a number that stands for them in the keys above: hashing the
#: filters once per page, not once per statement. Numbers are never reused.
_BASES: dict[Hashable, int] = {}
_NEXT_BASE = itertools.count()


def _intern(key: Hashable | None) -> int | None:
    if key is None:
        return None
    got = _BASES.get(key)
    if got is None:
        if len(_BASES) >= STATEMENTS_KEPT:
            _BASES.clear()
        got = _BASES[key] = next(_NEXT_BASE)
    return got


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
FITS_SQL, LONG_SQL = f"{KEY_BYTES} <= {COVER_BYTES}", f"{KEY_BYTES} > {COVER_BYTES}"
FITS, LONG = text(FITS_SQL), text(LONG_SQL)


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


def _match(name: str) -> Any:
    """The FTS5 trigram phrase of the parameter ``<name>_m`` (a substring of 3+ characters, ``_word``)."""
    return text(f"contacts_fts MATCH :{name}_m")


def search_condition(tenant_id: int, q: str, match: str) -> ColumnElement[bool]:
    """The search as one SQL condition on ``contacts`` (counts, dynamic lists)."""
    p = plan(tenant_id, q, match)
    if p is None:
        return false()

    def bind(param: Any) -> None:
        if param.key in p.params:
            param.value, param.required = p.params[param.key], False

    return visitors.cloned_traverse(p.cond(C.c, False), {}, {"bindparam": bind})
