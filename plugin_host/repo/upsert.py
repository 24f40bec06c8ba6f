"""The one batched upsert behind every import and every sync (DESIGN.md §2, "In")."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import and_, delete, func, insert, or_, select, update

from plugin_host.models import T, utcnow
from plugin_host.permissions import Action, allowed, scoped_filter
from plugin_host.records import ContactRecord
from plugin_host.repo.base import Bound, insert_ignore
from plugin_host.repo.children import derived, email_rows, phone_rows
from plugin_host.repo.contacts import DEFAULTS, SCALARS, ContactRepository, _custom_value
from plugin_host.repo.errors import NotFound, PermissionDenied, RepositoryError, ValidationError
from plugin_host.repo.lists import ListRepository
from plugin_host.repo.query import CT, EM, LM, PH, C
from plugin_host.repo.validation import ENUMS, validate_contact

CFV, SUPP, CF, DEPTS, USERS, LISTS = (T[n] for n in (
    "custom_field_values", "suppressed_externals", "custom_field_defs", "departments", "users", "lists"))
MATCH_KEYS = ("email", "phone", "mobile", "external_crm_id")
SCOPE_WORDS = {"all": "global", "global": "global", "queue": "department", "department": "department",
               "owner": "private", "private": "private"}
_FTS_TRIGGERS = {  # migration 0003's triggers (whitespace-normalised); anything else is left alone
    "contacts_fts_ai": "CREATE TRIGGER contacts_fts_ai AFTER INSERT ON contacts BEGIN INSERT INTO "
                       "contacts_fts(rowid, search_text) VALUES (new.id, new.search_text); END",
    "contacts_fts_au": "CREATE TRIGGER contacts_fts_au AFTER UPDATE OF search_text ON contacts BEGIN UPDATE "
                       "contacts_fts SET search_text = new.search_text WHERE rowid = new.id; END",
}
RECORD_FIELDS = [f for f in SCALARS if f != "account_id"]
NULLABLE_ENUMS = ("acquisition_source", "preferred_channel")


@dataclass
class UpsertOptions:
    """How a batch is applied. ``source_id`` set means sync (match on external id)."""

    source_id: int | None = None
    run_id: int | None = None
    match_keys: tuple[str, ...] = ("email",)
    on_duplicate: str = "update"  # update | skip
    blank_clears: bool = False
    visibility: str | None = None
    department_id: int | None = None
    owner_id: int | None = None
    list_id: int | None = None
    dry_run: bool = False
    acquisition_source: str = "import"
    respect_local_edits: bool = True


@dataclass
class RowOutcome:
    status: str  # created | updated | skipped | error
    contact_id: int | None = None
    message: str = ""


@dataclass
class _Item:
    index: int
    values: dict[str, Any]
    phones: list[dict[str, Any]] | None
    emails: list[dict[str, Any]] | None
    tags: tuple[str, ...]
    lists: tuple[str, ...]
    custom: dict[int, str]
    scope: tuple[str, int | None, int | None]
    keys: list[str] = field(default_factory=list)
    external_id: str | None = None


class Upserter(Bound):
    """Applies ContactRecords in batches; holds per-run state (dry-run duplicates, caches)."""

    def __init__(self, *args: Any, options: UpsertOptions, **kw: Any) -> None:
        super().__init__(*args, **kw)
        self.o = options
        self.contacts = ContactRepository(self.s, self.p, region=self.region)
        for k in options.match_keys:
            if k not in MATCH_KEYS:
                raise ValidationError({"match_keys": [f"{k!r} is not one of {', '.join(MATCH_KEYS)}"]})
        if options.on_duplicate not in ("update", "skip"):
            raise ValidationError({"on_duplicate": [f"{options.on_duplicate!r} is not one of update, skip"]})
        self.scope = self._target_scope()
        if options.list_id is not None:  # must be a static list of this tenant the principal may change
            target = ListRepository(self.s, self.p)._writable(options.list_id)
            if target["kind"] != "static":
                raise ValidationError({"list_id": ["contacts can only be added to a static list"]})
        self._defs = {r["name"]: r for r in self.s.execute(select(CF).where(
            CF.c.tenant_id == self.p.tenant_id, CF.c.entity == "contact")).mappings()}
        self._list_ids: dict[str, int] = {}
        self._list_checks: dict[str, RepositoryError | None] = {}
        self._scope_cache: dict[tuple[Any, ...], tuple[str, int | None, int | None]] = {}
        self._dry_keys: dict[str, int] = {}
        self._dry_seen: set[str] = set()
        self._fts_sql: dict[str, str] | None = None
        self._fts_now = False
        self.counts = {"created": 0, "updated": 0, "skipped": 0, "error": 0}

    # ------------------------------------------------------------ scope & validation
    def _target_scope(self) -> tuple[str, int | None, int | None]:
        o = self.o
        if o.visibility is None:
            scope = self.contacts.default_scope() if self.o.source_id is None else ("global", None, None)
        else:
            scope = self.contacts.resolve_scope({"visibility": o.visibility, "department_id": o.department_id,
                                                 "owner_id": o.owner_id})
        if o.source_id is None and not allowed(self.p, Action.IMPORT, *scope):
            raise PermissionDenied(f"you may not import into {scope[0]} contacts"
                                   + (" (agents import only into their private contacts)" if scope[0] != "private"
                                      else ""))
        return scope

    def _row_scope(self, rec: ContactRecord) -> tuple[str, int | None, int | None]:
        if not (rec.visibility or rec.department or rec.assigned_to):
            return self.scope
        key = (rec.visibility, rec.department, rec.assigned_to)
        if key not in self._scope_cache:
            self._scope_cache[key] = self._resolve_row_scope(rec)
        return self._scope_cache[key]

    def _resolve_row_scope(self, rec: ContactRecord) -> tuple[str, int | None, int | None]:
        vis = SCOPE_WORDS.get((rec.visibility or "").strip().lower()) if rec.visibility else None
        if rec.visibility and vis is None:
            raise ValidationError({"visibility": [f"{rec.visibility!r} is not one of All, Queue, Owner"]})
        dept_id = owner_id = None
        if rec.department:
            dept_id = self.s.execute(select(DEPTS.c.id).where(DEPTS.c.tenant_id == self.p.tenant_id,
                                                              DEPTS.c.name == rec.department.strip())).scalar()
            if dept_id is None:
                raise ValidationError({"department": [f"no department/queue named {rec.department!r}"]})
            vis = vis or "department"
        if rec.assigned_to:
            owner_id = self.s.execute(select(USERS.c.id).where(USERS.c.tenant_id == self.p.tenant_id, or_(
                USERS.c.username == rec.assigned_to.strip(), USERS.c.email == rec.assigned_to.strip()))).scalar()
            if owner_id is None:
                raise ValidationError({"assigned_to": [f"no user {rec.assigned_to!r}"]})
            vis = vis or "private"
        scope = self.contacts.resolve_scope({"visibility": vis, "department_id": dept_id, "owner_id": owner_id})
        if self.o.source_id is None and not allowed(self.p, Action.IMPORT, *scope):
            raise ValidationError({"visibility": [f"you may not import into {scope[0]} contacts"]})
        return scope

    def _prepare(self, index: int, rec: ContactRecord) -> _Item:
        clears = self.o.blank_clears
        data: dict[str, Any] = {}
        cleared: list[str] = []
        for name in RECORD_FIELDS:
            v = getattr(rec, name)
            if v is None or (v == "" and not clears):
                continue
            if v == "" and name in ENUMS:  # a blank choice clears an optional one; status/type stay
                if name in NULLABLE_ENUMS:
                    cleared.append(name)
                continue
            data[name] = v
        phones = [{"number": p.number, "label": p.label} for p in rec.phones or () if p.number.strip()]
        if rec.phones is not None and (phones or clears):  # blank numbers are blanks, not "no phones"
            data["phones"] = phones
        emails = [{"address": e.address, "label": e.label} for e in rec.emails or () if e.address.strip()]
        if rec.emails is not None and (emails or clears):
            data["emails"] = emails
        values = validate_contact(data, partial=True)
        values.update(dict.fromkeys(cleared))
        for name in rec.lists or ():
            self._check_list(name)
        custom: dict[int, str] = {}
        for name, raw in (rec.custom or {}).items():
            if raw is None or (raw == "" and not clears):
                continue
            d = self._defs.get(name)
            if d is None:
                raise ValidationError({f"custom.{name}": ["is not a defined custom field"]})
            try:
                custom[d["id"]] = _custom_value(d, raw)
            except ValueError as exc:
                raise ValidationError({f"custom.{name}": [str(exc)]}) from None
        phones = phone_rows(values.pop("phones"), self.region) if "phones" in values else None
        emails = email_rows(values.pop("emails")) if "emails" in values else None
        item = _Item(index, values, phones, emails, tuple(rec.tags or ()), tuple(rec.lists or ()), custom,
                     self._row_scope(rec), external_id=rec.external_id)
        if self.o.source_id is not None:
            if not rec.external_id:
                raise ValidationError({"external_id": ["is required for synced contacts"]})
            item.keys = [f"x:{rec.external_id}"]
        else:
            item.keys = self._keys(item)
        return item

    def _keys(self, item: _Item) -> list[str]:
        keys = []
        for k in self.o.match_keys:
            if k == "email":
                keys += [f"e:{e['address_key']}" for e in item.emails or ()]
            elif k == "phone":
                keys += [f"p:{p['e164']}" for p in item.phones or () if p["e164"]]
            elif k == "mobile":
                keys += [f"p:{p['e164']}" for p in item.phones or () if p["e164"] and p["label"] == "mobile"]
            elif item.values.get("external_crm_id"):
                keys.append(f"c:{item.values['external_crm_id']}")
        return keys

    # ------------------------------------------------------------ matching
    def _existing(self, items: Sequence[_Item]) -> dict[str, int]:
        """Key -> contact id for contacts already stored (and writable, for imports)."""
        keys = {k for it in items for k in it.keys}
        found: dict[str, int] = {}
        if not keys:
            return found
        if self.o.source_id is not None:
            ext = [k[2:] for k in keys]
            for i in range(0, len(ext), 900):
                rows = self.s.execute(select(C.c.external_id, C.c.id).where(
                    C.c.source_id == self.o.source_id, C.c.external_id.in_(ext[i:i + 900])))
                found.update({f"x:{e}": cid for e, cid in rows})
            return found
        writable = scoped_filter(self.p, Action.UPDATE, C)
        by_kind: dict[str, list[str]] = {}
        for k in keys:
            by_kind.setdefault(k[0], []).append(k[2:])
        queries = {"e": (EM, EM.c.address_key), "p": (PH, PH.c.e164)}
        for kind, vals in by_kind.items():
            for i in range(0, len(vals), 900):
                chunk = vals[i:i + 900]
                if kind == "c":
                    stmt = select(C.c.external_crm_id, C.c.id).where(writable, C.c.external_crm_id.in_(chunk))
                else:
                    table, col = queries[kind]
                    stmt = select(col, C.c.id).join(C, C.c.id == table.c.contact_id).where(
                        table.c.tenant_id == self.p.tenant_id, writable, col.in_(chunk))
                for v, cid in self.s.execute(stmt.order_by(C.c.id)):
                    found.setdefault(f"{kind}:{v}", cid)
        return found

    # ------------------------------------------------------------ the batch
    def apply(self, records: Sequence[ContactRecord]) -> list[RowOutcome]:
        """Apply one batch; returns one outcome per record, in order. Row errors never stop the batch."""
        outcomes: list[RowOutcome | None] = [None] * len(records)
        items: list[_Item] = []
        for i, rec in enumerate(records):
            try:
                items.append(self._prepare(i, rec))
            except RepositoryError as exc:
                outcomes[i] = RowOutcome("error", None, str(exc))
        if self.o.source_id is not None:
            # every record the source sent was seen, even one that failed: delete_absent must keep it
            seen = [r.external_id for r in records if r.external_id]
            if self.o.dry_run:
                self._dry_seen.update(seen)
            elif self.o.run_id is not None:
                self._mark_seen(seen)
        if self.o.source_id is not None and items:
            items = self._drop_suppressed(items, outcomes)
        existing = self._existing(items)
        if self.o.dry_run:
            existing = {**self._dry_keys, **existing}
        creates: list[_Item] = []
        updates: dict[int, _Item] = {}
        pending: dict[str, _Item] = {}
        merged: list[tuple[int, _Item]] = []
        for it in items:
            cid = next((existing[k] for k in it.keys if k in existing), None)
            twin = next((pending[k] for k in it.keys if k in pending), None)
            if cid is None and twin is None:
                creates.append(it)
                pending.update({k: it for k in it.keys})
                continue
            if self.o.on_duplicate == "skip" and self.o.source_id is None:
                outcomes[it.index] = RowOutcome("skipped", cid, "duplicate of an existing contact"
                                                if cid else f"duplicate of row {twin.index + 1} in this batch")
                continue
            if cid is None:  # same contact twice in this batch: merge into the pending create
                _merge(twin, it)
                outcomes[it.index] = RowOutcome("updated", None, f"merged into row {twin.index + 1}")
                merged.append((it.index, twin))
                continue
            if cid in updates:
                _merge(updates[cid], it)
                outcomes[it.index] = RowOutcome("updated", cid, "")
                continue
            updates[cid] = it
        if self.o.dry_run:
            for it in creates:
                outcomes[it.index] = RowOutcome("created")
                self._dry_keys.update({k: -1 for k in it.keys})
            for cid, it in updates.items():
                outcomes[it.index] = RowOutcome("updated", cid)
        else:
            with self._fts_deferred():
                self._insert(creates, outcomes)
                self._update(updates, outcomes)
            for index, twin in merged:  # a row merged into an earlier one names the contact it became
                outcomes[index].contact_id = outcomes[twin.index].contact_id  # type: ignore[union-attr]
        final = [o or RowOutcome("error", None, "not processed") for o in outcomes]
        batch = {"created": 0, "updated": 0, "skipped": 0, "error": 0}
        for o in final:
            batch[o.status] += 1
            self.counts[o.status] += 1
        if not self.o.dry_run and (batch["created"] or batch["updated"]):
            self.audit("contact.sync" if self.o.source_id is not None else "contact.import", "contact", None,
                       source_id=self.o.source_id, run_id=self.o.run_id, **batch)
        return final

    def _drop_suppressed(self, items: list[_Item], outcomes: list[RowOutcome | None]) -> list[_Item]:
        ext = [it.external_id for it in items]
        gone = set(self.s.execute(select(SUPP.c.external_id).where(
            SUPP.c.source_id == self.o.source_id, SUPP.c.external_id.in_(ext))).scalars())
        for it in items:
            if it.external_id in gone:
                outcomes[it.index] = RowOutcome("skipped", None, "deleted locally; not re-created")
        return [it for it in items if it.external_id not in gone]

    def _insert(self, creates: list[_Item], outcomes: list[RowOutcome | None]) -> None:
        now, rows = utcnow(), []
        for it in creates:
            row = {**DEFAULTS, "acquisition_source": self.o.acquisition_source,
                   **{k: v for k, v in it.values.items() if v is not None}}
            row.update(derived(row, it.phones or [], it.emails or []), tenant_id=self.p.tenant_id,
                       visibility=it.scope[0], department_id=it.scope[1], owner_id=it.scope[2],
                       source_id=self.o.source_id, external_id=it.external_id, seen_run_id=self.o.run_id,
                       created_by=self.p.user_id, updated_by=self.p.user_id, created_at=now, updated_at=now,
                       version=1, locally_modified=False)
            rows.append(row)
        if not rows:
            return
        ids = self._insert_contacts(_uniform(rows))
        for it, cid in zip(creates, ids, strict=True):
            outcomes[it.index] = RowOutcome("created", cid)
        self._children(list(zip(ids, creates, strict=True)), replace=False)

    def _insert_contacts(self, rows: list[dict[str, Any]]) -> list[int]:
        """Insert contact rows; their ids in row order.

        SQLite cannot return the ids of a multi-row insert in parameter order, so SQLAlchemy
        would send one INSERT ... RETURNING per row. There, the first row is inserted alone (which
        takes the database's single write lock for the rest of the transaction), and the others
        get explicit ids after the current maximum in one executemany.
        """
        if self.s.get_bind().dialect.name != "sqlite" or len(rows) < 2:
            ids = list(self.s.execute(insert(C).returning(C.c.id, sort_by_parameter_order=True), rows).scalars())
        else:
            first = self.s.execute(insert(C).values(rows[0]).returning(C.c.id)).scalar_one()
            top = self.s.execute(select(func.max(C.c.id))).scalar_one()
            rest = [{**r, "id": top + i} for i, r in enumerate(rows[1:], 1)]
            self.s.connection().execute(insert(C), rest)
            ids = [first, *(r["id"] for r in rest)]
        if self._fts_now:  # the FTS insert trigger is set aside for this batch (see _fts_deferred)
            self._fts_write("INSERT INTO contacts_fts(rowid, search_text) VALUES (?, ?)",
                            [(cid, r["search_text"]) for cid, r in zip(ids, rows, strict=True)])
        return ids

    # ------------------------------------------------------------ SQLite FTS maintenance
    def _fts_triggers(self) -> dict[str, str]:
        """The contacts_fts insert/update triggers when they are exactly the known ones (else none)."""
        if self._fts_sql is None:
            found = dict(self.s.connection().exec_driver_sql(
                "SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'contacts' "
                "AND name IN ('contacts_fts_ai', 'contacts_fts_au')").all())
            norm = {k: " ".join(v.split()) for k, v in found.items()}
            self._fts_sql = found if norm == _FTS_TRIGGERS else {}
        return self._fts_sql

    @contextmanager
    def _fts_deferred(self) -> Iterator[None]:
        """On SQLite, keep the FTS5 table in step with explicit statements instead of its triggers.

        A row trigger gives each INSERT/UPDATE a statement savepoint, and FTS5 flushes its pending
        terms at every savepoint: one tiny segment per row, which made contact inserts 5x slower.
        The two triggers are dropped and re-created inside this (still open) transaction, so no
        other connection ever sees them missing; a rollback restores them too.
        """
        if self.s.get_bind().dialect.name != "sqlite" or not self._fts_triggers():
            yield
            return
        conn = self.s.connection()
        raw = conn.connection.dbapi_connection
        if not getattr(raw, "in_transaction", False):  # sqlite3 runs DDL outside a transaction in autocommit
            conn.exec_driver_sql("UPDATE contacts SET id = id WHERE 0")
        for name in self._fts_sql:
            conn.exec_driver_sql(f"DROP TRIGGER {name}")
        self._fts_now = True
        try:
            yield
        finally:
            self._fts_now = False
            for sql in self._fts_sql.values():
                conn.exec_driver_sql(sql)

    def _fts_write(self, sql: str, rows: list[tuple[Any, ...]]) -> None:
        if rows:
            self.s.connection().exec_driver_sql(sql, rows)

    def _update(self, updates: dict[int, _Item], outcomes: list[RowOutcome | None]) -> None:
        if not updates:
            return
        ids = list(updates)
        current = {r["id"]: r for r in self.s.execute(select(C).where(C.c.id.in_(ids))).mappings()}
        if self.o.run_id is not None:
            self.s.execute(update(C).where(C.c.id.in_(ids)).values(seen_run_id=self.o.run_id))
        todo = []
        for cid, it in updates.items():
            cur = current[cid]
            if self.o.source_id is not None and cur["locally_modified"] and self.o.respect_local_edits:
                outcomes[it.index] = RowOutcome("skipped", cid, "edited locally; local values kept")
                continue
            if self.o.source_id is None and not allowed(self.p, Action.UPDATE, cur["visibility"],
                                                        cur["department_id"], cur["owner_id"]):
                outcomes[it.index] = RowOutcome("error", cid, "matches a contact you may not edit")
                continue
            todo.append((cid, it, cur))
        need_ph = [cid for cid, it, _ in todo if it.phones is None]
        need_em = [cid for cid, it, _ in todo if it.emails is None]
        old_ph = self._group(PH, need_ph, ("raw", "e164", "national", "label", "digits_rev"))
        old_em = self._group(EM, need_em, ("address", "address_key", "label"))
        by_shape: dict[tuple[str, ...], list[dict[str, Any]]] = {}
        now = utcnow()
        for cid, it, cur in todo:
            merged = {**cur, **it.values}
            for k in ("first_name", "last_name"):
                merged[k] = merged[k] or ""
            phones = it.phones if it.phones is not None else old_ph.get(cid, [])
            emails = it.emails if it.emails is not None else old_em.get(cid, [])
            change = {k: merged[k] for k in it.values}
            change.update(derived(merged, phones, emails))
            # only the columns whose value changes: an unchanged column keeps its value either way, and
            # leaving it out of the SET list spares its index entries (and the FTS row) a rewrite
            change = {k: v for k, v in change.items() if k not in cur or cur[k] != v}
            change.update(updated_at=now, updated_by=self.p.user_id, version=cur["version"] + 1)
            by_shape.setdefault(tuple(sorted(change)), []).append({**change, "_id": cid})
            outcomes[it.index] = RowOutcome("updated", cid)
        from sqlalchemy import bindparam

        for shape, rows in by_shape.items():
            stmt = update(C).where(C.c.id == bindparam("_id")).values({k: bindparam(k) for k in shape})
            self.s.connection().execute(stmt, rows)
            if self._fts_now and "search_text" in shape:
                self._fts_write("UPDATE contacts_fts SET search_text = ? WHERE rowid = ?",
                                [(r["search_text"], r["_id"]) for r in rows])
        self._children([(cid, it) for cid, it, _ in todo], replace=True)

    def _group(self, table: Any, ids: list[int], cols: tuple[str, ...]) -> dict[int, list[dict[str, Any]]]:
        out: dict[int, list[dict[str, Any]]] = {}
        for i in range(0, len(ids), 900):
            rows = self.s.execute(select(table.c.contact_id, *(table.c[c] for c in cols)).where(
                table.c.contact_id.in_(ids[i:i + 900])).order_by(table.c.position)).mappings()
            for r in rows:
                out.setdefault(r["contact_id"], []).append(dict(r))
        return out

    def _children(self, pairs: list[tuple[int, _Item]], *, replace: bool) -> None:
        tid = self.p.tenant_id
        ph_ids = [cid for cid, it in pairs if it.phones is not None]
        em_ids = [cid for cid, it in pairs if it.emails is not None]
        if replace:
            for i in range(0, len(ph_ids), 900):
                self.s.execute(delete(PH).where(PH.c.contact_id.in_(ph_ids[i:i + 900])))
            for i in range(0, len(em_ids), 900):
                self.s.execute(delete(EM).where(EM.c.contact_id.in_(em_ids[i:i + 900])))
        ph = [{**p, "contact_id": cid, "tenant_id": tid} for cid, it in pairs for p in it.phones or ()]
        em = [{**e, "contact_id": cid, "tenant_id": tid} for cid, it in pairs for e in it.emails or ()]
        if ph:
            self.s.connection().execute(insert(PH), ph)
        if em:
            self.s.connection().execute(insert(EM), em)
        tags = self.contacts.ensure_tags(sorted({t for _, it in pairs for t in it.tags}))
        from plugin_host.text import fold

        insert_ignore(self.s, CT, [{"contact_id": cid, "tag_id": tags[fold(t)]} for cid, it in pairs
                                   for t in it.tags if fold(t) in tags])
        members = []
        for cid, it in pairs:
            if self.o.list_id is not None:
                members.append({"list_id": self.o.list_id, "contact_id": cid, "added_at": utcnow()})
            for name in it.lists:
                members.append({"list_id": self._list_id(name), "contact_id": cid, "added_at": utcnow()})
        insert_ignore(self.s, LM, members)
        custom = [(cid, it.custom) for cid, it in pairs if it.custom]
        for cid, values in custom:
            self.s.execute(delete(CFV).where(CFV.c.contact_id == cid, CFV.c.field_id.in_(list(values))))
        rows = [{"contact_id": cid, "field_id": f, "value": v} for cid, values in custom
                for f, v in values.items() if v != ""]
        if rows:
            self.s.execute(insert(CFV), rows)

    def _check_list(self, name: str) -> None:
        """A row's ``_list`` must name a static list the principal may add to, or one it may create."""
        name = name.strip()
        if name not in self._list_checks:
            problem: RepositoryError | None = None
            found = self.s.execute(select(LISTS.c.id, LISTS.c.kind).where(
                LISTS.c.tenant_id == self.p.tenant_id, LISTS.c.name == name)).first()
            if found is not None and found.kind != "static":
                problem = ValidationError({"_list": [f"list {name!r} is dynamic; contacts cannot be added to it"]})
            elif found is not None:
                try:
                    ListRepository(self.s, self.p)._writable(found.id)
                except (NotFound, PermissionDenied):
                    problem = ValidationError({"_list": [f"you may not add contacts to list {name!r}"]})
            elif not allowed(self.p, Action.CREATE, *self.contacts.default_scope()):
                problem = ValidationError({"_list": [f"you may not create list {name!r}"]})
            self._list_checks[name] = problem
        if self._list_checks[name] is not None:
            raise self._list_checks[name]  # type: ignore[misc]

    def _list_id(self, name: str) -> int:
        if name not in self._list_ids:
            self._list_ids[name] = ListRepository(self.s, self.p).find_or_create_static(name)
        return self._list_ids[name]

    # ------------------------------------------------------------ deletions (sync)
    def delete_external(self, external_ids: Sequence[str]) -> int:
        """Tombstones from a source; unknown ids are a no-op."""
        rows = self.s.execute(select(C).where(C.c.source_id == self.o.source_id,
                                              C.c.external_id.in_(list(external_ids)))).mappings().all()
        if rows and not self.o.dry_run:
            self._purge([r["id"] for r in rows])
            self.audit("contact.sync_delete", "contact", None, source_id=self.o.source_id, run_id=self.o.run_id,
                       count=len(rows))
        return len(rows)

    def delete_absent(self) -> int:
        """After a full snapshot: remove this source's contacts the run did not see."""
        if self.o.source_id is None or self.o.run_id is None:
            # without both, "not seen by this run" would be every contact (of the source, or local ones)
            raise ValidationError({"run_id": ["removing absent contacts needs the source and the run"]})
        absent = and_(C.c.source_id == self.o.source_id,
                      or_(C.c.seen_run_id.is_(None), C.c.seen_run_id != self.o.run_id))
        if self.o.dry_run:
            return sum(1 for (ext,) in self.s.execute(select(C.c.external_id).where(absent))
                       if ext not in self._dry_seen)
        ids = list(self.s.execute(select(C.c.id).where(absent)).scalars())
        for i in range(0, len(ids), 900):
            self._purge(ids[i:i + 900])
        if ids:
            self.audit("contact.sync_delete", "contact", None, source_id=self.o.source_id, run_id=self.o.run_id,
                       count=len(ids), absent=True)
        return len(ids)

    def _mark_seen(self, external_ids: list[str]) -> None:
        for i in range(0, len(external_ids), 900):
            self.s.execute(update(C).where(C.c.source_id == self.o.source_id,
                                           C.c.external_id.in_(external_ids[i:i + 900]))
                           .values(seen_run_id=self.o.run_id))

    def _purge(self, ids: list[int]) -> None:
        from plugin_host.repo.query import ACT

        for table in (ACT, PH, EM, CT, LM, CFV):
            self.s.execute(delete(table).where(table.c.contact_id.in_(ids)))
        self.s.execute(delete(C).where(C.c.id.in_(ids)))


def _merge(into: _Item, other: _Item) -> None:
    into.values.update({k: v for k, v in other.values.items() if v not in (None, "")})
    if other.phones:
        known = {p["raw"] for p in into.phones or ()}
        into.phones = (into.phones or []) + [p for p in other.phones if p["raw"] not in known]
    if other.emails:
        known = {e["address_key"] for e in into.emails or ()}
        into.emails = (into.emails or []) + [e for e in other.emails if e["address_key"] not in known]
    into.tags = tuple(dict.fromkeys(into.tags + other.tags))
    into.lists = tuple(dict.fromkeys(into.lists + other.lists))
    into.custom.update(other.custom)
    into.keys = list(dict.fromkeys(into.keys + other.keys))


def _uniform(rows: list[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """executemany needs one key set: fill the keys some rows lack with NULL."""
    keys = set().union(*rows)
    return [{k: r.get(k) for k in keys} for r in rows]
