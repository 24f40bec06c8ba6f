"""ContactRepository: every contact read and write, bound to a Principal, filtered in SQL."""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping, Sequence
from datetime import date
from typing import Any

from sqlalchemy import BigInteger, Integer, String, cast, delete, func, insert, literal, null, select, union_all, update
from sqlalchemy.dialects.postgresql import aggregate_order_by

from plugin_host.models import T, utcnow
from plugin_host.permissions import Action, Role, Scope, activity_read_filter, allowed, contact_read_filter, may_convert
from plugin_host.repo.base import Bound, insert_ignore
from plugin_host.repo.children import derived, display_name, email_rows, phone_rows
from plugin_host.repo.errors import NotFound, PermissionDenied, PreconditionFailed, ValidationError
from plugin_host.repo.query import (
    ACT,
    CT,
    EM,
    LM,
    PH,
    TAGS,
    C,
    ContactQuery,
    decode_cursor,
    encode_cursor,
    filter_clauses,
)
from plugin_host.repo.validation import validate_contact
from plugin_host.text import fold

CF, CFV, LISTS, DEPTS, USERS, ACCOUNTS, SUPP = (T[n] for n in (
    "custom_field_defs", "custom_field_values", "lists", "departments", "users", "accounts", "suppressed_externals"))
SCALARS = ("first_name", "last_name", "company", "account_id", "contact_type", "title", "org_department", "status",
           "acquisition_source", "preferred_channel", "language", "timezone", "notes", "fb_user_id",
           "external_crm_id", "external_crm_provider", "opt_in_email", "opt_in_sms", "opt_in_whatsapp")
DEFAULTS = {"contact_type": "customer", "status": "active", "opt_in_email": False, "opt_in_sms": False,
            "opt_in_whatsapp": False, "first_name": "", "last_name": ""}


#: A static list with at most this many members pages from its members (see ``ContactRepository._page``).
#: Above it, walking name order finds a page sooner: members are dense enough (at 1M contacts, 10,000
#: members are one contact in 100: about 5,000 rows walked for a page of 50).
FEW_MEMBERS = 10_000


def _phone(raw: str, e164: str | None, extension: str | None, label: str, kind: str) -> dict[str, Any]:
    return {"number": raw, "e164": e164, "extension": extension, "label": label, "kind": kind,
            "valid": kind != "invalid"}


def _json_agg(expr: Any, order: Any) -> Any:
    return func.json_agg(aggregate_order_by(expr, order))


def phones_emails_json(cid: Any) -> list[Any]:
    """PostgreSQL: contact ``cid``'s phones and e-mails as JSON arrays in position order (columns
    ``phones_json`` / ``emails_json``, which ``hydrate`` reads)."""
    return [
        select(_json_agg(func.json_build_array(PH.c.raw, PH.c.e164, PH.c.extension, PH.c.label, PH.c.kind),
                         PH.c.position)).where(PH.c.contact_id == cid).scalar_subquery().label("phones_json"),
        select(_json_agg(func.json_build_array(EM.c.address, EM.c.label), EM.c.position))
        .where(EM.c.contact_id == cid).scalar_subquery().label("emails_json"),
    ]


def etag(contact: Mapping[str, Any]) -> str:
    return f'"{contact["id"]}-{contact["version"]}"'


class ContactRepository(Bound):
    """The one way contacts are read and written; see DESIGN.md §2 and §4."""

    # ---------------------------------------------------------------- reads
    def visible(self) -> Any:
        return contact_read_filter(self.p, C)

    def _where(self, query: ContactQuery, search: bool = True) -> list[Any]:
        """Permission filter + filters (+ the search term unless ``search`` is False), all in SQL."""
        terms = [self.visible(), *filter_clauses(self.p, query, search=search)]
        if query.list_id is not None:
            from plugin_host.repo.lists import ListRepository

            terms.append(ListRepository(self.s, self.p).membership_clause(query.list_id))
        return terms

    def _few_members(self, list_id: int) -> bool:
        """Is ``list_id`` a static list of at most ``FEW_MEMBERS`` members? (Its readability is checked by
        ``_where``.) The count is bounded, so it costs at most that many index entries."""
        bounded = select(LM.c.contact_id).where(LM.c.list_id == list_id).limit(FEW_MEMBERS + 1).subquery()
        row = self.s.execute(select(LISTS.c.kind, select(func.count()).select_from(bounded).scalar_subquery())
                             .where(LISTS.c.id == list_id)).first()
        return row is not None and row[0] == "static" and row[1] <= FEW_MEMBERS

    def _page(self, query: ContactQuery, limit: int) -> Any:
        """The statement of one name-ordered page (no search term)."""
        where = self._where(query)
        if (query.list_id is not None and self.s.get_bind().dialect.name == "postgresql"
                and self._few_members(query.list_id)):
            # A small static list is paged from its members: every member's row by primary key, then a top-N
            # sort. PostgreSQL otherwise walks the whole tenant in name order until a page of members turns up
            # (85 ms for a 5,000-member list at 1M contacts). ``OFFSET 0`` keeps the inner query from being
            # merged into the ordered one, so the planner cannot turn it back into that walk. SQLite already
            # plans the plain ``id IN (members)`` query this way (rowid lookups, then a sort), and faster
            # than through a materialised subquery. The members are read and sorted by (id, sort_key) only,
            # and the page's rows by primary key after: carrying every member's whole row through the
            # sort cost a third of the statement (31 -> 20 ms for 5,000 members).
            members = select(C.c.id, C.c.sort_key).where(*where).offset(0).subquery("members")
            top = select(members.c.id).order_by(members.c.sort_key, members.c.id).limit(limit + 1)
            return select(C).where(C.c.id.in_(top)).order_by(C.c.sort_key, C.c.id).limit(limit + 1)
        return select(C).where(*where).order_by(C.c.sort_key, C.c.id).limit(limit + 1)

    def list(self, query: ContactQuery) -> dict[str, Any]:
        """One page, ordered by name with a stable keyset cursor (``next``)."""
        limit = max(1, min(int(query.limit or 50), self.page_max))
        pg = self.s.get_bind().dialect.name == "postgresql"
        if query.q and query.q.strip():
            from plugin_host.repo.search import SearchPager

            pager = SearchPager(self.s, self._where(query, search=False), self.s.get_bind().dialect.name,
                                children=self.children_columns if pg else None, children_key=self.p)
            after = decode_cursor(query.after) if query.after else None
            rows = pager.page(self.p.tenant_id, query.q, query.match, after, limit)
        elif pg:  # the page's rows with their children (JSON), one round trip
            page = self._page(query, limit).subquery("page")
            rows = self.s.execute(select(page, *self.children_columns(page.c.id))
                                  .order_by(page.c.sort_key, page.c.id)).mappings().all()
        else:
            rows = self.s.execute(self._page(query, limit)).mappings().all()
        more = len(rows) > limit
        rows = rows[:limit]
        nxt = encode_cursor(rows[-1]["sort_key"], rows[-1]["id"]) if more and rows else None
        return {"items": self.hydrate(rows), "next": nxt}

    def count(self, query: ContactQuery) -> int:
        q = ContactQuery(**{**query.__dict__, "after": None})
        return self.s.execute(select(func.count()).select_from(C).where(*self._where(q))).scalar_one()

    def iter_all(self, query: ContactQuery, batch: int = 1000) -> Iterator[dict[str, Any]]:
        """Every matching contact, in keyset batches (exports)."""
        q = ContactQuery(**{**query.__dict__, "limit": batch, "after": None})
        saved_max, self.page_max = self.page_max, batch
        try:
            while True:
                page = self.list(q)
                yield from page["items"]
                if not page["next"]:
                    return
                q.after = page["next"]
        finally:
            self.page_max = saved_max

    def _row(self, contact_id: int) -> Mapping[str, Any]:
        row = self.s.execute(select(C).where(C.c.id == contact_id, self.visible())).mappings().first()
        if row is None:
            raise NotFound(f"contact {contact_id} not found")
        return row

    def get(self, contact_id: int) -> dict[str, Any]:
        if self.s.get_bind().dialect.name == "postgresql":  # the row and its children in one round trip
            row = self.s.execute(select(C, *self.children_columns(C.c.id))
                                 .where(C.c.id == contact_id, self.visible())).mappings().first()
            if row is None:
                raise NotFound(f"contact {contact_id} not found")
            return self.hydrate([row])[0]
        return self.hydrate([self._row(contact_id)])[0]

    def hydrate(self, rows: Sequence[Mapping[str, Any]], *, light: bool = False) -> list[dict[str, Any]]:
        """Rows -> API dicts, with children fetched in one query per kind for the whole page.

        ``light`` loads phones and e-mails only (caller-ID answers, which must be fast).
        """
        ids = [r["id"] for r in rows]
        if not ids:
            return []
        phones, emails, tags, lists, custom, acts = ({i: [] for i in ids} for _ in range(6))
        if "phones_json" in rows[0] and (light or "tags_json" in rows[0]):
            self._children_from_json(rows, phones, emails, tags, lists, custom, acts)
        else:
            self._children(ids, phones, emails, tags, lists, custom, acts, light=light)
        out = []
        for r in rows:
            d = {k: r[k] for k in (*SCALARS, "id", "visibility", "department_id", "owner_id", "source_id",
                                   "external_id", "locally_modified", "version", "created_by", "updated_by")}
            d["display_name"] = display_name(r["first_name"], r["last_name"], r["company"])
            d["created_at"], d["updated_at"] = r["created_at"].isoformat(), r["updated_at"].isoformat()
            cid = r["id"]
            d.update(phones=phones[cid], emails=emails[cid])
            if not light:
                d.update(tags=tags[cid], lists=lists[cid], custom=dict(custom[cid]), activity_count=acts[cid] or 0)
            out.append(d)
        return out

    def children_columns(self, cid: Any) -> list[Any]:
        """PostgreSQL: a contact's phones, e-mails, tags, lists, custom values (JSON arrays, in the order
        ``hydrate`` gives them) and readable activity count, as columns of the row of contact ``cid``:
        a page and its children come in one round trip (computed for the page's rows only)."""
        return [
            *phones_emails_json(cid),
            select(_json_agg(TAGS.c.name, TAGS.c.name_key.collate("C"))).join_from(CT, TAGS, TAGS.c.id == CT.c.tag_id)
            .where(CT.c.contact_id == cid).scalar_subquery().label("tags_json"),
            select(_json_agg(LISTS.c.name, LISTS.c.name.collate("C"))).join_from(LM, LISTS, LISTS.c.id == LM.c.list_id)
            .where(LM.c.contact_id == cid).scalar_subquery().label("lists_json"),
            select(func.json_agg(func.json_build_array(CF.c.name, CFV.c.value)))
            .join_from(CFV, CF, CF.c.id == CFV.c.field_id).where(CFV.c.contact_id == cid)
            .scalar_subquery().label("custom_json"),
            select(func.count()).where(ACT.c.contact_id == cid, activity_read_filter(self.p, ACT))
            .scalar_subquery().label("activity_n"),
        ]

    @staticmethod
    def _children_from_json(rows: Sequence[Mapping[str, Any]], phones: dict, emails: dict, tags: dict,
                            lists: dict, custom: dict, acts: dict) -> None:
        for r in rows:
            cid = r["id"]
            phones[cid] = [_phone(*phone) for phone in r["phones_json"] or ()]
            emails[cid] = [{"address": address, "label": label} for address, label in r["emails_json"] or ()]
            if "tags_json" in r:
                tags[cid] = list(r["tags_json"] or ())
                lists[cid] = list(r["lists_json"] or ())
                custom[cid] = [tuple(pair) for pair in r["custom_json"] or ()]
                acts[cid] = r["activity_n"]

    def _children(self, ids: list[int], phones: dict, emails: dict, tags: dict, lists: dict, custom: dict,
                  acts: dict, light: bool = False) -> None:
        """Phones, e-mails, tags, lists, custom values and activity counts of a page (``light``: phones
        and e-mails only) in one round trip (UNION ALL; PostgreSQL reads them with the rows instead,
        see ``children_columns``)."""
        text_, num, pos = String(), BigInteger(), Integer()
        blank, none_n, no_pos = cast(null(), text_), cast(null(), num), cast(null(), pos)

        def part(kind: str, cid: Any, position: Any, *values: Any, n: Any = none_n) -> Any:
            values = (*values, *([blank] * (5 - len(values))))
            return select(literal(kind, text_), cid, position, *(cast(v, text_) for v in values), n)

        parts = [
            part("p", PH.c.contact_id, PH.c.position, PH.c.raw, PH.c.e164, PH.c.extension, PH.c.label, PH.c.kind)
            .where(PH.c.contact_id.in_(ids)),
            part("e", EM.c.contact_id, EM.c.position, EM.c.address, EM.c.label).where(EM.c.contact_id.in_(ids)),
        ]
        parts += [] if light else [
            part("t", CT.c.contact_id, no_pos, TAGS.c.name, TAGS.c.name_key)
            .join(TAGS, TAGS.c.id == CT.c.tag_id).where(CT.c.contact_id.in_(ids)),
            part("l", LM.c.contact_id, no_pos, LISTS.c.name, LISTS.c.name)
            .join(LISTS, LISTS.c.id == LM.c.list_id).where(LM.c.contact_id.in_(ids)),
            part("c", CFV.c.contact_id, no_pos, CF.c.name, CFV.c.value)
            .join(CF, CF.c.id == CFV.c.field_id).where(CFV.c.contact_id.in_(ids)),
            part("a", ACT.c.contact_id, no_pos, n=cast(func.count(), num))
            .where(ACT.c.contact_id.in_(ids), activity_read_filter(self.p, ACT)).group_by(ACT.c.contact_id),
        ]
        rows = self.s.execute(union_all(*parts)).all()
        for kind, cid, _pos, a, b, c, d, e, _n in sorted((r for r in rows if r[0] in "pe"), key=lambda r: r[2]):
            if kind == "p":
                phones[cid].append(_phone(a, b, c, d, e))
            else:
                emails[cid].append({"address": a, "label": b})
        for kind, cid, _pos, name, _key, *_ in sorted((r for r in rows if r[0] in "tl"), key=lambda r: (r[0], r[4])):
            (tags if kind == "t" else lists)[cid].append(name)
        for kind, cid, _pos, name, value, _c, _d, _e, n in rows:
            if kind == "c":
                custom[cid].append((name, value))
            elif kind == "a":
                acts[cid] = n

    # ---------------------------------------------------------------- scope helpers
    def default_scope(self) -> tuple[str, int | None, int | None]:
        if allowed(self.p, Action.CREATE, Scope.GLOBAL):
            return ("global", None, None)
        return ("private", None, self.p.user_id)

    def resolve_scope(self, values: Mapping[str, Any], current: tuple[str, Any, Any] | None = None
                      ) -> tuple[str, int | None, int | None]:
        vis = values.get("visibility") or (current[0] if current else self.default_scope()[0])
        if vis == "global":
            return ("global", None, None)
        if vis == "department":
            dept = values.get("department_id", current[1] if current and current[0] == vis else None)
            if dept is None:
                raise ValidationError({"department_id": ["is required when visibility is department"]})
            if self.s.execute(select(DEPTS.c.id).where(DEPTS.c.id == dept,
                                                       DEPTS.c.tenant_id == self.p.tenant_id)).first() is None:
                raise ValidationError({"department_id": [f"department {dept} does not exist"]})
            return ("department", dept, None)
        owner = values.get("owner_id", current[2] if current and current[0] == vis else None) or self.p.user_id
        if self.s.execute(select(USERS.c.id).where(USERS.c.id == owner,
                                                   USERS.c.tenant_id == self.p.tenant_id)).first() is None:
            raise ValidationError({"owner_id": [f"user {owner} does not exist"]})
        return ("private", None, owner)

    def _check_account(self, account_id: Any) -> None:
        if account_id is not None and self.s.execute(select(ACCOUNTS.c.id).where(
                ACCOUNTS.c.id == account_id, ACCOUNTS.c.tenant_id == self.p.tenant_id)).first() is None:
            raise ValidationError({"account_id": [f"account {account_id} does not exist"]})

    # ---------------------------------------------------------------- writes
    def create(self, data: Mapping[str, Any]) -> dict[str, Any]:
        values = validate_contact(data, partial=False)
        scope = self.resolve_scope(values)
        if not allowed(self.p, Action.CREATE, *scope):
            raise PermissionDenied(f"you may not create {scope[0]} contacts here")
        self._check_account(values.get("account_id"))
        custom = self.check_custom(values.get("custom") or {}, creating=True)
        row = {**DEFAULTS, **{k: values[k] for k in SCALARS if k in values and values[k] is not None}}
        phones, emails = phone_rows(values.get("phones", []), self.region), email_rows(values.get("emails", []))
        now = utcnow()
        row.update(derived(row, phones, emails), tenant_id=self.p.tenant_id, visibility=scope[0],
                   department_id=scope[1], owner_id=scope[2], acquisition_source=row.get("acquisition_source")
                   or "manual", created_by=self.p.user_id, updated_by=self.p.user_id, created_at=now,
                   updated_at=now, version=1)
        cid = self.s.execute(insert(C).values(row).returning(C.c.id)).scalar_one()
        self.write_children(cid, phones, emails, values.get("tags"), custom)
        self.audit("contact.create", "contact", cid, visibility=scope[0])
        self.changed("created", [cid])
        return self.get(cid)

    def update(self, contact_id: int, data: Mapping[str, Any], if_version: int | None = None) -> dict[str, Any]:
        current = self._row(contact_id)
        if not allowed(self.p, Action.UPDATE, current["visibility"], current["department_id"], current["owner_id"]):
            raise PermissionDenied("you may read this contact but not edit it")
        if if_version is not None and if_version != current["version"]:
            raise PreconditionFailed(f"contact {contact_id} was changed by someone else (now version "
                                     f"{current['version']}); reload and retry")
        values = validate_contact(data, partial=True)
        if any(k in values for k in ("visibility", "department_id", "owner_id")):
            raise ValidationError({"visibility": ["change scope with the convert action"]})
        self._check_account(values.get("account_id"))
        custom = self.check_custom(values["custom"], creating=False) if "custom" in values else None
        merged = {**current, **{k: values[k] for k in SCALARS if k in values}}
        for k in ("first_name", "last_name"):
            merged[k] = merged[k] or ""
        if not any(merged.get(k) for k in ("first_name", "last_name", "company")):
            raise ValidationError({"first_name": ["is required (a contact needs a first name, last name or company)"]})
        phones = phone_rows(values["phones"], self.region) if "phones" in values else self._phone_rows(contact_id)
        emails = email_rows(values["emails"]) if "emails" in values else self._email_rows(contact_id)
        changes = {k: merged[k] for k in SCALARS}
        changes.update(derived(merged, phones, emails), updated_by=self.p.user_id, updated_at=utcnow(),
                       version=current["version"] + 1,
                       locally_modified=current["locally_modified"] or current["source_id"] is not None)
        res = self.s.execute(update(C).where(C.c.id == contact_id, C.c.version == current["version"]).values(changes))
        if res.rowcount != 1:
            raise PreconditionFailed(f"contact {contact_id} was changed concurrently; reload and retry")
        self.write_children(contact_id, phones if "phones" in values else None,
                            emails if "emails" in values else None, values.get("tags"), custom)
        self.audit("contact.update", "contact", contact_id, fields=sorted(values))
        self.changed("updated", [contact_id])
        return self.get(contact_id)

    def delete(self, contact_id: int) -> None:
        current = self._row(contact_id)
        if not allowed(self.p, Action.DELETE, current["visibility"], current["department_id"], current["owner_id"]):
            raise PermissionDenied("you may read this contact but not delete it")
        self._delete_ids([current])
        self.audit("contact.delete", "contact", contact_id, name=display_name(
            current["first_name"], current["last_name"], current["company"]))
        self.changed("deleted", [contact_id])

    def _delete_ids(self, rows: Sequence[Mapping[str, Any]]) -> None:
        synced = [{"source_id": r["source_id"], "external_id": r["external_id"]} for r in rows
                  if r["source_id"] is not None and r["external_id"] is not None]
        insert_ignore(self.s, SUPP, synced)  # a locally deleted synced contact must not come back
        ids = [r["id"] for r in rows]
        for table in (ACT, PH, EM, CT, LM, CFV):
            self.s.execute(delete(table).where(table.c.contact_id.in_(ids)))
        self.s.execute(delete(C).where(C.c.id.in_(ids)))

    def convert(self, contact_id: int, visibility: str, department_id: int | None = None,
                owner_id: int | None = None) -> dict[str, Any]:
        """Move a contact between scopes (private -> department -> global and back)."""
        current = self._row(contact_id)
        if visibility not in {s.value for s in Scope}:
            raise ValidationError({"visibility": [f"{visibility!r} is not one of global, department, private"]})
        new = self.resolve_scope({"visibility": visibility, "department_id": department_id, "owner_id": owner_id})
        old = (current["visibility"], current["department_id"], current["owner_id"])
        if not may_convert(self.p, old, new):
            raise PermissionDenied(f"you may not convert this {old[0]} contact to {new[0]}")
        self.s.execute(update(C).where(C.c.id == contact_id).values(
            visibility=new[0], department_id=new[1], owner_id=new[2], version=current["version"] + 1,
            updated_by=self.p.user_id, updated_at=utcnow()))
        self.audit("contact.convert", "contact", contact_id, old=list(old), new=list(new))
        self.changed("updated", [contact_id])
        return self.get(contact_id)

    # ---------------------------------------------------------------- children
    def _phone_rows(self, cid: int) -> list[dict[str, Any]]:
        cols = ("position", "label", "raw", "e164", "national", "extension", "kind", "digits_rev")
        res = self.s.execute(select(*(PH.c[k] for k in cols)).where(PH.c.contact_id == cid).order_by(PH.c.position))
        return [dict(r) for r in res.mappings()]

    def _email_rows(self, cid: int) -> list[dict[str, Any]]:
        cols = ("position", "label", "address", "address_key")
        res = self.s.execute(select(*(EM.c[k] for k in cols)).where(EM.c.contact_id == cid).order_by(EM.c.position))
        return [dict(r) for r in res.mappings()]

    def write_children(self, cid: int, phones: list[dict[str, Any]] | None, emails: list[dict[str, Any]] | None,
                       tags: Sequence[str] | None, custom: dict[int, str] | None) -> None:
        tid = self.p.tenant_id
        if phones is not None:
            self.s.execute(delete(PH).where(PH.c.contact_id == cid))
            if phones:
                self.s.execute(insert(PH), [{**p, "contact_id": cid, "tenant_id": tid} for p in phones])
        if emails is not None:
            self.s.execute(delete(EM).where(EM.c.contact_id == cid))
            if emails:
                self.s.execute(insert(EM), [{**e, "contact_id": cid, "tenant_id": tid} for e in emails])
        if tags is not None:
            self.s.execute(delete(CT).where(CT.c.contact_id == cid))
            ids = self.ensure_tags(tags)
            insert_ignore(self.s, CT, [{"contact_id": cid, "tag_id": t} for t in ids.values()])
        if custom is not None:
            self.s.execute(delete(CFV).where(CFV.c.contact_id == cid, CFV.c.field_id.in_(list(custom))))
            rows = [{"contact_id": cid, "field_id": f, "value": v} for f, v in custom.items() if v != ""]
            if rows:
                self.s.execute(insert(CFV), rows)

    def ensure_tags(self, names: Sequence[str]) -> dict[str, int]:
        """Tag ids by folded name, creating the missing tags."""
        wanted = {fold(n): n.strip() for n in names if n and n.strip()}
        if not wanted:
            return {}
        where = (TAGS.c.tenant_id == self.p.tenant_id, TAGS.c.name_key.in_(list(wanted)))
        have = dict(self.s.execute(select(TAGS.c.name_key, TAGS.c.id).where(*where)).all())
        missing = [{"tenant_id": self.p.tenant_id, "name": wanted[k][:100], "name_key": k[:100]}
                   for k in wanted if k not in have]
        if missing:
            insert_ignore(self.s, TAGS, missing)
            have = dict(self.s.execute(select(TAGS.c.name_key, TAGS.c.id).where(*where)).all())
        return have

    def check_custom(self, values: Mapping[str, Any], *, creating: bool) -> dict[int, str]:
        """Validate custom-field values against the tenant's definitions; returns field id -> text."""
        defs = {r["name"]: r for r in self.s.execute(select(CF).where(
            CF.c.tenant_id == self.p.tenant_id, CF.c.entity == "contact")).mappings()}
        errors: dict[str, list[str]] = {}
        out: dict[int, str] = {}
        for name, value in values.items():
            d = defs.get(name)
            if d is None:
                errors[f"custom.{name}"] = ["is not a defined custom field"]
                continue
            try:
                out[d["id"]] = _custom_value(d, value)
            except ValueError as exc:
                errors[f"custom.{name}"] = [str(exc)]
        if creating:
            for name, d in defs.items():
                if d["required"] and not out.get(d["id"]):
                    errors.setdefault(f"custom.{name}", []).append("is required")
        if errors:
            raise ValidationError(errors)
        return out

    # ---------------------------------------------------------------- bulk
    def bulk(self, ids: Sequence[int], action: str, **params: Any) -> dict[str, Any]:
        """Grid actions on many contacts: add_tag, remove_tag, add_to_list, assign_to_queue, delete."""
        if not ids:
            raise ValidationError({"ids": ["select at least one contact"]})
        if len(ids) > 10000:
            raise ValidationError({"ids": ["at most 10000 contacts per bulk action"]})
        rows = self.s.execute(select(C).where(C.c.id.in_(list(ids)), self.visible())).mappings().all()
        found = {r["id"] for r in rows}
        missing = [i for i in ids if i not in found]
        handler = {"add_tag": self._bulk_tag, "remove_tag": self._bulk_tag, "add_to_list": self._bulk_list,
                   "assign_to_queue": self._bulk_queue, "delete": self._bulk_delete}.get(action)
        if handler is None:
            raise ValidationError({"action": [f"{action!r} is not one of add_tag, remove_tag, add_to_list, "
                                              "assign_to_queue, delete"]})
        done, denied = handler(rows, action, **params)
        self.audit(f"contact.bulk.{action}", "contact", None, count=len(done), params=params)
        self.changed("deleted" if action == "delete" else "updated", done)
        return {"action": action, "done": len(done), "denied": sorted(denied), "not_found": missing}

    def _editable(self, rows: Sequence[Mapping[str, Any]], action: Action = Action.UPDATE) -> tuple[list, list]:
        ok, denied = [], []
        for r in rows:
            (ok if allowed(self.p, action, r["visibility"], r["department_id"], r["owner_id"]) else denied).append(r)
        return ok, [r["id"] for r in denied]

    def _bulk_tag(self, rows: Sequence[Mapping[str, Any]], action: str, tag: str = "", **_: Any) -> tuple:
        if not tag or not tag.strip():
            raise ValidationError({"tag": ["is required"]})
        ok, denied = self._editable(rows)
        ids = [r["id"] for r in ok]
        if action == "add_tag":
            tag_id = self.ensure_tags([tag])[fold(tag)]
            insert_ignore(self.s, CT, [{"contact_id": i, "tag_id": tag_id} for i in ids])
        else:
            tag_ids = select(TAGS.c.id).where(TAGS.c.tenant_id == self.p.tenant_id, TAGS.c.name_key == fold(tag))
            self.s.execute(delete(CT).where(CT.c.contact_id.in_(ids), CT.c.tag_id.in_(tag_ids)))
        self._touch(ids)
        return ids, denied

    def _bulk_list(self, rows: Sequence[Mapping[str, Any]], action: str, list_id: int | None = None, **_: Any) -> tuple:
        from plugin_host.repo.lists import ListRepository

        if list_id is None:
            raise ValidationError({"list_id": ["is required"]})
        ids = [r["id"] for r in rows]
        ListRepository(self.s, self.p).add_members(list_id, ids)
        return ids, []

    def _bulk_queue(self, rows: Sequence[Mapping[str, Any]], action: str, department_id: int | None = None,
                    **_: Any) -> tuple:
        if department_id is None:
            raise ValidationError({"department_id": ["is required"]})
        new = self.resolve_scope({"visibility": "department", "department_id": department_id})
        ok, denied = [], []
        for r in rows:
            old = (r["visibility"], r["department_id"], r["owner_id"])
            (ok if may_convert(self.p, old, new) else denied).append(r["id"])
        if ok:
            self.s.execute(update(C).where(C.c.id.in_(ok)).values(
                visibility="department", department_id=department_id, owner_id=None, version=C.c.version + 1,
                updated_by=self.p.user_id, updated_at=utcnow()))
        return ok, denied

    def _bulk_delete(self, rows: Sequence[Mapping[str, Any]], action: str, **_: Any) -> tuple:
        ok, denied = self._editable(rows, Action.DELETE)
        if ok:
            self._delete_ids(ok)
        return [r["id"] for r in ok], denied

    def _touch(self, ids: Sequence[int]) -> None:
        if ids:
            self.s.execute(update(C).where(C.c.id.in_(list(ids))).values(
                version=C.c.version + 1, updated_by=self.p.user_id, updated_at=utcnow()))

    @property
    def is_admin(self) -> bool:
        return self.p.role is Role.ADMIN


def _custom_value(d: Mapping[str, Any], value: Any) -> str:
    kind = d["field_type"]
    if value is None or value == "":
        return ""
    if kind == "number":
        try:  # bool is an int to Python, and float() also takes "nan"/"inf": none is a number here
            ok = not isinstance(value, bool) and math.isfinite(float(value))
        except (TypeError, ValueError):
            ok = False
        if not ok:
            raise ValueError(f"{value!r} is not a number")
        return str(value).strip()
    if kind == "date":
        try:
            return date.fromisoformat(str(value)).isoformat()
        except ValueError:
            raise ValueError(f"{value!r} is not a date (YYYY-MM-DD)") from None
    if kind == "checkbox":
        if isinstance(value, bool):
            return "true" if value else "false"
        v = str(value).strip().lower()
        if v not in {"true", "false", "1", "0", "yes", "no"}:
            raise ValueError(f"{value!r} is not true or false")
        return "true" if v in {"true", "1", "yes"} else "false"
    if kind == "select":
        if str(value) not in (d["options"] or []):
            raise ValueError(f"{value!r} is not one of {', '.join(d['options'] or [])}")
        return str(value)
    return str(value)


