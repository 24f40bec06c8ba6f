"""The one batched upsert behind every import and every sync (DESIGN.md §2, "In")."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from operator import itemgetter
from typing import Any, NamedTuple

from sqlalchemy import Boolean, String, and_, bindparam, delete, func, insert, or_, select, update
from sqlalchemy.dialects.postgresql import ARRAY

from plugin_host.models import T, utcnow
from plugin_host.permissions import Action, allowed, scoped_filter
from plugin_host.records import EMAIL_LABELS, PHONE_LABELS, ContactRecord
from plugin_host.repo.base import Bound, insert_ignore
from plugin_host.repo.children import derived, email_rows, phone_rows
from plugin_host.repo.contacts import DEFAULTS, SCALARS, ContactRepository, _custom_value
from plugin_host.repo.errors import NotFound, PermissionDenied, RepositoryError, ValidationError
from plugin_host.repo.lists import ListRepository
from plugin_host.repo.query import CT, EM, LM, PH, C
from plugin_host.repo.validation import BOOLS, EMAIL_RE, ENUMS, TEXT_FIELDS, validate_contact

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
_NAME_COLS = ("first_name", "last_name", "company")
_DERIVED_COLS = ("first_key", "last_key", "company_key", "sort_key", "search_text")
# what an update compares: every column a record or derived() can set, and the permission/version columns
_STATE_COLS = ("version", "visibility", "department_id", "owner_id", "locally_modified")
_CURRENT_COLS = (*RECORD_FIELDS, *_DERIVED_COLS, *_STATE_COLS)
_ALWAYS_CURRENT = frozenset((*_NAME_COLS, *_DERIVED_COLS, *_STATE_COLS))  # and whatever fields the batch sets
# a new contact's columns: the same for the whole batch, then per record (scope), then derived() and the record's
_INSERT_HEAD = ("tenant_id", "source_id", "seen_run_id", "created_by", "updated_by", "created_at", "updated_at",
                "version", "locally_modified", "account_id")
_INSERT_ITEM = ("visibility", "department_id", "owner_id", "external_id")
_PHONE_COLS = ("position", "label", "raw", "e164", "national", "extension", "kind", "digits_rev")
_EMAIL_COLS = ("position", "label", "address", "address_key")


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


class Prepared(NamedTuple):
    """A record after the database-free half of the upsert (``prepare_record``): validated values,
    normalised phone and e-mail rows, match keys and the derived columns a new contact gets.

    It can be computed in another process (the import pipeline's reader); ``Upserter.apply_prepared``
    does the rest (lists, custom fields, scope, matching, writes)."""

    values: dict[str, Any]
    phones: list[dict[str, Any]] | None
    emails: list[dict[str, Any]] | None
    tags: tuple[str, ...]
    lists: tuple[str, ...]
    custom: dict[str, Any]
    hints: tuple[str | None, str | None, str | None]  # the row's visibility, department, assigned_to
    external_id: str | None
    keys: list[str]
    derived: dict[str, Any]


class Rejected(NamedTuple):
    """A record ``prepare_record`` refused: the row's error message."""

    message: str
    external_id: str | None = None


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
    derived: dict[str, Any] | None = None  # derived columns of values/phones/emails alone (see prepare_record)


def _given_fields(rec: ContactRecord, clears: bool) -> tuple[list[tuple[str, Any]], list[str]]:
    """The record's scalar fields that say something, as (name, value), and the optional choices it clears.

    ``None`` says nothing; a blank says nothing unless blanks clear, and then a blank choice clears an
    optional one (status and type stay)."""
    given: list[tuple[str, Any]] = []
    cleared: list[str] = []
    fields = rec.__dict__
    for name in RECORD_FIELDS:
        v = fields[name]
        if v is None or (v == "" and not clears):
            continue
        if v == "" and name in ENUMS:
            if name in NULLABLE_ENUMS:
                cleared.append(name)
            continue
        given.append((name, v))
    return given, cleared


def _record_data(rec: ContactRecord, clears: bool) -> tuple[dict[str, Any], list[str]]:
    """The record as ``validate_contact`` input, and the optional choices it clears."""
    given, cleared = _given_fields(rec, clears)
    data: dict[str, Any] = dict(given)
    phones_in = [{"number": p.number, "label": p.label} for p in rec.phones or () if p.number.strip()]
    if rec.phones is not None and (phones_in or clears):  # blank numbers are blanks, not "no phones"
        data["phones"] = phones_in
    emails_in = [{"address": e.address, "label": e.label} for e in rec.emails or () if e.address.strip()]
    if rec.emails is not None and (emails_in or clears):
        data["emails"] = emails_in
    return data, cleared


def _checked_values(rec: ContactRecord, clears: bool) -> dict[str, Any] | None:
    """``validate_contact(data, partial=True)`` of ``_record_data(rec)``, in one pass over the record,
    for the shapes import builders produce (cleared choices last, as ``None``).

    ``None`` for anything unusual (a wrong type, a value too long, an unknown choice, a bad
    address...): the caller then asks ``validate_contact`` itself, so that values and error messages
    are exactly its own.
    """
    out: dict[str, Any] = {}
    given, cleared = _given_fields(rec, clears)
    for name, v in given:
        limit = TEXT_FIELDS.get(name)
        if limit is not None:
            if type(v) is not str:
                return None
            v = v.strip()
            if len(v) > limit:
                return None
        elif name in ENUMS:
            v = str(v).strip().lower()
            if v not in ENUMS[name]:
                return None
        elif name not in BOOLS or type(v) is not bool:
            return None
        out[name] = v
    if rec.phones is not None:
        phones = []
        for p in rec.phones:
            number = p.number.strip()
            if not number:
                continue  # blank numbers are blanks, not "no phones"
            label = (p.label or "other").strip().lower()
            if label not in PHONE_LABELS:
                return None
            phones.append({"number": number[:100], "label": label})
        if phones or clears:
            out["phones"] = phones
    if rec.emails is not None:
        emails = []
        for e in rec.emails:
            address = e.address.strip()
            if not address:
                continue
            label = (e.label or "other").strip().lower()
            if not EMAIL_RE.match(address) or label not in EMAIL_LABELS:
                return None
            emails.append({"address": address[:254], "label": label})
        if emails or clears:
            out["emails"] = emails
    out.update(dict.fromkeys(cleared))
    return out


def prepare_record(rec: ContactRecord, region: str, *, blank_clears: bool = False,
                   match_keys: Sequence[str] = ("email",)) -> Prepared:
    """The database-free half of applying ``rec``: raises ValidationError for invalid values.

    ``match_keys`` are those of an import (a sync matches on ``external_id`` instead).
    """
    values = _checked_values(rec, blank_clears)
    if values is None:
        data, cleared = _record_data(rec, blank_clears)
        values = validate_contact(data, partial=True)
        values.update(dict.fromkeys(cleared))
    phones = phone_rows(values.pop("phones"), region) if "phones" in values else None
    emails = email_rows(values.pop("emails")) if "emails" in values else None
    keys = []
    for k in match_keys:
        if k == "email":
            keys += [f"e:{e['address_key']}" for e in emails or ()]
        elif k == "phone":
            keys += [f"p:{p['e164']}" for p in phones or () if p["e164"]]
        elif k == "mobile":
            keys += [f"p:{p['e164']}" for p in phones or () if p["e164"] and p["label"] == "mobile"]
        elif values.get("external_crm_id"):
            keys.append(f"c:{values['external_crm_id']}")
    return Prepared(values, phones, emails, tuple(rec.tags or ()), tuple(rec.lists or ()), dict(rec.custom or {}),
                    (rec.visibility, rec.department, rec.assigned_to), rec.external_id, keys,
                    derived(values, phones or [], emails or []))


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
        self._match_sql: dict[str, Any] = {}
        self._raw = _Raw(self.s)
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

    def _row_scope(self, hints: tuple[str | None, str | None, str | None]) -> tuple[str, int | None, int | None]:
        if not (hints[0] or hints[1] or hints[2]):
            return self.scope
        if hints not in self._scope_cache:
            self._scope_cache[hints] = self._resolve_row_scope(*hints)
        return self._scope_cache[hints]

    def _resolve_row_scope(self, visibility: str | None, department: str | None,
                           assigned_to: str | None) -> tuple[str, int | None, int | None]:
        vis = SCOPE_WORDS.get((visibility or "").strip().lower()) if visibility else None
        if visibility and vis is None:
            raise ValidationError({"visibility": [f"{visibility!r} is not one of All, Queue, Owner"]})
        dept_id = owner_id = None
        if department:
            dept_id = self.s.execute(select(DEPTS.c.id).where(DEPTS.c.tenant_id == self.p.tenant_id,
                                                              DEPTS.c.name == department.strip())).scalar()
            if dept_id is None:
                raise ValidationError({"department": [f"no department/queue named {department!r}"]})
            vis = vis or "department"
        if assigned_to:
            owner_id = self.s.execute(select(USERS.c.id).where(USERS.c.tenant_id == self.p.tenant_id, or_(
                USERS.c.username == assigned_to.strip(), USERS.c.email == assigned_to.strip()))).scalar()
            if owner_id is None:
                raise ValidationError({"assigned_to": [f"no user {assigned_to!r}"]})
            vis = vis or "private"
        scope = self.contacts.resolve_scope({"visibility": vis, "department_id": dept_id, "owner_id": owner_id})
        if self.o.source_id is None and not allowed(self.p, Action.IMPORT, *scope):
            raise ValidationError({"visibility": [f"you may not import into {scope[0]} contacts"]})
        return scope

    def prepare(self, rec: ContactRecord) -> Prepared | Rejected:
        """``prepare_record`` with this run's options; a refused record becomes ``Rejected``."""
        try:
            return prepare_record(rec, self.region, blank_clears=self.o.blank_clears,
                                  match_keys=() if self.o.source_id is not None else self.o.match_keys)
        except RepositoryError as exc:
            return Rejected(str(exc), rec.external_id)

    def _finish(self, index: int, rec: Prepared | tuple[Any, ...]) -> _Item:
        """The database half of preparing a record: lists, custom fields, scope, sync key.

        ``rec`` may be a plain tuple in ``Prepared``'s field order (cheaper between processes).
        """
        values, phones, emails, tags, lists, raw_custom, hints, external_id, keys, pre = rec
        clears = self.o.blank_clears
        for name in lists:
            self._check_list(name)
        custom: dict[int, str] = {}
        for name, raw in raw_custom.items():
            if raw is None or (raw == "" and not clears):
                continue
            d = self._defs.get(name)
            if d is None:
                raise ValidationError({f"custom.{name}": ["is not a defined custom field"]})
            try:
                custom[d["id"]] = _custom_value(d, raw)
            except ValueError as exc:
                raise ValidationError({f"custom.{name}": [str(exc)]}) from None
        item = _Item(index, values, phones, emails, tags, lists, custom, self._row_scope(hints),
                     external_id=external_id, derived=pre)
        if self.o.source_id is not None:
            if not external_id:
                raise ValidationError({"external_id": ["is required for synced contacts"]})
            item.keys = [f"x:{external_id}"]
        else:
            item.keys = list(keys)
        return item

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
        by_kind: dict[str, list[str]] = {}
        for k in keys:
            by_kind.setdefault(k[0], []).append(k[2:])
        step = 100_000 if self._raw.pg else 900  # PostgreSQL: one array parameter, not one bind per key
        for kind, vals in by_kind.items():
            stmt = self._match_statement(kind)
            for i in range(0, len(vals), step):
                for v, cid in self.s.execute(stmt, {"keys": vals[i:i + step]}):
                    found.setdefault(f"{kind}:{v}", cid)
        return found

    def _match_statement(self, kind: str) -> Any:
        """The writable contacts whose e-mail / phone / CRM id (``kind`` e, p, c) is one of ``:keys``
        (built once per run: only the keys change from batch to batch)."""
        if kind not in self._match_sql:
            table, col = {"e": (EM, EM.c.address_key), "p": (PH, PH.c.e164), "c": (C, C.c.external_crm_id)}[kind]
            match = (col == func.any(bindparam("keys", type_=ARRAY(String))) if self._raw.pg
                     else col.in_(bindparam("keys", expanding=True)))
            writable = scoped_filter(self.p, Action.UPDATE, C)
            if kind == "c":
                stmt = select(C.c.external_crm_id, C.c.id).where(writable, match)
            else:
                stmt = select(col, C.c.id).join(C, C.c.id == table.c.contact_id).where(
                    table.c.tenant_id == self.p.tenant_id, writable, match)
            self._match_sql[kind] = stmt.order_by(C.c.id)
        return self._match_sql[kind]

    # ------------------------------------------------------------ the batch
    def apply(self, records: Sequence[ContactRecord]) -> list[RowOutcome]:
        """Apply one batch; returns one outcome per record, in order. Row errors never stop the batch."""
        return self.apply_prepared([self.prepare(rec) for rec in records])

    def apply_prepared(self, records: Sequence[Prepared | Rejected | tuple[Any, ...]]) -> list[RowOutcome]:
        """``apply`` for records already through ``prepare`` (or ``prepare_record`` with the same
        region, blank_clears and match keys, e.g. in another process; a ``Prepared`` may arrive as
        a plain tuple)."""
        outcomes: list[RowOutcome | None] = [None] * len(records)
        items: list[_Item] = []
        for i, rec in enumerate(records):
            if type(rec) is Rejected:
                outcomes[i] = RowOutcome("error", None, rec.message)
                continue
            try:
                items.append(self._finish(i, rec))  # type: ignore[arg-type]
            except RepositoryError as exc:
                outcomes[i] = RowOutcome("error", None, str(exc))
        if self.o.source_id is not None:
            # every record the source sent was seen, even one that failed: delete_absent must keep it
            seen = [e for r in records if (e := r[1] if type(r) is Rejected else r[7])]
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
        """New contacts: every column but ``id``, as a Core insert of the same rows would store them
        (``DEFAULTS`` where the record has no value, NULL for the other columns it does not set)."""
        if not creates:
            return
        now, o, p, raw = utcnow(), self.o, self.p, self._raw
        defaults = {**DEFAULTS, "acquisition_source": o.acquisition_source}
        known = {"id", *_INSERT_HEAD, *_INSERT_ITEM, *_DERIVED_COLS, *RECORD_FIELDS}
        other = [c for c in C.columns if c.name not in known]  # columns added later: their default, as Core would
        tail = [None if c.default is None else c.default.arg({}) if c.default.is_callable else c.default.arg
                for c in other]
        # the batch's constant columns are bind-processed once, and left out where NULL
        fixed_cols, fixed = raw.constant(C, [*_INSERT_HEAD, *(c.name for c in other)],
                                         [p.tenant_id, o.source_id, o.run_id, p.user_id, p.user_id, now, now, 1,
                                          False, None, *tail])
        present = set(defaults).union(*(it.values for it in creates))
        pairs = [(c, defaults.get(c)) for c in RECORD_FIELDS  # the others are NULL in every row
                 if c in present or C.c[c].server_default is not None]
        cols = [*fixed_cols, *_INSERT_ITEM, *_DERIVED_COLS, *(c for c, _ in pairs)]
        rows, texts = [], []
        for it in creates:
            get = it.values.get
            d = it.derived if it.derived is not None else derived(
                {**defaults, **{k: v for k, v in it.values.items() if v is not None}}, it.phones or [], it.emails or [])
            rows.append([None, *fixed, *it.scope, it.external_id, d["first_key"], d["last_key"], d["company_key"],
                         d["sort_key"], d["search_text"],
                         *[v if (v := get(c)) is not None else dflt for c, dflt in pairs]])
            texts.append(d["search_text"])
        first_field = 1 + len(fixed) + len(_INSERT_ITEM) + len(_DERIVED_COLS)
        raw.process(C, cols[first_field - 1:], rows, offset=first_field)
        ids = self._insert_contacts(cols, rows, texts)
        for it, cid in zip(creates, ids, strict=True):
            outcomes[it.index] = RowOutcome("created", cid)
        self._children(list(zip(ids, creates, strict=True)), replace=False)

    def _insert_contacts(self, cols: list[str], rows: list[list[Any]], texts: list[str]) -> list[int]:
        """Insert contact rows (``[None, *values in cols order]``, bind-processed; plain DBAPI
        executemany, or COPY on PostgreSQL); their ids in row order (each row's first cell gets it).

        SQLite cannot return the ids of a multi-row insert in parameter order. There, the first row
        is inserted alone (which takes the database's single write lock for the rest of the
        transaction), and the others get explicit ids after the current maximum. On PostgreSQL the
        ids are drawn from the table's sequence first.
        """
        raw = self._raw
        if raw.pg:
            ids = raw.next_ids(C, len(rows))
        else:
            cur = raw.cursor()
            cur.execute(raw.insert_sql(C, cols), rows[0][1:])
            first = cur.lastrowid
            top = cur.execute("SELECT max(id) FROM contacts").fetchone()[0]
            ids = [first, *range(top + 1, top + len(rows))]
        for r, cid in zip(rows, ids, strict=True):
            r[0] = cid
        todo = rows if raw.pg else rows[1:]
        if todo:
            raw.insert(C, ["id", *cols], todo, prune=False)
        if self._fts_now:  # the FTS insert trigger is set aside for this batch (see _fts_deferred)
            self._fts_write("INSERT INTO contacts_fts(rowid, search_text) VALUES (?, ?)",
                            list(zip(ids, texts, strict=True)))
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
        raw = self._raw
        present = set().union(*(it.values for it in updates.values()))
        # what the comparison reads: the batch's fields, the names and derived columns, permission and version
        cols = [c for c in _CURRENT_COLS if c in present or c in _ALWAYS_CURRENT]
        current = raw.select_by_ids(C, cols, "id", ids)
        if self.o.run_id is not None:
            self.s.execute(update(C).where(C.c.id.in_(ids)).values(seen_run_id=self.o.run_id))
        todo = []
        for cid, it in updates.items():
            cur = current[cid][0]
            if self.o.source_id is not None and cur["locally_modified"] and self.o.respect_local_edits:
                outcomes[it.index] = RowOutcome("skipped", cid, "edited locally; local values kept")
                continue
            if self.o.source_id is None and not allowed(self.p, Action.UPDATE, cur["visibility"],
                                                        cur["department_id"], cur["owner_id"]):
                outcomes[it.index] = RowOutcome("error", cid, "matches a contact you may not edit")
                continue
            todo.append((cid, it, cur))
        todo_ids = [cid for cid, _, _ in todo]
        old_ph = raw.select_by_ids(PH, _PHONE_COLS, "contact_id", todo_ids, order="position")
        old_em = raw.select_by_ids(EM, _EMAIL_COLS, "contact_id", todo_ids, order="position")
        by_shape: dict[tuple[str, ...], list[dict[str, Any]]] = {}
        written: list[tuple[int, _Item]] = []
        now = utcnow()
        for cid, it, cur in todo:
            merged = {**cur, **it.values}
            for k in ("first_name", "last_name"):
                merged[k] = merged[k] or ""
            change = {k: merged[k] for k in it.values}
            pre = it.derived
            if pre is not None and it.phones is not None and it.emails is not None and all(
                    (merged[k] or "") == (it.values.get(k) or "") for k in _NAME_COLS):
                change.update(pre)  # the same inputs as derived() would get here
            else:
                phones = it.phones if it.phones is not None else old_ph.get(cid, [])
                emails = it.emails if it.emails is not None else old_em.get(cid, [])
                change.update(derived(merged, phones, emails))
            # only the columns whose value changes: an unchanged column keeps its value either way, and
            # leaving it out of the SET list spares its index entries (and the FTS row) a rewrite
            change = {k: v for k, v in change.items() if k not in cur or cur[k] != v}
            if not change and self._unchanged_children(cid, it, old_ph, old_em):
                # the record says what is stored already: no write, and version/ETag and updated_at stay
                outcomes[it.index] = RowOutcome("updated", cid, "unchanged")
                continue
            change.update(updated_at=now, updated_by=self.p.user_id, version=cur["version"] + 1)
            by_shape.setdefault(tuple(sorted(change)), []).append({**change, "_id": cid})
            outcomes[it.index] = RowOutcome("updated", cid)
            written.append((cid, it))
        for shape, rows in by_shape.items():
            raw.update_by_id(C, list(shape), rows)
            if self._fts_now and "search_text" in shape:
                self._fts_write("UPDATE contacts_fts SET search_text = ? WHERE rowid = ?",
                                [(r["search_text"], r["_id"]) for r in rows])
        self._children(written, replace=True, old_ph=old_ph, old_em=old_em)

    def _unchanged_children(self, cid: int, it: _Item, old_ph: Mapping[int, list[dict[str, Any]]],
                            old_em: Mapping[int, list[dict[str, Any]]]) -> bool:
        """True when writing ``it`` would leave the contact's phones and e-mails as stored and add
        nothing else (no tags, lists or custom values to write)."""
        return (not it.tags and not it.lists and not it.custom and self.o.list_id is None
                and (it.phones is None or _same_rows(it.phones, old_ph.get(cid), _PHONE_COLS))
                and (it.emails is None or _same_rows(it.emails, old_em.get(cid), _EMAIL_COLS)))

    def _children(self, pairs: list[tuple[int, _Item]], *, replace: bool,
                  old_ph: Mapping[int, list[dict[str, Any]]] | None = None,
                  old_em: Mapping[int, list[dict[str, Any]]] | None = None) -> None:
        """Phones, e-mails, tags, list memberships and custom values of written contacts.

        With ``replace``, a contact's given phones (e-mails) replace its stored ones; stored rows
        that already are exactly the given ones (``old_ph``/``old_em``) are left as they are.
        """
        tid = self.p.tenant_id
        raw = self._raw
        ph_pairs = [(cid, it.phones) for cid, it in pairs if it.phones is not None]
        em_pairs = [(cid, it.emails) for cid, it in pairs if it.emails is not None]
        if replace:
            if old_ph is not None:
                ph_pairs = [(cid, new) for cid, new in ph_pairs if not _same_rows(new, old_ph.get(cid), _PHONE_COLS)]
            if old_em is not None:
                em_pairs = [(cid, new) for cid, new in em_pairs if not _same_rows(new, old_em.get(cid), _EMAIL_COLS)]
            raw.delete_by_ids(PH, "contact_id", [cid for cid, _ in ph_pairs])
            raw.delete_by_ids(EM, "contact_id", [cid for cid, _ in em_pairs])
        ph_get, em_get = itemgetter(*_PHONE_COLS), itemgetter(*_EMAIL_COLS)
        ph = [[cid, tid, *ph_get(p)] for cid, rows in ph_pairs for p in rows]
        em = [[cid, tid, *em_get(e)] for cid, rows in em_pairs for e in rows]
        if ph:
            raw.insert(PH, ["contact_id", "tenant_id", *_PHONE_COLS], ph, processed=False)
        if em:
            raw.insert(EM, ["contact_id", "tenant_id", *_EMAIL_COLS], em, processed=False)
        if any(it.tags for _, it in pairs):
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
    into.derived = None
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


def _same_rows(new: list[dict[str, Any]], old: list[dict[str, Any]] | None, cols: tuple[str, ...]) -> bool:
    """True when the stored child rows are exactly the given ones (same columns, same order)."""
    old = old or []
    return len(new) == len(old) and all(tuple(map(n.get, cols)) == tuple(map(o.__getitem__, cols))
                                        for n, o in zip(new, old, strict=True))


class _Raw:
    """Plain DBAPI statements for the import's bulk writes (executemany; COPY on PostgreSQL).

    Values go through the columns' SQLAlchemy bind processors (booleans, timestamps on SQLite),
    so what is stored is what a Core ``insert()``/``update()`` would store, without SQLAlchemy's
    per-row parameter processing.
    """

    def __init__(self, session: Any) -> None:
        self.s = session
        self.dialect = session.get_bind().dialect
        self.pg = self.dialect.name == "postgresql"
        self.mark = "%s" if self.pg else "?"
        self._procs: dict[tuple[str, str], Any] = {}

    def cursor(self) -> Any:
        return self.s.connection().connection.dbapi_connection.cursor()

    def _proc(self, table: Any, col: str) -> Any:
        key = (table.name, col)
        if key not in self._procs:
            kind = table.c[col].type
            # sqlite3 and psycopg adapt Python booleans themselves (to 1/0 and true/false, as the processor would)
            self._procs[key] = None if isinstance(kind, Boolean) else kind._cached_bind_processor(self.dialect)
        return self._procs[key]

    def process(self, table: Any, names: Sequence[str], rows: list[list[Any]], offset: int = 0) -> None:
        """Apply the columns' bind processors in place (rows are lists in ``names`` order)."""
        for i, name in enumerate(names):
            proc = self._proc(table, name)
            if proc is None:
                continue
            j = i + offset
            for r in rows:
                if r[j] is not None:
                    r[j] = proc(r[j])

    def insert_sql(self, table: Any, cols: Sequence[Any]) -> str:
        names = [c if isinstance(c, str) else c[0] for c in cols]
        return f"INSERT INTO {table.name} ({', '.join(names)}) VALUES ({', '.join([self.mark] * len(names))})"

    def insert(self, table: Any, cols: Sequence[Any], rows: list[list[Any]], *, processed: bool = True,
               prune: bool = True) -> None:
        """Insert rows (lists in ``cols`` order; ``processed``: through the bind processors already;
        ``prune``: leave out the columns that are NULL in every row)."""
        names = [c if isinstance(c, str) else c[0] for c in cols]
        if not processed:
            self.process(table, names, rows)
        if not rows:
            return
        if prune:
            names, rows = self._without_null_columns(table, names, rows)
        cur = self.cursor()
        if self.pg:
            with cur.copy(f"COPY {table.name} ({', '.join(names)}) FROM STDIN") as copy:
                for r in rows:
                    copy.write_row(r)
        else:
            cur.executemany(self.insert_sql(table, names), rows)

    def constant(self, table: Any, names: Sequence[str], values: Sequence[Any]) -> tuple[list[str], list[Any]]:
        """Columns with one value for every row of a batch: bind-processed once; those NULL without
        a server default are left out (they are stored as NULL either way)."""
        kept = [(n, v) for n, v in zip(names, values, strict=True)
                if v is not None or table.c[n].server_default is not None]
        row = [v for _, v in kept]
        self.process(table, [n for n, _ in kept], [row])
        return [n for n, _ in kept], row

    @staticmethod
    def _without_null_columns(table: Any, names: list[str], rows: list[Any]) -> tuple[list[str], list[Any]]:
        """Leave out the columns that are NULL in every row and have no server default (they are
        stored as NULL either way): binding fewer parameters halves the cost of a wide insert."""
        cols = list(zip(*rows, strict=True))
        keep = [i for i, (name, col) in enumerate(zip(names, cols, strict=True))
                if col.count(None) != len(col) or table.c[name].server_default is not None]
        if len(keep) == len(names):
            return names, rows
        return [names[i] for i in keep], list(zip(*(cols[i] for i in keep), strict=True))

    def next_ids(self, table: Any, n: int) -> list[int]:
        """PostgreSQL: ``n`` ids from the table's id sequence."""
        cur = self.cursor()
        cur.execute(f"SELECT nextval(pg_get_serial_sequence('{table.name}', 'id')) FROM generate_series(1, %s)",
                    (n,))
        return [r[0] for r in cur.fetchall()]

    def select_by_ids(self, table: Any, cols: Sequence[str], key: str, ids: list[int],
                      order: str | None = None) -> dict[int, list[dict[str, Any]]]:
        """Rows whose ``key`` is one of ``ids``, grouped by it (each group in ``order``)."""
        out: dict[int, list[dict[str, Any]]] = {}
        if not ids:
            return out
        cur = self.cursor()
        head = f"SELECT {key}, {', '.join(cols)} FROM {table.name} WHERE {key} "
        tail = f" ORDER BY {key}{', ' + order if order else ''}"
        chunks = [ids] if self.pg else [ids[i:i + 900] for i in range(0, len(ids), 900)]
        for chunk in chunks:
            if self.pg:
                cur.execute(head + "= ANY(%s)" + tail, (chunk,))
            else:
                cur.execute(head + f"IN ({','.join('?' * len(chunk))})" + tail, chunk)
            for row in cur.fetchall():
                out.setdefault(row[0], []).append(dict(zip(cols, row[1:], strict=True)))
        return out

    def update_by_id(self, table: Any, cols: list[str], rows: list[dict[str, Any]]) -> None:
        """``UPDATE table SET cols WHERE id = row["_id"]`` for each row."""
        params = [[r[c] for c in cols] + [r["_id"]] for r in rows]
        self.process(table, cols, params)
        if self.pg:  # one set-based statement: the rows travel as one array per column
            types = [self._array_type(table, c) for c in cols]
            sets = ", ".join(f"{c} = v.{c}" for c in cols)
            arrays = ", ".join(f"%s::{t}[]" for t in types)
            sql = (f"UPDATE {table.name} AS t SET {sets} FROM unnest({arrays}, %s::bigint[]) "
                   f"AS v({', '.join(cols)}, _id) WHERE t.id = v._id")
            self.cursor().execute(sql, [list(col) for col in zip(*params, strict=True)])
            return
        sets = ", ".join(f"{c} = {self.mark}" for c in cols)
        self.cursor().executemany(f"UPDATE {table.name} SET {sets} WHERE id = {self.mark}", params)

    def _array_type(self, table: Any, col: str) -> str:
        """The column's SQL type for an array cast (collation left to the column)."""
        return table.c[col].type.compile(dialect=self.dialect).split(" COLLATE ")[0]

    def delete_by_ids(self, table: Any, key: str, ids: list[int]) -> None:
        if not ids:
            return
        cur = self.cursor()
        if self.pg:
            cur.execute(f"DELETE FROM {table.name} WHERE {key} = ANY(%s)", (ids,))
            return
        for i in range(0, len(ids), 900):
            chunk = ids[i:i + 900]
            cur.execute(f"DELETE FROM {table.name} WHERE {key} IN ({','.join('?' * len(chunk))})", chunk)
