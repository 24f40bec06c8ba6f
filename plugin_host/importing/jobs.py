"""Background import jobs: a small thread pool in the web process, with a lease per job row.

A worker claims a queued job (or one whose lease has expired: its worker crashed) by
setting ``lease_owner``/``lease_expires_at`` in one conditional UPDATE, so two workers never
run the same job at once. A re-run starts over from the saved file: its earlier failed rows
are dropped and, because rows are matched by the job's match keys, contacts written by the
interrupted run are updated rather than created twice.
"""

from __future__ import annotations

import os
import socket
import threading
import uuid
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import and_, delete, or_, select, update

from plugin_host.models import T, db, utcnow

JOBS, ERROR_ROWS = T["import_jobs"], T["import_error_rows"]
ACTIVE = ("queued", "running")
DEFAULT_LEASE_SECONDS = 600
UNCLAIMED_GRACE_SECONDS = 10

_lock = threading.Lock()
_pool: ThreadPoolExecutor | None = None


def worker_id() -> str:
    """This process's lease owner name (host, pid and a per-process random part)."""
    return f"{socket.gethostname()}:{os.getpid()}:{_PROCESS_TAG}"


_PROCESS_TAG = uuid.uuid4().hex[:8]


def _executor(app: Any) -> ThreadPoolExecutor:
    global _pool
    with _lock:
        if _pool is None:
            _pool = ThreadPoolExecutor(max_workers=int(app.config.get("IMPORT_WORKERS", 2)),
                                       thread_name_prefix="import-job")
        return _pool


def lease_seconds(app: Any) -> int:
    return int(app.config.get("IMPORT_LEASE_SECONDS", DEFAULT_LEASE_SECONDS))


def submit(app: Any, job_id: int) -> Future[Any]:
    """Run the job in the web process's pool (returns the Future; callers normally poll the job row)."""
    return _executor(app).submit(run_job, app, job_id)


def claim(session: Any, job_id: int, owner: str, seconds: int) -> bool:
    """Take the job's lease if it is queued/running and unleased or its lease has expired (commits)."""
    now = utcnow()
    result = session.execute(update(JOBS).where(
        JOBS.c.id == job_id, JOBS.c.status.in_(ACTIVE),
        or_(JOBS.c.lease_expires_at.is_(None), JOBS.c.lease_expires_at < now, JOBS.c.lease_owner == owner),
    ).values(lease_owner=owner, lease_expires_at=now + timedelta(seconds=seconds)))
    session.commit()
    return bool(result.rowcount)


def is_stale(job: dict[str, Any]) -> bool:
    """An active job whose lease has run out (its worker died) or that was never claimed."""
    if job["status"] not in ACTIVE or not job.get("file_path"):
        return False
    expires = job.get("lease_expires_at")
    now = utcnow().replace(tzinfo=None)
    if expires is None:  # never claimed: give the worker it was submitted to a moment first
        created = job.get("created_at")
        return created is None or created.replace(tzinfo=None) < now - timedelta(seconds=UNCLAIMED_GRACE_SECONDS)
    return expires.replace(tzinfo=None) < now


def run_job(app: Any, job_id: int) -> str:
    """Claim and run one job; returns its final status (or ``"not-claimed"``)."""
    from plugin_host.directory import principal_for
    from plugin_host.importing.errors import ImportFileError
    from plugin_host.importing.pipeline import ImportOptions, run_import
    from plugin_host.repo.errors import RepositoryError

    owner = f"{worker_id()}:{threading.get_ident()}"
    with app.app_context():
        s = db.session
        try:
            seconds = lease_seconds(app)
            if not claim(s, job_id, owner, seconds):
                return "not-claimed"
            job = s.execute(select(JOBS).where(JOBS.c.id == job_id)).mappings().one()
            # a re-run starts over: drop the failed rows the interrupted run recorded
            s.execute(delete(ERROR_ROWS).where(ERROR_ROWS.c.job_id == job_id))
            s.execute(update(JOBS).where(JOBS.c.id == job_id).values(
                rows_done=0, imported=0, updated=0, skipped=0, errors=0, status="queued", message=""))
            s.commit()
            path = job["file_path"]
            if not path or not Path(path).is_file():
                _finish(s, job_id, owner, status="failed", message="the uploaded file is no longer available")
                return "failed"
            options = ImportOptions.from_dict(job["options"] or {})
            options.legacy_codepage = options.legacy_codepage or app.config.get("LEGACY_CODEPAGE", "cp1252")
            renew = _Renewer(s, job_id, owner, seconds)
            try:
                principal = principal_for(s, job["user_id"]) if job["user_id"] else None
                if principal is None or principal.tenant_id != job["tenant_id"]:
                    raise RepositoryError("the user who started this import no longer exists")
                run_import(s, principal, path, options, job_id=job_id, progress=renew,
                           filename=job["filename"] or "")
            except (ImportFileError, RepositoryError) as exc:
                s.rollback()
                _finish(s, job_id, owner, status="failed", message=str(exc))
                return "failed"
            except Exception as exc:  # the job row records it; the pool must survive
                s.rollback()
                _finish(s, job_id, owner, status="failed", message=f"{type(exc).__name__}: {exc}")
                return "failed"
            _finish(s, job_id, owner)
            return "done"
        finally:
            s.rollback()
            db.session.remove()


def _finish(s: Any, job_id: int, owner: str, **values: Any) -> None:
    """Release the lease, delete the saved file; ``values`` (status, message) only if still ours and active."""
    job = s.execute(select(JOBS.c.file_path, JOBS.c.status, JOBS.c.lease_owner).where(JOBS.c.id == job_id)).first()
    if job is None:
        return
    if values and job.status in ACTIVE:
        s.execute(update(JOBS).where(JOBS.c.id == job_id).values(finished_at=utcnow(), **values))
    elif values and job.status == "failed" and "message" in values:
        s.execute(update(JOBS).where(JOBS.c.id == job_id, JOBS.c.message == "").values(message=values["message"]))
    s.execute(update(JOBS).where(JOBS.c.id == job_id, JOBS.c.lease_owner == owner).values(
        lease_owner=None, lease_expires_at=None))
    s.commit()
    if job.file_path:
        try:
            Path(job.file_path).unlink(missing_ok=True)
        except OSError:
            pass


class _Renewer:
    """The pipeline's progress callback: extends the lease while the run is alive.

    On PostgreSQL the renewal is its own short transaction (the run's transaction is still
    open); SQLite has a single writer, so there the lease simply lasts ``IMPORT_LEASE_SECONDS``.
    """

    def __init__(self, s: Any, job_id: int, owner: str, seconds: int) -> None:
        self.s, self.job_id, self.owner, self.seconds = s, job_id, owner, seconds
        self.pg = s.get_bind().dialect.name == "postgresql"
        self.next_at = utcnow() + timedelta(seconds=seconds / 3)

    def __call__(self, done: int, total: int | None) -> None:
        now = utcnow()
        if not self.pg or now < self.next_at:
            return
        self.next_at = now + timedelta(seconds=self.seconds / 3)
        with self.s.get_bind().begin() as conn:
            conn.execute(update(JOBS).where(JOBS.c.id == self.job_id, JOBS.c.lease_owner == self.owner)
                         .values(lease_expires_at=now + timedelta(seconds=self.seconds)))


def stale_jobs(session: Any, tenant_id: int | None = None) -> list[int]:
    """Ids of active jobs with a saved file whose lease is missing or expired."""
    now = utcnow()
    terms = [JOBS.c.status.in_(ACTIVE), JOBS.c.file_path.is_not(None),
             or_(JOBS.c.lease_expires_at.is_(None), JOBS.c.lease_expires_at < now)]
    if tenant_id is not None:
        terms.append(JOBS.c.tenant_id == tenant_id)
    return list(session.execute(select(JOBS.c.id).where(and_(*terms)).order_by(JOBS.c.id)).scalars())


def recover(app: Any) -> list[int]:
    """Resubmit every interrupted job (call at start-up, or from a poll that finds a stale job)."""
    with app.app_context():
        ids = stale_jobs(db.session)
        db.session.rollback()
    for job_id in ids:
        submit(app, job_id)
    return ids
