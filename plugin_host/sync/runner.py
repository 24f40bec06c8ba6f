"""One sync run of one source: pull, apply in one transaction, store the cursor only after SyncEnd."""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from flask import Flask
from sqlalchemy import func, insert, select, update
from sqlalchemy.orm import Session

from plugin_host.app import hub
from plugin_host.importing.pipeline import PG_ANALYZE_FROM, analyze_growing_tables
from plugin_host.models import T, utcnow
from plugin_host.permissions import Principal, Role
from plugin_host.records import (
    ContactRecord,
    CursorExpired,
    Deletion,
    PullContext,
    RetryLater,
    SkippedRecord,
    SourceError,
    SourceType,
    SyncEnd,
)
from plugin_host.repo.errors import NotFound
from plugin_host.repo.upsert import Upserter, UpsertOptions

SRC, RUNS, USERS, TENANTS = T["sources"], T["sync_runs"], T["users"], T["tenants"]
BATCH = 500
BACKOFF_BASE = 300  # seconds; doubled per consecutive failure, capped at the interval
log = logging.getLogger("contacts_hub.sync")


def stamp(at: datetime) -> str:
    """The time format of Status Messages."""
    return at.strftime("%Y-%m-%d %H:%M UTC")


def default_ctx() -> PullContext:
    """The production PullContext: real sleep and clock, log to the sync logger."""
    return PullContext(sleep=time.sleep, now=time.time, log=log.info)


def system_principal(session: Session, tenant_id: int) -> Principal:
    """Syncs run as the tenant's first active administrator with the admin role."""
    uid = session.execute(select(USERS.c.id).where(
        USERS.c.tenant_id == tenant_id, USERS.c.is_admin.is_(True), USERS.c.is_active.is_(True))
        .order_by(USERS.c.id).limit(1)).scalar()
    if uid is None:
        raise SourceError("the tenant has no active administrator to run the sync as")
    return Principal(tenant_id=tenant_id, user_id=uid, role=Role.ADMIN, username="sync")


class _Apply:
    """Feeds pulled items to an Upserter in ordered batches and tallies the outcome."""

    def __init__(self, up: Upserter) -> None:
        self.up, self.pending, self.kind = up, [], ""
        self.received, self.deleted, self.errors = 0, 0, 0
        self.reasons: Counter[str] = Counter()
        # A run is one transaction: on PostgreSQL refresh the statistics as the tables grow, or the
        # per-batch external-id lookups are planned for empty tables (sequential scans per batch).
        self.pg = up.s.get_bind().dialect.name == "postgresql"
        self.next_analyze = PG_ANALYZE_FROM

    def add(self, item: Any) -> None:
        kind = "rec" if isinstance(item, ContactRecord) else "del"
        if self.pending and (kind != self.kind or len(self.pending) >= BATCH):
            self.flush()
        self.kind = kind
        self.pending.append(item if kind == "rec" else item.external_id)

    def flush(self) -> None:
        if not self.pending:
            return
        if self.kind == "rec":
            self.received += len(self.pending)
            for out in self.up.apply(self.pending):
                if out.status in ("skipped", "error"):
                    self.reasons[out.message or out.status] += 1
                    self.errors += out.status == "error"
        else:
            self.deleted += self.up.delete_external(self.pending)
        self.pending = []
        if self.pg and self.received >= self.next_analyze:
            analyze_growing_tables(self.up.s)
            self.next_analyze *= 2

    def summary(self) -> str:
        c = self.up.counts
        text = f"{self.received} synced ({c['created']} added, {c['updated']} updated), {self.deleted} deleted"
        skipped = sum(self.reasons.values())
        if skipped:
            top = "; ".join(f"{r} ×{n}" for r, n in self.reasons.most_common(5))
            text += f"; {skipped} skipped ({top})"
        return text


def _pull(session: Session, src: Mapping[str, Any], stype: SourceType, settings: Mapping[str, Any],
          cursor: str | None, run_id: int, principal: Principal, ctx: PullContext,
          expired: bool) -> tuple[_Apply, SyncEnd]:
    region = session.execute(select(TENANTS.c.default_region).where(TENANTS.c.id == src["tenant_id"])).scalar()
    opts = UpsertOptions(source_id=src["id"], run_id=run_id, blank_clears=bool(src["erase_empty"]),
                         visibility=src["visibility"], department_id=src["department_id"],
                         acquisition_source="sync")
    acc = _Apply(Upserter(session, principal, options=opts, region=region or "US"))
    end: SyncEnd | None = None
    for item in stype.pull(settings, cursor, ctx):
        if isinstance(item, SyncEnd):
            end = item
            break
        if isinstance(item, SkippedRecord):
            acc.reasons[item.reason] += 1
        elif isinstance(item, ContactRecord | Deletion):
            acc.add(item)
    if end is None:
        raise SourceError(f"{stype.label}: the source stopped before the end of the data")
    acc.flush()
    if end.full_snapshot and (src["remove_absent"] or expired):
        acc.deleted += acc.up.delete_absent()
    return acc, end


def _backoff(session: Session, src: Mapping[str, Any], retry_after: float | None) -> int:
    if retry_after:
        return int(retry_after)
    since = src["last_success_at"] or datetime(1970, 1, 1)
    fails = session.execute(select(func.count()).select_from(RUNS).where(
        RUNS.c.source_id == src["id"], RUNS.c.ok.is_(False), RUNS.c.started_at > since)).scalar() or 0
    return min(BACKOFF_BASE * 2 ** min(fails, 10), max(src["interval_hours"], 1) * 3600)


def run_source(session: Session, app: Flask, source_id: int, worker_id: str, ctx: PullContext | None = None,
               source_type: SourceType | None = None) -> dict[str, Any]:
    """Run one sync of a source now; returns the recorded run. Never raises for source failures."""
    src = session.execute(select(SRC).where(SRC.c.id == source_id)).mappings().first()
    if src is None:
        raise NotFound("source not found")
    src = dict(src)
    started = utcnow()
    run_id = session.execute(insert(RUNS).values(
        tenant_id=src["tenant_id"], source_id=source_id, started_at=started, full=src["cursor"] is None,
        ok=None, added=0, updated=0, deleted=0, errors=0, message="running", worker=worker_id,
    ).returning(RUNS.c.id)).scalar_one()
    session.commit()
    ctx = ctx or default_ctx()
    cursor, expired, retry_after = src["cursor"], False, None
    try:
        stype = source_type or hub(app).registry.source_types.get(src["plugin"])
        if stype is None:
            raise SourceError(f"source type {src['plugin']!r} is not installed")
        settings = {**(src["settings"] or {}), **hub(app).secrets.open(src["secrets"])}
        principal = system_principal(session, src["tenant_id"])
        while True:
            try:
                acc, end = _pull(session, src, stype, settings, cursor, run_id, principal, ctx, expired)
                break
            except CursorExpired as exc:
                if cursor is None:
                    raise
                session.rollback()
                ctx.log(f"{exc}; restarting as a full sync")
                cursor, expired = None, True
        c = acc.up.counts
        message = f"Last successful sync {stamp(utcnow())}: {acc.summary()}"
        if expired:
            message += " (the sync cursor had expired: full sync)"
        finished = utcnow()
        session.execute(update(RUNS).where(RUNS.c.id == run_id).values(
            finished_at=finished, ok=True, full=cursor is None, added=c["created"], updated=c["updated"],
            deleted=acc.deleted, errors=acc.errors, message=message))
        nxt = finished + timedelta(hours=src["interval_hours"]) if src["enabled"] else None
        session.execute(update(SRC).where(SRC.c.id == source_id).values(
            cursor=end.cursor, status_message=message, last_success_at=finished, next_run_at=nxt,
            sync_requested=False, lease_owner=None, lease_expires_at=None))
        session.commit()
    except Exception as exc:
        session.rollback()
        if not isinstance(exc, SourceError):
            log.exception("sync of source %s failed", source_id)
        retry_after = exc.retry_after if isinstance(exc, RetryLater) else None
        finished = utcnow()
        text = str(exc) or type(exc).__name__
        message = f"Sync failed {stamp(finished)}: {text}"
        session.execute(update(RUNS).where(RUNS.c.id == run_id).values(
            finished_at=finished, ok=False, errors=1, message=message))
        delay = _backoff(session, src, retry_after)
        session.execute(update(SRC).where(SRC.c.id == source_id).values(
            status_message=message, sync_requested=False, lease_owner=None, lease_expires_at=None,
            next_run_at=finished + timedelta(seconds=delay) if src["enabled"] else None))
        session.commit()
    return dict(session.execute(select(RUNS).where(RUNS.c.id == run_id)).mappings().one())
