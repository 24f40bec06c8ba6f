"""The sync engine: source configuration (CRUD, trigger, erase), due sources and database leases."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from flask import Flask
from sqlalchemy import and_, delete, insert, or_, select, update
from sqlalchemy.orm import Session

from plugin_host.app import hub
from plugin_host.models import T, utcnow
from plugin_host.permissions import Principal, Role
from plugin_host.records import PullContext, SourceType
from plugin_host.repo.errors import NotFound, PermissionDenied, ValidationError
from plugin_host.repo.upsert import Upserter, UpsertOptions
from plugin_host.sync.runner import run_source as _run_source
from plugin_host.sync.settings import public_settings, secrets_set, validate_settings

SRC, RUNS, SUPP, DEPTS = T["sources"], T["sync_runs"], T["suppressed_externals"], T["departments"]
OPTIONS = ("enabled", "remove_absent", "erase_empty")
PUBLIC = ("id", "plugin", "name", "enabled", "interval_hours", "remove_absent", "erase_empty", "visibility",
          "department_id", "status_message", "last_success_at", "next_run_at", "sync_requested", "lease_owner")

__all__ = ["SourceService", "claim", "due_sources", "release", "run_source"]


class SourceService:
    """A tenant's sources as its administrators manage them."""

    def __init__(self, session: Session, principal: Principal, app: Flask,
                 source_types: Mapping[str, SourceType] | None = None) -> None:
        self.s, self.p, self.app = session, principal, app
        self.types = dict(source_types) if source_types is not None else hub(app).registry.source_types
        self.box = hub(app).secrets

    # ------------------------------------------------------------ reading
    def _row(self, source_id: int) -> dict[str, Any]:
        if self.p.role != Role.ADMIN:
            raise PermissionDenied("only administrators manage contact sources")
        row = self.s.execute(select(SRC).where(SRC.c.id == source_id, SRC.c.tenant_id == self.p.tenant_id)
                             ).mappings().first()
        if row is None:
            raise NotFound("source not found")
        return dict(row)

    def _public(self, row: Mapping[str, Any]) -> dict[str, Any]:
        stype = self.types.get(row["plugin"])
        secrets = self.box.open(row["secrets"])
        out = {k: row[k] for k in PUBLIC}
        out["settings"] = public_settings(stype, row["settings"] or {}, secrets)
        out["secrets_set"] = secrets_set(stype, secrets)
        out["full_snapshot_options"] = bool(stype and stype.full_snapshot_options)
        return out

    def get(self, source_id: int) -> dict[str, Any]:
        """One source; secrets appear only as set/unset flags."""
        return self._public(self._row(source_id))

    def list(self) -> list[dict[str, Any]]:
        """The tenant's sources, oldest first."""
        if self.p.role != Role.ADMIN:
            raise PermissionDenied("only administrators manage contact sources")
        rows = self.s.execute(select(SRC).where(SRC.c.tenant_id == self.p.tenant_id).order_by(SRC.c.id))
        return [self._public(r) for r in rows.mappings()]

    def runs(self, source_id: int, limit: int = 20) -> list[dict[str, Any]]:
        """The most recent recorded runs of a source, newest first."""
        self._row(source_id)
        rows = self.s.execute(select(RUNS).where(RUNS.c.source_id == source_id)
                              .order_by(RUNS.c.id.desc()).limit(limit)).mappings()
        return [dict(r) for r in rows]

    # ------------------------------------------------------------ writing
    def _values(self, data: Mapping[str, Any], old: Mapping[str, Any] | None) -> dict[str, Any]:
        plugin = old["plugin"] if old else data.get("plugin")
        stype = self.types.get(plugin or "")
        if stype is None:
            raise ValidationError({"plugin": [f"unknown source type {plugin!r}"]})
        old_secrets = self.box.open(old["secrets"]) if old else {}
        merged = {**(old["settings"] if old else {}), **(data.get("settings") or {})}
        settings, secrets = validate_settings(stype, merged, old_secrets)
        vals: dict[str, Any] = {"plugin": plugin, "settings": settings, "secrets": self.box.seal(secrets)}
        name = str(data.get("name") or settings.get("name") or (old or {}).get("name") or stype.label).strip()
        vals["name"] = name[:200]
        for k in OPTIONS:
            if k in data:
                vals[k] = bool(data[k])
        if "interval_hours" in data:
            try:
                hours = int(data["interval_hours"])
            except (TypeError, ValueError):
                hours = 0
            if hours < 1:
                raise ValidationError({"interval_hours": ["Sync Interval must be a whole number of hours, at least 1"]})
            vals["interval_hours"] = hours
        vis = data.get("visibility", (old or {}).get("visibility", "global"))
        dept = data.get("department_id", (old or {}).get("department_id"))
        if vis not in ("global", "department"):
            raise ValidationError({"visibility": ["synced contacts are global or department contacts"]})
        if vis == "department" and not self.s.execute(select(DEPTS.c.id).where(
                DEPTS.c.id == dept, DEPTS.c.tenant_id == self.p.tenant_id)).first():
            raise ValidationError({"department_id": ["choose a department of this tenant"]})
        vals.update(visibility=vis, department_id=dept if vis == "department" else None, updated_at=utcnow())
        return vals

    def create(self, data: Mapping[str, Any]) -> dict[str, Any]:
        """Configure a source; enabled means an immediate full sync, then one every interval."""
        if self.p.role != Role.ADMIN:
            raise PermissionDenied("only administrators manage contact sources")
        vals = self._values(data, None)
        vals.setdefault("interval_hours", 24)
        now = utcnow()
        sid = self.s.execute(insert(SRC).values(
            tenant_id=self.p.tenant_id, created_at=now, status_message="Never synced", sync_requested=False,
            next_run_at=now if vals.get("enabled") else None, **vals).returning(SRC.c.id)).scalar_one()
        self.s.flush()
        return self.get(sid)

    def update(self, source_id: int, data: Mapping[str, Any]) -> dict[str, Any]:
        """Change a source; enabling it schedules a run now, disabling stops the schedule."""
        old = self._row(source_id)
        vals = self._values(data, old)
        enabled = vals.get("enabled", old["enabled"])
        if enabled and not old["enabled"]:
            vals["next_run_at"] = utcnow()
        elif enabled and "interval_hours" in vals and old["last_success_at"]:
            vals["next_run_at"] = old["last_success_at"] + timedelta(hours=vals["interval_hours"])
        elif not enabled:
            vals["next_run_at"] = None
        self.s.execute(update(SRC).where(SRC.c.id == source_id).values(**vals))
        return self.get(source_id)

    def trigger(self, source_id: int) -> dict[str, Any]:
        """Trigger Sync: the next free worker runs it, enabled or not."""
        self._row(source_id)
        self.s.execute(update(SRC).where(SRC.c.id == source_id).values(sync_requested=True))
        return self.get(source_id)

    def erase(self, source_id: int) -> dict[str, int]:
        """Erase Data: the source's contacts and their activities, suppressions, runs and configuration."""
        self._row(source_id)
        up = Upserter(self.s, self.p, options=UpsertOptions(source_id=source_id, run_id=0))
        removed = up.delete_absent()  # run 0 saw nothing: every contact of the source goes
        self.s.execute(delete(SUPP).where(SUPP.c.source_id == source_id))
        runs = self.s.execute(delete(RUNS).where(RUNS.c.source_id == source_id)).rowcount
        self.s.execute(delete(SRC).where(SRC.c.id == source_id))
        return {"contacts": removed, "runs": runs}

    def run_source(self, source_id: int, worker_id: str, ctx: PullContext | None = None) -> dict[str, Any]:
        """Run a sync of one of this tenant's sources now (commits); returns the recorded run."""
        self._row(source_id)
        self.s.commit()
        return _run_source(self.s, self.app, source_id, worker_id, ctx,
                           self.types.get(self._row(source_id)["plugin"]))


def run_source(session: Session, app: Flask, source_id: int, worker_id: str, ctx: PullContext | None = None,
               source_type: SourceType | None = None) -> dict[str, Any]:
    """Run one sync of any source now (as the tenant's system principal); see ``runner.run_source``."""
    return _run_source(session, app, source_id, worker_id, ctx, source_type)


def _free(now: datetime) -> Any:
    return or_(SRC.c.lease_owner.is_(None), SRC.c.lease_expires_at < now)


def _due(now: datetime) -> Any:
    return or_(and_(SRC.c.enabled.is_(True), SRC.c.next_run_at <= now), SRC.c.sync_requested.is_(True))


def due_sources(session: Session, now: datetime | None = None) -> list[int]:
    """Ids of sources to run now: enabled and due, or triggered; leased ones are left out."""
    now = now or utcnow()
    return list(session.execute(select(SRC.c.id).where(_due(now), _free(now)).order_by(SRC.c.next_run_at, SRC.c.id))
                .scalars())


def claim(session: Session, source_id: int, worker: str, lease_seconds: int = 7200,
          now: datetime | None = None, *, due_only: bool = False) -> bool:
    """Take the lease on a source (commits); False when another worker holds a live lease.

    ``due_only`` also requires the source to be due still, so a run that just finished is not repeated.
    """
    now = now or utcnow()
    cond = [SRC.c.id == source_id, _free(now), *([_due(now)] if due_only else [])]
    res = session.execute(update(SRC).where(*cond).values(
        lease_owner=worker, lease_expires_at=now + timedelta(seconds=lease_seconds)))
    session.commit()
    return res.rowcount == 1


def release(session: Session, source_id: int, worker: str) -> None:
    """Give a lease back without running (commits)."""
    session.execute(update(SRC).where(SRC.c.id == source_id, SRC.c.lease_owner == worker)
                    .values(lease_owner=None, lease_expires_at=None))
    session.commit()
