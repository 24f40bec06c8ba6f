"""Static and dynamic lists (live counts), tags, accounts and custom-field definitions."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import delete, func, insert, select, update

from plugin_host.models import T, utcnow
from plugin_host.permissions import Action, allowed, contact_read_filter, may, scoped_filter
from plugin_host.repo.base import Bound, insert_ignore
from plugin_host.repo.errors import NotFound, PermissionDenied, ValidationError
from plugin_host.repo.query import CT, LM, TAGS, C, ContactQuery, filter_clauses, list_members_clause
from plugin_host.text import fold

LISTS, ACCOUNTS, CF, CFV = (T[n] for n in ("lists", "accounts", "custom_field_defs", "custom_field_values"))
FIELD_TYPES = ("text", "number", "date", "select", "checkbox", "textarea")
FIELD_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,63}$")


class ListRepository(Bound):
    """Lists share the contacts' scopes and permission matrix: a private list is its owner's."""

    def _list_row(self, list_id: int) -> Mapping[str, Any]:
        row = self.s.execute(select(LISTS).where(LISTS.c.id == list_id, scoped_filter(self.p, Action.READ, LISTS))
                             ).mappings().first()
        if row is None:
            raise NotFound(f"list {list_id} not found")
        return row

    def membership_clause(self, list_id: int) -> Any:
        row = self._list_row(list_id)
        if row["kind"] == "static":
            return list_members_clause(list_id)
        from sqlalchemy import and_

        return and_(*filter_clauses(self.p, ContactQuery.from_criteria(row["criteria"] or {})))

    def count(self, list_id: int) -> int:
        where = [contact_read_filter(self.p, C), self.membership_clause(list_id)]
        return self.s.execute(select(func.count()).select_from(C).where(*where)).scalar_one()

    def _dict(self, row: Mapping[str, Any], with_count: bool) -> dict[str, Any]:
        d = {k: row[k] for k in ("id", "name", "kind", "description", "criteria", "visibility", "department_id",
                                 "owner_id")}
        d["created_at"] = row["created_at"].isoformat()
        if with_count:
            d["count"] = self.count(row["id"])
        return d

    def all(self, with_counts: bool = True) -> list[dict[str, Any]]:
        rows = self.s.execute(select(LISTS).where(scoped_filter(self.p, Action.READ, LISTS))
                              .order_by(LISTS.c.name)).mappings().all()
        return [self._dict(r, with_counts) for r in rows]

    def get(self, list_id: int) -> dict[str, Any]:
        return self._dict(self._list_row(list_id), True)

    def _validate(self, data: Mapping[str, Any], partial: bool) -> dict[str, Any]:
        errors: dict[str, list[str]] = {}
        out: dict[str, Any] = {}
        if "name" in data or not partial:
            name = str(data.get("name") or "").strip()
            if not name or len(name) > 200:
                errors["name"] = ["is required (at most 200 characters)"]
            out["name"] = name
        if "kind" in data or not partial:
            kind = data.get("kind") or "static"
            if kind not in ("static", "dynamic"):
                errors["kind"] = [f"{kind!r} is not one of static, dynamic"]
            out["kind"] = kind
        if "description" in data:
            out["description"] = str(data["description"] or "")
        if "criteria" in data:
            try:
                ContactQuery.from_criteria(dict(data["criteria"] or {}))
            except (ValidationError, TypeError) as exc:
                errors["criteria"] = [str(exc)]
            out["criteria"] = dict(data["criteria"] or {})
        if errors:
            raise ValidationError(errors)
        return out

    def create(self, data: Mapping[str, Any]) -> dict[str, Any]:
        from plugin_host.repo.contacts import ContactRepository

        values = self._validate(data, partial=False)
        scope_in = {k: data[k] for k in ("visibility", "department_id", "owner_id") if k in data}
        scope = ContactRepository(self.s, self.p).resolve_scope(scope_in)
        if not allowed(self.p, Action.CREATE, *scope):
            raise PermissionDenied(f"you may not create {scope[0]} lists")
        self._unique(values["name"])
        row = {"description": "", "criteria": {}, **values, "tenant_id": self.p.tenant_id, "visibility": scope[0],
               "department_id": scope[1], "owner_id": scope[2], "created_by": self.p.user_id,
               "created_at": utcnow()}
        list_id = self.s.execute(insert(LISTS).values(row).returning(LISTS.c.id)).scalar_one()
        self.audit("list.create", "list", list_id, name=values["name"], kind=values["kind"])
        return self.get(list_id)

    def _unique(self, name: str, except_id: int | None = None) -> None:
        q = select(LISTS.c.id).where(LISTS.c.tenant_id == self.p.tenant_id, LISTS.c.name == name)
        found = self.s.execute(q).scalar()
        if found is not None and found != except_id:
            raise ValidationError({"name": [f"a list named {name!r} already exists"]})

    def _writable(self, list_id: int) -> Mapping[str, Any]:
        row = self._list_row(list_id)
        if not allowed(self.p, Action.UPDATE, row["visibility"], row["department_id"], row["owner_id"]):
            raise PermissionDenied("you may see this list but not change it")
        return row

    def update(self, list_id: int, data: Mapping[str, Any]) -> dict[str, Any]:
        row = self._writable(list_id)
        values = self._validate(data, partial=True)
        if "kind" in values and values["kind"] != row["kind"]:
            raise ValidationError({"kind": ["cannot change between static and dynamic"]})
        if "name" in values:
            self._unique(values["name"], list_id)
        if values:
            self.s.execute(update(LISTS).where(LISTS.c.id == list_id).values(values))
        self.audit("list.update", "list", list_id, fields=sorted(values))
        return self.get(list_id)

    def delete(self, list_id: int) -> None:
        self._writable(list_id)
        self.s.execute(delete(LM).where(LM.c.list_id == list_id))
        self.s.execute(delete(LISTS).where(LISTS.c.id == list_id))
        self.audit("list.delete", "list", list_id)

    def add_members(self, list_id: int, contact_ids: Sequence[int]) -> int:
        row = self._writable(list_id)
        if row["kind"] != "static":
            raise ValidationError({"list_id": ["members can only be added to a static list"]})
        readable = self.s.execute(select(C.c.id).where(C.c.id.in_(list(contact_ids)),
                                                       contact_read_filter(self.p, C))).scalars().all()
        insert_ignore(self.s, LM, [{"list_id": list_id, "contact_id": cid, "added_at": utcnow()} for cid in readable])
        self.audit("list.add_members", "list", list_id, count=len(readable))
        return len(readable)

    def remove_members(self, list_id: int, contact_ids: Sequence[int]) -> int:
        """Removes membership only; the contacts stay."""
        self._writable(list_id)
        res = self.s.execute(delete(LM).where(LM.c.list_id == list_id, LM.c.contact_id.in_(list(contact_ids))))
        self.audit("list.remove_members", "list", list_id, count=res.rowcount)
        return res.rowcount

    def find_or_create_static(self, name: str) -> int:
        found = self.s.execute(select(LISTS.c.id, LISTS.c.kind).where(
            LISTS.c.tenant_id == self.p.tenant_id, LISTS.c.name == name.strip())).first()
        if found is not None:
            if found.kind != "static":
                raise ValidationError({"_list": [f"list {name!r} is dynamic; contacts cannot be added to it"]})
            self._writable(found.id)
            return found.id
        return self.create({"name": name.strip(), "kind": "static"})["id"]


class TagRepository(Bound):
    def all(self) -> list[dict[str, Any]]:
        visible = select(CT.c.tag_id, func.count().label("n")).join(C, C.c.id == CT.c.contact_id).where(
            contact_read_filter(self.p, C)).group_by(CT.c.tag_id).subquery()
        rows = self.s.execute(select(TAGS.c.id, TAGS.c.name, func.coalesce(visible.c.n, 0))
                              .outerjoin(visible, visible.c.tag_id == TAGS.c.id)
                              .where(TAGS.c.tenant_id == self.p.tenant_id).order_by(TAGS.c.name_key))
        return [{"id": i, "name": n, "count": c} for i, n, c in rows]

    def _admin(self) -> None:
        if not may(self.p, "tags:manage"):
            raise PermissionDenied("you may not manage tags")

    def rename(self, tag_id: int, name: str) -> dict[str, Any]:
        self._admin()
        name = (name or "").strip()
        if not name:
            raise ValidationError({"name": ["is required"]})
        res = self.s.execute(update(TAGS).where(TAGS.c.id == tag_id, TAGS.c.tenant_id == self.p.tenant_id)
                             .values(name=name, name_key=fold(name)))
        if res.rowcount != 1:
            raise NotFound(f"tag {tag_id} not found")
        self.audit("tag.rename", "tag", tag_id, name=name)
        return {"id": tag_id, "name": name}

    def delete(self, tag_id: int) -> None:
        self._admin()
        if self.s.execute(select(TAGS.c.id).where(TAGS.c.id == tag_id, TAGS.c.tenant_id == self.p.tenant_id)
                          ).first() is None:
            raise NotFound(f"tag {tag_id} not found")
        self.s.execute(delete(CT).where(CT.c.tag_id == tag_id))
        self.s.execute(delete(TAGS).where(TAGS.c.id == tag_id))
        self.audit("tag.delete", "tag", tag_id)


class AccountRepository(Bound):
    def all(self) -> list[dict[str, Any]]:
        rows = self.s.execute(select(ACCOUNTS).where(ACCOUNTS.c.tenant_id == self.p.tenant_id)
                              .order_by(ACCOUNTS.c.name_key)).mappings()
        return [{"id": r["id"], "name": r["name"], "website": r["website"]} for r in rows]

    def create(self, data: Mapping[str, Any]) -> dict[str, Any]:
        if not may(self.p, "accounts:manage"):
            raise PermissionDenied("you may not manage accounts")
        name = str(data.get("name") or "").strip()
        if not name or len(name) > 200:
            raise ValidationError({"name": ["is required (at most 200 characters)"]})
        if self.s.execute(select(ACCOUNTS.c.id).where(ACCOUNTS.c.tenant_id == self.p.tenant_id,
                                                      ACCOUNTS.c.name_key == fold(name))).first():
            raise ValidationError({"name": [f"an account named {name!r} already exists"]})
        aid = self.s.execute(insert(ACCOUNTS).values(tenant_id=self.p.tenant_id, name=name, name_key=fold(name),
                                                     website=data.get("website"), created_at=utcnow())
                             .returning(ACCOUNTS.c.id)).scalar_one()
        self.audit("account.create", "account", aid, name=name)
        return {"id": aid, "name": name, "website": data.get("website")}

    def delete(self, account_id: int) -> None:
        if not may(self.p, "accounts:manage"):
            raise PermissionDenied("you may not manage accounts")
        res = self.s.execute(delete(ACCOUNTS).where(ACCOUNTS.c.id == account_id,
                                                    ACCOUNTS.c.tenant_id == self.p.tenant_id))
        if res.rowcount != 1:
            raise NotFound(f"account {account_id} not found")
        self.audit("account.delete", "account", account_id)


class CustomFieldRepository(Bound):
    def all(self) -> list[dict[str, Any]]:
        rows = self.s.execute(select(CF).where(CF.c.tenant_id == self.p.tenant_id)
                              .order_by(CF.c.sort_order, CF.c.name)).mappings()
        return [{k: r[k] for k in ("id", "entity", "name", "label", "field_type", "options", "required",
                                   "sort_order")} for r in rows]

    def create(self, data: Mapping[str, Any]) -> dict[str, Any]:
        if not may(self.p, "custom_fields:manage"):
            raise PermissionDenied("you may not manage custom fields")
        errors: dict[str, list[str]] = {}
        name = str(data.get("name") or "")
        if not FIELD_NAME.match(name):
            errors["name"] = ["must start with a letter and contain only letters, digits and underscores"]
        ftype = data.get("field_type") or "text"
        if ftype not in FIELD_TYPES:
            errors["field_type"] = [f"{ftype!r} is not one of {', '.join(FIELD_TYPES)}"]
        options = data.get("options") or []
        if isinstance(options, str):
            options = [o.strip() for o in options.split(",") if o.strip()]
        if ftype == "select" and not options:
            errors["options"] = ["a select field needs at least one option"]
        entity = data.get("entity") or "contact"
        if entity not in ("contact", "account", "lead"):
            errors["entity"] = [f"{entity!r} is not one of contact, account, lead"]
        if not errors and self.s.execute(select(CF.c.id).where(
                CF.c.tenant_id == self.p.tenant_id, CF.c.entity == entity, CF.c.name == name)).first():
            errors["name"] = [f"a custom field named {name!r} already exists"]
        if errors:
            raise ValidationError(errors)
        row = {"tenant_id": self.p.tenant_id, "entity": entity, "name": name, "label": data.get("label") or name,
               "field_type": ftype, "options": list(options), "required": bool(data.get("required")),
               "sort_order": int(data.get("sort_order") or 0)}
        fid = self.s.execute(insert(CF).values(row).returning(CF.c.id)).scalar_one()
        self.audit("custom_field.create", "custom_field", fid, name=name)
        return {"id": fid, **{k: v for k, v in row.items() if k != "tenant_id"}}

    def delete(self, field_id: int) -> None:
        if not may(self.p, "custom_fields:manage"):
            raise PermissionDenied("you may not manage custom fields")
        if self.s.execute(select(CF.c.id).where(CF.c.id == field_id, CF.c.tenant_id == self.p.tenant_id)
                          ).first() is None:
            raise NotFound(f"custom field {field_id} not found")
        self.s.execute(delete(CFV).where(CFV.c.field_id == field_id))
        self.s.execute(delete(CF).where(CF.c.id == field_id))
        self.audit("custom_field.delete", "custom_field", field_id)
