"""SQLAlchemy 2 typed models of DESIGN.md §3; the schema itself is created only by migrations."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, scoped_session

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def end_transaction(session: Any) -> str:
    """End ``session``'s open transaction the cheapest safe way; returns ``"commit"``, ``"rollback"`` or ``""``.

    On PostgreSQL a transaction that wrote nothing (no transaction id assigned, nothing pending in the
    ORM) ends with COMMIT, which for it is the same as ROLLBACK: psycopg forgets every prepared
    statement on ROLLBACK, so a request that ends with one leaves the next to plan every statement
    again. Anything else, and every transaction on other databases, is rolled back.
    """
    if isinstance(session, scoped_session):
        session = session()
    if not session.in_transaction():
        return ""
    try:
        if (session.get_bind().dialect.name == "postgresql" and not (session.new or session.dirty or session.deleted)
                and session.connection().exec_driver_sql("SELECT txid_current_if_assigned()").scalar() is None):
            session.commit()
            return "commit"
    except Exception:  # a failed transaction: rolled back below
        pass
    session.rollback()
    return "rollback"


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


db = SQLAlchemy(model_class=Base)

ID = BigInteger().with_variant(Integer(), "sqlite")
Stamp = DateTime(timezone=False)


def Key(length: int) -> Any:
    """A search/sort key compared byte-wise: prefix ranges and keyset paging need C collation on PostgreSQL."""
    return String(length).with_variant(String(length, collation="C"), "postgresql")


def _fk(target: str, ondelete: str = "CASCADE", **kw: Any) -> Any:
    return mapped_column(ID, ForeignKey(target, ondelete=ondelete), **kw)


class Tenant(db.Model):
    __tablename__ = "tenants"
    id: Mapped[int] = mapped_column(ID, primary_key=True)
    slug: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    default_region: Mapped[str] = mapped_column(String(2), default="US")
    suffix_digits: Mapped[int] = mapped_column(Integer, default=7)
    created_at: Mapped[datetime] = mapped_column(Stamp, default=utcnow)


class User(db.Model):
    __tablename__ = "users"
    id: Mapped[int] = mapped_column(ID, primary_key=True)
    tenant_id: Mapped[int] = _fk("tenants.id", index=True)
    username: Mapped[str] = mapped_column(String(120), unique=True)
    display_name: Mapped[str] = mapped_column(String(200), default="")
    email: Mapped[str | None] = mapped_column(String(254))
    password_hash: Mapped[str | None] = mapped_column(String(255))
    is_admin: Mapped[bool] = mapped_column(Boolean, default=False)
    extension: Mapped[str | None] = mapped_column(String(32))
    can_import: Mapped[bool] = mapped_column(Boolean, default=True)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(Stamp, default=utcnow)
    last_login_at: Mapped[datetime | None] = mapped_column(Stamp)


class Department(db.Model):
    __tablename__ = "departments"
    __table_args__ = (UniqueConstraint("tenant_id", "name"),)
    id: Mapped[int] = mapped_column(ID, primary_key=True)
    tenant_id: Mapped[int] = _fk("tenants.id", index=True)
    name: Mapped[str] = mapped_column(String(120))
    created_at: Mapped[datetime] = mapped_column(Stamp, default=utcnow)


class DepartmentMember(db.Model):
    __tablename__ = "department_members"
    department_id: Mapped[int] = _fk("departments.id", primary_key=True)
    user_id: Mapped[int] = _fk("users.id", primary_key=True, index=True)
    is_admin: Mapped[bool] = mapped_column(Boolean, default=False)


class Account(db.Model):
    __tablename__ = "accounts"
    __table_args__ = (UniqueConstraint("tenant_id", "name_key"),)
    id: Mapped[int] = mapped_column(ID, primary_key=True)
    tenant_id: Mapped[int] = _fk("tenants.id")
    name: Mapped[str] = mapped_column(String(200))
    name_key: Mapped[str] = mapped_column(String(200))
    website: Mapped[str | None] = mapped_column(String(300))
    created_at: Mapped[datetime] = mapped_column(Stamp, default=utcnow)


class Source(db.Model):
    """A configured sync source of a tenant (Microsoft 365, Custom, SQL, third-party)."""

    __tablename__ = "sources"
    id: Mapped[int] = mapped_column(ID, primary_key=True)
    tenant_id: Mapped[int] = _fk("tenants.id", index=True)
    plugin: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(200))
    settings: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    secrets: Mapped[str | None] = mapped_column(Text)
    enabled: Mapped[bool] = mapped_column(Boolean, default=False)
    interval_hours: Mapped[int] = mapped_column(Integer, default=24)
    remove_absent: Mapped[bool] = mapped_column(Boolean, default=False)
    erase_empty: Mapped[bool] = mapped_column(Boolean, default=False)
    visibility: Mapped[str] = mapped_column(String(16), default="global")
    department_id: Mapped[int | None] = _fk("departments.id", ondelete="SET NULL")
    cursor: Mapped[str | None] = mapped_column(Text)
    status_message: Mapped[str] = mapped_column(Text, default="Never synced")
    last_success_at: Mapped[datetime | None] = mapped_column(Stamp)
    next_run_at: Mapped[datetime | None] = mapped_column(Stamp, index=True)
    sync_requested: Mapped[bool] = mapped_column(Boolean, default=False)
    lease_owner: Mapped[str | None] = mapped_column(String(120))
    lease_expires_at: Mapped[datetime | None] = mapped_column(Stamp)
    created_at: Mapped[datetime] = mapped_column(Stamp, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(Stamp, default=utcnow, onupdate=utcnow)


#: PostgreSQL: rows whose name keys and search_text take at most this many bytes are in
#: ix_contacts_name_cover (a b-tree entry holds 2,704 bytes at most, headers and other columns included).
COVER_BYTES = 2000
KEY_BYTES = ("octet_length(contacts.sort_key) + octet_length(contacts.last_key) + "
              "octet_length(contacts.company_key) + octet_length(contacts.search_text)")


class Contact(db.Model):
    __tablename__ = "contacts"
    __table_args__ = (
        # Name order. PostgreSQL walks it and reads the rows; on SQLite it is an empty stand-in and
        # ix_contacts_name_walk, which carries everything a search or permission check reads, serves
        # name order from the index alone (PostgreSQL's b-tree limit rules out search_text there).
        Index("ix_contacts_tenant_sort", "tenant_id", "sort_key", "id", sqlite_where=text("0")),
        Index("ix_contacts_name_walk", "tenant_id", "sort_key", "id", "visibility", "department_id", "owner_id",
              "last_key", "company_key", "search_text", postgresql_where=text("false")),
        # PostgreSQL's twin of ix_contacts_name_walk (migration 0005): the same columns as INCLUDE, for
        # the rows whose keys fit a b-tree entry; the (rare) others in ix_contacts_name_long.
        Index("ix_contacts_name_cover", "tenant_id", "sort_key", "id", sqlite_where=text("0"),
              postgresql_include=["visibility", "department_id", "owner_id", "last_key", "company_key",
                                  "search_text"],
              postgresql_where=text(f"{KEY_BYTES} <= {COVER_BYTES}")),
        Index("ix_contacts_name_long", "tenant_id", "sort_key", "id", sqlite_where=text("0"),
              postgresql_where=text(f"{KEY_BYTES} > {COVER_BYTES}")),
        # A search reads the candidates of a name-key prefix in these, carrying the permission columns and
        # the other key so the whole check stays in the index: *_walk on SQLite; on PostgreSQL the *_cover
        # twins (migration 0007; INCLUDE columns, partial like ix_contacts_name_cover; the other rows are
        # all in ix_contacts_name_long).
        *(Index(f"ix_contacts_{name}_cover", "tenant_id", key, "sort_key", "id", sqlite_where=text("0"),
                postgresql_include=["visibility", "department_id", "owner_id", other],
                postgresql_where=text(f"{KEY_BYTES} <= {COVER_BYTES}"))
          for name, key, other in (("last", "last_key", "company_key"), ("company", "company_key", "last_key"))),
        Index("ix_contacts_last_walk", "tenant_id", "last_key", "sort_key", "id", "visibility", "department_id",
              "owner_id", "company_key", postgresql_where=text("false")),
        Index("ix_contacts_company_walk", "tenant_id", "company_key", "sort_key", "id", "visibility",
              "department_id", "owner_id", "last_key", postgresql_where=text("false")),
        # Substring search: trigram GIN on PostgreSQL; on SQLite an empty stand-in (the FTS5 table
        # contacts_fts, kept in step by triggers, serves substrings there; see migration 0003).
        Index("ix_contacts_search_trgm", "search_text", postgresql_using="gin",
              postgresql_ops={"search_text": "gin_trgm_ops"}, sqlite_where=text("0")),
        Index("ix_contacts_scope", "tenant_id", "visibility", "department_id"),
        Index("ix_contacts_owner", "tenant_id", "owner_id"),
        Index("ix_contacts_crm_id", "tenant_id", "external_crm_id"),
        UniqueConstraint("source_id", "external_id"),
    )
    id: Mapped[int] = mapped_column(ID, primary_key=True)
    tenant_id: Mapped[int] = _fk("tenants.id")
    first_name: Mapped[str] = mapped_column(String(200), default="")
    last_name: Mapped[str] = mapped_column(String(200), default="")
    company: Mapped[str | None] = mapped_column(String(200))
    account_id: Mapped[int | None] = _fk("accounts.id", ondelete="SET NULL", index=True)
    contact_type: Mapped[str] = mapped_column(String(16), default="customer")
    title: Mapped[str | None] = mapped_column(String(200))
    org_department: Mapped[str | None] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(20), default="active")
    acquisition_source: Mapped[str | None] = mapped_column(String(32))
    preferred_channel: Mapped[str | None] = mapped_column(String(32))
    language: Mapped[str | None] = mapped_column(String(35))
    timezone: Mapped[str | None] = mapped_column(String(64))
    notes: Mapped[str | None] = mapped_column(Text)
    fb_user_id: Mapped[str | None] = mapped_column(String(64))
    external_crm_id: Mapped[str | None] = mapped_column(String(200))
    external_crm_provider: Mapped[str | None] = mapped_column(String(100))
    opt_in_email: Mapped[bool] = mapped_column(Boolean, default=False)
    opt_in_sms: Mapped[bool] = mapped_column(Boolean, default=False)
    opt_in_whatsapp: Mapped[bool] = mapped_column(Boolean, default=False)
    visibility: Mapped[str] = mapped_column(String(16), default="global")
    department_id: Mapped[int | None] = _fk("departments.id", ondelete="RESTRICT")
    owner_id: Mapped[int | None] = _fk("users.id", ondelete="SET NULL")
    source_id: Mapped[int | None] = _fk("sources.id", ondelete="CASCADE")
    external_id: Mapped[str | None] = mapped_column(String(255))
    seen_run_id: Mapped[int | None] = mapped_column(ID)
    locally_modified: Mapped[bool] = mapped_column(Boolean, default=False)
    first_key: Mapped[str] = mapped_column(Key(200), default="")
    last_key: Mapped[str] = mapped_column(Key(200), default="")
    company_key: Mapped[str] = mapped_column(Key(200), default="")
    sort_key: Mapped[str] = mapped_column(Key(400), default="")
    search_text: Mapped[str] = mapped_column(Text, default="")
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_by: Mapped[int | None] = _fk("users.id", ondelete="SET NULL")
    updated_by: Mapped[int | None] = _fk("users.id", ondelete="SET NULL")
    created_at: Mapped[datetime] = mapped_column(Stamp, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(Stamp, default=utcnow)


class ContactPhone(db.Model):
    __tablename__ = "contact_phones"
    __table_args__ = (
        Index("ix_phones_e164", "tenant_id", "e164"),
        Index("ix_phones_national", "tenant_id", "national"),
        Index("ix_phones_digits_rev", "tenant_id", "digits_rev"),
    )
    id: Mapped[int] = mapped_column(ID, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ID)
    contact_id: Mapped[int] = _fk("contacts.id", index=True)
    position: Mapped[int] = mapped_column(Integer, default=0)
    label: Mapped[str] = mapped_column(String(16), default="other")
    raw: Mapped[str] = mapped_column(String(100))
    e164: Mapped[str | None] = mapped_column(Key(20))
    national: Mapped[str | None] = mapped_column(Key(20))
    extension: Mapped[str | None] = mapped_column(String(20))
    kind: Mapped[str] = mapped_column(String(10), default="e164")
    digits_rev: Mapped[str] = mapped_column(Key(40), default="")


class ContactEmail(db.Model):
    __tablename__ = "contact_emails"
    __table_args__ = (Index("ix_emails_key", "tenant_id", "address_key"),)
    id: Mapped[int] = mapped_column(ID, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ID)
    contact_id: Mapped[int] = _fk("contacts.id", index=True)
    position: Mapped[int] = mapped_column(Integer, default=0)
    label: Mapped[str] = mapped_column(String(16), default="other")
    address: Mapped[str] = mapped_column(String(254))
    address_key: Mapped[str] = mapped_column(Key(254))


class Tag(db.Model):
    __tablename__ = "tags"
    __table_args__ = (UniqueConstraint("tenant_id", "name_key"),)
    id: Mapped[int] = mapped_column(ID, primary_key=True)
    tenant_id: Mapped[int] = _fk("tenants.id")
    name: Mapped[str] = mapped_column(String(100))
    name_key: Mapped[str] = mapped_column(String(100))


class ContactTag(db.Model):
    __tablename__ = "contact_tags"
    contact_id: Mapped[int] = _fk("contacts.id", primary_key=True)
    tag_id: Mapped[int] = _fk("tags.id", primary_key=True, index=True)


class ContactList(db.Model):
    """A static list (members) or a dynamic list (saved filter, counted live)."""

    __tablename__ = "lists"
    __table_args__ = (UniqueConstraint("tenant_id", "name"),)
    id: Mapped[int] = mapped_column(ID, primary_key=True)
    tenant_id: Mapped[int] = _fk("tenants.id")
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(10), default="static")
    description: Mapped[str] = mapped_column(Text, default="")
    criteria: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    visibility: Mapped[str] = mapped_column(String(16), default="global")
    department_id: Mapped[int | None] = _fk("departments.id", ondelete="CASCADE")
    owner_id: Mapped[int | None] = _fk("users.id", ondelete="CASCADE")
    created_by: Mapped[int | None] = _fk("users.id", ondelete="SET NULL")
    created_at: Mapped[datetime] = mapped_column(Stamp, default=utcnow)


class ListMember(db.Model):
    __tablename__ = "list_members"
    list_id: Mapped[int] = _fk("lists.id", primary_key=True)
    contact_id: Mapped[int] = _fk("contacts.id", primary_key=True, index=True)
    added_at: Mapped[datetime] = mapped_column(Stamp, default=utcnow)


class CustomFieldDefinition(db.Model):
    __tablename__ = "custom_field_defs"
    __table_args__ = (UniqueConstraint("tenant_id", "entity", "name"),)
    id: Mapped[int] = mapped_column(ID, primary_key=True)
    tenant_id: Mapped[int] = _fk("tenants.id")
    entity: Mapped[str] = mapped_column(String(16), default="contact")
    name: Mapped[str] = mapped_column(String(64))
    label: Mapped[str] = mapped_column(String(200))
    field_type: Mapped[str] = mapped_column(String(16), default="text")
    options: Mapped[list[Any]] = mapped_column(JSON, default=list)
    required: Mapped[bool] = mapped_column(Boolean, default=False)
    sort_order: Mapped[int] = mapped_column(Integer, default=0)


class CustomFieldValue(db.Model):
    __tablename__ = "custom_field_values"
    contact_id: Mapped[int] = _fk("contacts.id", primary_key=True)
    field_id: Mapped[int] = _fk("custom_field_defs.id", primary_key=True, index=True)
    value: Mapped[str] = mapped_column(Text, default="")


class Activity(db.Model):
    __tablename__ = "activities"
    __table_args__ = (Index("ix_activities_contact_time", "tenant_id", "contact_id", "occurred_at"),)
    id: Mapped[int] = mapped_column(ID, primary_key=True)
    tenant_id: Mapped[int] = _fk("tenants.id")
    contact_id: Mapped[int] = _fk("contacts.id")
    kind: Mapped[str] = mapped_column(String(20))
    direction: Mapped[str | None] = mapped_column(String(10))
    summary: Mapped[str] = mapped_column(String(500), default="")
    body: Mapped[str | None] = mapped_column(Text)
    user_id: Mapped[int | None] = _fk("users.id", ondelete="SET NULL", index=True)
    department_id: Mapped[int | None] = _fk("departments.id", ondelete="SET NULL")
    occurred_at: Mapped[datetime] = mapped_column(Stamp, default=utcnow)
    duration_seconds: Mapped[int | None] = mapped_column(Integer)
    source: Mapped[str | None] = mapped_column(String(64))
    external_id: Mapped[str | None] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(Stamp, default=utcnow)


class SuppressedExternal(db.Model):
    """A synced contact deleted locally: later syncs must not bring it back."""

    __tablename__ = "suppressed_externals"
    source_id: Mapped[int] = _fk("sources.id", primary_key=True)
    external_id: Mapped[str] = mapped_column(String(255), primary_key=True)


class SyncRun(db.Model):
    __tablename__ = "sync_runs"
    id: Mapped[int] = mapped_column(ID, primary_key=True)
    tenant_id: Mapped[int] = _fk("tenants.id")
    source_id: Mapped[int] = _fk("sources.id", index=True)
    started_at: Mapped[datetime] = mapped_column(Stamp, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(Stamp)
    full: Mapped[bool] = mapped_column(Boolean, default=False)
    ok: Mapped[bool | None] = mapped_column(Boolean)
    added: Mapped[int] = mapped_column(Integer, default=0)
    updated: Mapped[int] = mapped_column(Integer, default=0)
    deleted: Mapped[int] = mapped_column(Integer, default=0)
    errors: Mapped[int] = mapped_column(Integer, default=0)
    message: Mapped[str] = mapped_column(Text, default="")
    worker: Mapped[str | None] = mapped_column(String(120))


class ImportMap(db.Model):
    __tablename__ = "import_maps"
    __table_args__ = (UniqueConstraint("tenant_id", "name"),)
    id: Mapped[int] = mapped_column(ID, primary_key=True)
    tenant_id: Mapped[int] = _fk("tenants.id")
    name: Mapped[str] = mapped_column(String(200))
    mapping: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    options: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_by: Mapped[int | None] = _fk("users.id", ondelete="SET NULL")
    created_at: Mapped[datetime] = mapped_column(Stamp, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(Stamp, default=utcnow)


class ImportJob(db.Model):
    __tablename__ = "import_jobs"
    id: Mapped[int] = mapped_column(ID, primary_key=True)
    tenant_id: Mapped[int] = _fk("tenants.id", index=True)
    user_id: Mapped[int | None] = _fk("users.id", ondelete="SET NULL")
    status: Mapped[str] = mapped_column(String(16), default="queued")
    filename: Mapped[str] = mapped_column(String(255), default="")
    file_path: Mapped[str | None] = mapped_column(String(1024))
    format: Mapped[str | None] = mapped_column(String(64))
    options: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    dry_run: Mapped[bool] = mapped_column(Boolean, default=False)
    total_rows: Mapped[int | None] = mapped_column(Integer)
    rows_done: Mapped[int] = mapped_column(Integer, default=0)
    imported: Mapped[int] = mapped_column(Integer, default=0)
    updated: Mapped[int] = mapped_column(Integer, default=0)
    skipped: Mapped[int] = mapped_column(Integer, default=0)
    errors: Mapped[int] = mapped_column(Integer, default=0)
    message: Mapped[str] = mapped_column(Text, default="")
    error_token_hash: Mapped[str | None] = mapped_column(String(128))
    error_token_expires_at: Mapped[datetime | None] = mapped_column(Stamp)
    lease_owner: Mapped[str | None] = mapped_column(String(120))
    lease_expires_at: Mapped[datetime | None] = mapped_column(Stamp)
    created_at: Mapped[datetime] = mapped_column(Stamp, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(Stamp)


class ImportErrorRow(db.Model):
    __tablename__ = "import_error_rows"
    id: Mapped[int] = mapped_column(ID, primary_key=True)
    job_id: Mapped[int] = _fk("import_jobs.id", index=True)
    row_number: Mapped[int] = mapped_column(Integer)
    cells: Mapped[list[Any]] = mapped_column(JSON, default=list)
    error: Mapped[str] = mapped_column(Text)


class ApiToken(db.Model):
    __tablename__ = "api_tokens"
    id: Mapped[int] = mapped_column(ID, primary_key=True)
    tenant_id: Mapped[int] = _fk("tenants.id", index=True)
    user_id: Mapped[int] = _fk("users.id", index=True)
    name: Mapped[str] = mapped_column(String(200))
    prefix: Mapped[str] = mapped_column(String(16))
    token_hash: Mapped[str] = mapped_column(String(128), unique=True)
    scopes: Mapped[list[Any]] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(Stamp, default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(Stamp)
    expires_at: Mapped[datetime | None] = mapped_column(Stamp)
    revoked_at: Mapped[datetime | None] = mapped_column(Stamp)


class AuditEvent(db.Model):
    __tablename__ = "audit_events"
    __table_args__ = (Index("ix_audit_tenant_time", "tenant_id", "at"),)
    id: Mapped[int] = mapped_column(ID, primary_key=True)
    tenant_id: Mapped[int] = _fk("tenants.id")
    user_id: Mapped[int | None] = _fk("users.id", ondelete="SET NULL")
    action: Mapped[str] = mapped_column(String(64))
    entity: Mapped[str] = mapped_column(String(32))
    entity_id: Mapped[str | None] = mapped_column(String(64))
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    at: Mapped[datetime] = mapped_column(Stamp, default=utcnow)


T = db.metadata.tables
