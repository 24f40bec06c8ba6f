"""Contact search driven by indexes: each way of matching is a branch, merged in name order.

One OR-ed query walked in name order costs a scan of the tenant when nothing matches. Instead,
each branch (display-name prefix, last-name prefix, company prefix, e-mail prefix, phone prefix,
substring) first collects at most ``CAP`` candidates from its own index. A sparse branch then
reads just those rows; a dense one (more than ``CAP`` candidates) is walked in name order, which
is cheap precisely because matches are dense. The permission filter and every other filter are
in the SQL of each branch's final query; the pages are merged by (sort_key, id).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, exists, or_, select, text

from plugin_host.phones import digits_of
from plugin_host.repo.query import EM, PH, PHONEISH, C, _prefix
from plugin_host.text import escape_like, fold

CAP = 5000
CHUNK = 500


@dataclass
class Branch:
    """``cond`` selects the branch's contacts; ``candidates`` lists (id, sort_key) from an index."""

    cond: ColumnElement[bool]
    candidates: Select[Any] | None = None  # (id, sort_key) from a contacts index
    walk: ColumnElement[bool] | None = None  # the condition for a name-order walk when dense
    child_ids: Select[Any] | None = None  # contact ids from a phones/e-mails index
    fts: str | None = None  # SQLite FTS5 MATCH expression (substring branch)


def _like_all(words: Sequence[str]) -> ColumnElement[bool]:
    return and_(*(C.c.search_text.like(f"%{escape_like(w)}%", escape="\\") for w in words))


def _word(tid: int, w: str) -> ColumnElement[bool]:
    email = exists().where(EM.c.contact_id == C.c.id, _prefix(EM.c.address_key, w))
    return or_(_prefix(C.c.sort_key, w), _prefix(C.c.first_key, w), _prefix(C.c.last_key, w),
               _prefix(C.c.company_key, w), email)


def plan(tenant_id: int, q: str, match: str) -> tuple[list[Branch], list[Branch], ColumnElement[bool] | None]:
    """(ordered branches, candidate branches, extra condition for candidate branches)."""
    raw = q.strip()
    tenant = C.c.tenant_id == tenant_id
    digits = digits_of(raw)
    if PHONEISH.match(raw) and len(digits) >= 3:
        ranges = or_(_prefix(PH.c.e164, "+" + digits), _prefix(PH.c.national, digits.lstrip("0") or digits))
        phone = Branch(exists().where(PH.c.contact_id == C.c.id, ranges),
                       child_ids=select(PH.c.contact_id).where(PH.c.tenant_id == tenant_id, ranges))
        branches = [phone]
        if match != "prefix":
            branches.append(_substring(tenant, [digits]))
        return [], branches, None
    key = fold(raw)
    if not key:
        return [], [], None
    words = key.split()
    first = words[0]
    ordered = [Branch(_prefix(C.c.sort_key, key))]
    branches = [_key_branch(tenant, C.c.last_key, first), _key_branch(tenant, C.c.company_key, first)]
    if "@" in raw or "." in raw:
        # E-mail prefixes only for queries that look like an address or a domain: addresses mostly
        # start with the first name, so a dense e-mail branch follows name order and cannot be walked.
        branches.append(Branch(exists().where(EM.c.contact_id == C.c.id, _prefix(EM.c.address_key, key)),
                               child_ids=select(EM.c.contact_id).where(EM.c.tenant_id == tenant_id,
                                                                        _prefix(EM.c.address_key, key))))
    extra = None
    if len(words) > 1:  # "smith j": every word must start some name, company or e-mail
        extra = and_(*(_word(tenant_id, w) for w in words))
        # a first name is the start of the display name: its matches are a range of name order
        ordered.append(Branch(and_(_prefix(C.c.sort_key, first), _prefix(C.c.first_key, first), extra)))
    substring = match == "substring" or (match == "auto" and len(key) >= 3)
    if substring and match != "prefix":
        # the substring branch is independent of the word-prefix rule above
        return ordered, [*branches, _substring(tenant, words)], extra
    return ordered, branches, extra


def _key_branch(tenant: ColumnElement[bool], col: Any, word: str) -> Branch:
    """A name-key prefix: candidates from the covering index; when dense, walk name order instead
    (``col || ''`` keeps planners from range-scanning the key and sorting every match)."""
    return Branch(_prefix(col, word), select(C.c.id, C.c.sort_key).where(tenant, _prefix(col, word)),
                  walk=_prefix(col.concat(""), word))


def _substring(tenant: ColumnElement[bool], words: Sequence[str]) -> Branch:
    cond = _like_all(words)
    long_words = [w for w in words if len(w) >= 3]
    fts = " AND ".join('"' + w.replace('"', '""') + '"' for w in long_words) or None
    return Branch(cond, select(C.c.id, C.c.sort_key).where(tenant, cond), fts=fts)


class SearchPager:
    """Runs a search page for a repository (its session, principal and base filters)."""

    def __init__(self, session: Any, base: list[ColumnElement[bool]], dialect: str) -> None:
        self.s, self.base, self.dialect = session, base, dialect

    def page(self, tenant_id: int, q: str, match: str, after: tuple[str, int] | None,
             limit: int) -> list[Mapping[str, Any]]:
        ordered, branches, extra = plan(tenant_id, q, match)
        rows: dict[int, Mapping[str, Any]] = {}
        keyset = _after(after)
        for b in ordered:
            self._walk(b.cond, keyset, limit, rows)
        for b in branches:
            extra_terms = [extra] if extra is not None and b.fts is None else []
            cands = self._candidates(b, tenant_id)
            if cands is None:
                self._walk(and_(b.walk if b.walk is not None else b.cond, *extra_terms), keyset, limit, rows)
            elif cands:
                self._read(cands, [b.cond, *extra_terms], after, limit, rows)
        return sorted(rows.values(), key=lambda r: (r["sort_key"], r["id"]))[: limit + 1]

    def _candidates(self, b: Branch, tenant_id: int) -> list[tuple[str, int]] | None:
        """Sorted (sort_key, id) of the branch's candidates, or None when the branch is dense."""
        ids: list[int] | None = None
        if b.fts is not None and self.dialect == "sqlite":
            ids = [r[0] for r in self.s.execute(text("SELECT rowid FROM contacts_fts WHERE contacts_fts MATCH :m "
                                                     "LIMIT :n"), {"m": b.fts, "n": CAP + 1})]
        elif b.child_ids is not None:
            ids = sorted(set(self.s.execute(b.child_ids.limit(CAP + 1)).scalars()))
        if ids is not None:
            if len(ids) > CAP:
                return None
            found: list[tuple[str, int]] = []
            for i in range(0, len(ids), CHUNK):  # literal id lists: every planner reads these by primary key
                found += [(k, cid) for cid, k in self.s.execute(select(C.c.id, C.c.sort_key).where(
                    C.c.id.in_(ids[i:i + CHUNK]), C.c.tenant_id == tenant_id))]
            return sorted(found)
        assert b.candidates is not None
        got = self.s.execute(b.candidates.limit(CAP + 1)).all()
        if len(got) > CAP:
            return None
        return sorted({(k, cid) for cid, k in got})

    def _walk(self, cond: ColumnElement[bool], keyset: list[ColumnElement[bool]], limit: int,
              rows: dict[int, Mapping[str, Any]]) -> None:
        stmt = select(C).where(*self.base, cond, *keyset).order_by(C.c.sort_key, C.c.id).limit(limit + 1)
        for r in self.s.execute(stmt).mappings():
            rows[r["id"]] = r

    def _read(self, cands: list[tuple[str, int]], conds: list[ColumnElement[bool]], after: tuple[str, int] | None,
              limit: int, rows: dict[int, Mapping[str, Any]]) -> None:
        if after is not None:
            cands = [c for c in cands if c > after]
        taken = 0
        for i in range(0, len(cands), CHUNK):
            ids = [cid for _, cid in cands[i:i + CHUNK]]
            stmt = select(C).where(C.c.id.in_(ids), *self.base, *conds).order_by(C.c.sort_key, C.c.id)
            for r in self.s.execute(stmt).mappings():
                rows[r["id"]] = r
                taken += 1
            if taken > limit:
                return


def _after(after: tuple[str, int] | None) -> list[ColumnElement[bool]]:
    if after is None:
        return []
    key, cid = after
    return [or_(C.c.sort_key > key, and_(C.c.sort_key == key, C.c.id > cid))]
