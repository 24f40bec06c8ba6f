"""Caller-ID lookup: E.164, then national number, then the last N digits (never ambiguous)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import and_, select

from plugin_host.permissions import contact_read_filter
from plugin_host.phones import normalise
from plugin_host.repo.base import Bound
from plugin_host.repo.contacts import ContactRepository
from plugin_host.repo.query import PH, C
from plugin_host.text import prefix_upper_bound


class LookupRepository(Bound):
    """Finds who is calling, among the contacts the principal may read (filtered in SQL)."""

    def _ids(self, *terms: Any) -> list[int]:
        # Driven from the phone index: the matching phones are found first, then their contacts are
        # checked against the permission filter.
        # Two statements so no planner can start from the contacts table (whatever its statistics say).
        phones = select(PH.c.contact_id).where(PH.c.tenant_id == self.p.tenant_id, *terms).limit(200)
        ids = sorted(set(self.s.execute(phones).scalars()))
        if not ids:
            return []
        stmt = select(C.c.id).where(C.c.id.in_(ids), contact_read_filter(self.p, C)).order_by(C.c.id).limit(11)
        return list(self.s.execute(stmt).scalars())

    def match_ids(self, number: str) -> tuple[str, list[int]]:
        """(how it matched, contact ids): ``extension``, ``e164``, ``national``, ``suffix``, ``ambiguous``, ``none``."""
        n = normalise(number, self.region)
        if n.kind == "internal":
            return ("extension", self._ids(PH.c.kind == "internal", PH.c.digits_rev == n.digits_rev))
        if n.e164:
            ids = self._ids(PH.c.e164 == n.e164)
            if ids:
                return ("e164", ids)
            ids = self._ids(PH.c.national == n.national)
            if ids:
                return ("national", ids)
        digits = n.digits_rev[: self.suffix_digits]
        if len(digits) < self.suffix_digits:
            return ("none", [])
        ids = self._ids(and_(PH.c.digits_rev >= digits, PH.c.digits_rev < prefix_upper_bound(digits)))
        if len(ids) > 1:
            return ("ambiguous", [])
        return ("suffix", ids) if ids else ("none", [])

    def lookup(self, number: str) -> dict[str, Any]:
        how, ids = self.match_ids(number)
        n = normalise(number, self.region)
        contacts = ContactRepository(self.s, self.p).hydrate(
            self.s.execute(select(C).where(C.c.id.in_(ids)).order_by(C.c.sort_key, C.c.id)).mappings().all(),
            light=True,  # a caller-ID answer needs names, phones and e-mails, and it must be fast
        ) if ids else []
        return {"number": number, "e164": n.e164, "match": how if ids or how == "ambiguous" else "none",
                "contacts": contacts}
