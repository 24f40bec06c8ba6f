"""Contact queries: filters, search, A–Z letter and keyset pagination, all as SQL."""

from __future__ import annotations

import base64
import json
import re
from dataclasses import dataclass, field, fields
from typing import Any

from sqlalchemy import ColumnElement, and_, exists, or_, select

from plugin_host.models import T
from plugin_host.permissions import Principal, activity_read_filter
from plugin_host.repo.errors import ValidationError
from plugin_host.text import AFTER_Z, escape_like, fold

C, PH, EM, TAGS, CT, LM, ACT = (T[n] for n in (
    "contacts", "contact_phones", "contact_emails", "tags", "contact_tags", "list_members", "activities"))
PHONEISH = re.compile(r"^[\d\s+()./-]+$")
LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ#"


@dataclass
class ContactQuery:
    """Everything a contact list can be filtered by; also the criteria of a dynamic list."""

    q: str | None = None
    match: str = "auto"  # auto | prefix | substring
    letter: str | None = None
    status: str | None = None
    acquisition_source: str | None = None
    source_id: int | None = None
    account_id: int | None = None
    contact_type: str | None = None
    tag: str | None = None  # substring of a tag name
    tags: list[str] = field(default_factory=list)  # exact tag names, all required
    has_activities: bool | None = None
    list_id: int | None = None
    visibility: str | None = None
    department_id: int | None = None
    opt_in_email: bool | None = None
    opt_in_sms: bool | None = None
    opt_in_whatsapp: bool | None = None
    after: str | None = None
    limit: int = 50

    @classmethod
    def from_criteria(cls, criteria: dict[str, Any]) -> ContactQuery:
        known = {f.name for f in fields(cls)} - {"after", "limit", "list_id"}
        unknown = set(criteria) - known
        if unknown:
            raise ValidationError({"criteria": [f"unknown criteria: {', '.join(sorted(unknown))}"]})
        return cls(**criteria)

    def criteria(self) -> dict[str, Any]:
        skip = {"after", "limit", "list_id", "match"}
        return {f.name: getattr(self, f.name) for f in fields(self)
                if f.name not in skip and getattr(self, f.name) not in (None, [], "")}


def encode_cursor(sort_key: str, contact_id: int) -> str:
    return base64.urlsafe_b64encode(json.dumps([sort_key, contact_id]).encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[str, int]:
    try:
        key, cid = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        return str(key), int(cid)
    except (ValueError, TypeError):
        raise ValidationError({"after": ["is not a cursor returned by this API"]}) from None


def search_clause(tenant_id: int, q: str, match: str) -> ColumnElement[bool]:
    """The search ``q`` as one condition (counts, dynamic lists); pages are built by ``repo.search``."""
    from plugin_host.repo.search import search_condition

    return search_condition(tenant_id, q, match)


def letter_clause(letter: str) -> ColumnElement[bool]:
    letter = letter.upper()
    if letter not in LETTERS:
        raise ValidationError({"letter": [f"must be one of A-Z or #, got {letter!r}"]})
    if letter == "#":  # names without a leading letter a-z: their sort_key starts with "{" or later
        return C.c.sort_key >= AFTER_Z
    low = letter.lower()
    return and_(C.c.sort_key >= low, C.c.sort_key < chr(ord(low) + 1))


def filter_clauses(p: Principal, query: ContactQuery, search: bool = True) -> list[ColumnElement[bool]]:
    """The WHERE terms for ``query`` (the permission filter is added by the repository).

    ``search=False`` leaves out the search term (pages of a search are built by ``repo.search``).
    """
    out: list[ColumnElement[bool]] = []
    if search and query.q and query.q.strip():
        out.append(search_clause(p.tenant_id, query.q, query.match))
    if query.letter:
        out.append(letter_clause(query.letter))
    for name in ("status", "acquisition_source", "source_id", "account_id", "contact_type", "visibility",
                 "department_id", "opt_in_email", "opt_in_sms", "opt_in_whatsapp"):
        value = getattr(query, name)
        if value is not None:
            out.append(C.c[name] == value)
    if query.tag:
        like = f"%{escape_like(fold(query.tag))}%"
        out.append(exists().where(CT.c.contact_id == C.c.id, CT.c.tag_id == TAGS.c.id,
                                  TAGS.c.name_key.like(like, escape="\\")))
    for name in query.tags:
        out.append(exists().where(CT.c.contact_id == C.c.id, CT.c.tag_id == TAGS.c.id,
                                  TAGS.c.tenant_id == p.tenant_id, TAGS.c.name_key == fold(name)))
    if query.has_activities is not None:
        has = exists().where(ACT.c.contact_id == C.c.id, activity_read_filter(p, ACT))
        out.append(has if query.has_activities else ~has)
    if query.after:
        key, cid = decode_cursor(query.after)
        out.append(or_(C.c.sort_key > key, and_(C.c.sort_key == key, C.c.id > cid)))
    return out


def list_members_clause(list_id: int) -> ColumnElement[bool]:
    return C.c.id.in_(select(LM.c.contact_id).where(LM.c.list_id == list_id))
