"""Sync engine with a scripted in-process source: absence, erase empty, Erase Data, failures, settings."""

from __future__ import annotations

import pytest
from sqlalchemy import func, insert, select

from plugin_host.models import T, utcnow
from plugin_host.records import ContactRecord, CursorExpired, Deletion, RetryLater, SkippedRecord, SyncEnd
from plugin_host.repo.errors import PermissionDenied, ValidationError
from plugin_host.sync.engine import SourceService, due_sources

C, SRC, RUNS, ACT, SUPP = (T[n] for n in ("contacts", "sources", "sync_runs", "activities", "suppressed_externals"))


def rec(eid, company="Acme", **kw):
    return ContactRecord(first_name="F" + eid, last_name="L" + eid, company=company, external_id=eid, **kw)


def setup(session, app, world, scripted, **options):
    svc = SourceService(session, world.principal("admin"), app, {"scripted": scripted.type})
    sid = svc.create({"plugin": "scripted", "name": "S", "settings": {"url": "http://x", "token": "tok"},
                      **options})["id"]
    session.commit()
    return svc, sid


def companies(session, sid):
    rows = session.execute(select(C.c.external_id, C.c.company).where(C.c.source_id == sid))
    return dict(rows.all())


@pytest.mark.parametrize("remove_absent", [True, False])
def test_remove_absent_after_full_snapshot(app, session, world, scripted, make_ctx, remove_absent):
    svc, sid = setup(session, app, world, scripted, remove_absent=remove_absent)
    scripted.items = [rec("a"), rec("b"), rec("c"), SyncEnd("1", True)]
    assert svc.run_source(sid, "w", make_ctx.ctx())["added"] == 3
    scripted.items = [rec("a"), rec("c"), SyncEnd("2", True)]
    run = svc.run_source(sid, "w", make_ctx.ctx())
    assert scripted.cursors == [None, "1"]
    assert sorted(companies(session, sid)) == (["a", "c"] if remove_absent else ["a", "b", "c"])
    assert run["deleted"] == (1 if remove_absent else 0)


@pytest.mark.parametrize("erase_empty", [True, False])
def test_erase_empty_fields(app, session, world, scripted, make_ctx, erase_empty):
    svc, sid = setup(session, app, world, scripted, erase_empty=erase_empty)
    scripted.items = [rec("a"), SyncEnd("1", True)]
    svc.run_source(sid, "w", make_ctx.ctx())
    scripted.items = [rec("a", company=""), SyncEnd("2", False)]
    assert svc.run_source(sid, "w", make_ctx.ctx())["ok"]
    assert companies(session, sid)["a"] in ((None, "") if erase_empty else ("Acme",))


def test_tombstones_and_skipped_summary(app, session, world, scripted, make_ctx):
    svc, sid = setup(session, app, world, scripted)
    scripted.items = [rec("a"), rec("b"), SkippedRecord("x", "missing last_name"),
                      SkippedRecord("y", "missing last_name"), SyncEnd("1", True)]
    svc.run_source(sid, "w", make_ctx.ctx())
    msg = svc.get(sid)["status_message"]
    assert "2 synced (2 added, 0 updated), 0 deleted; 2 skipped (missing last_name ×2)" in msg
    scripted.items = [Deletion("a"), rec("c"), Deletion("c"), Deletion("zz"), SyncEnd("2", False)]
    run = svc.run_source(sid, "w", make_ctx.ctx())
    assert run["deleted"] == 2 and sorted(companies(session, sid)) == ["b"]


@pytest.mark.parametrize("error", [RuntimeError("disk on fire"), RetryLater("throttled", retry_after=90),
                                   "no-end"])
def test_failure_mid_run_applies_nothing(app, session, world, scripted, make_ctx, error):
    svc, sid = setup(session, app, world, scripted, enabled=True)
    scripted.items = [rec("a"), SyncEnd("1", True)]
    svc.run_source(sid, "w", make_ctx.ctx())

    def boom(_cursor):
        raise error

    scripted.items = [rec("a", company="New"), rec("b"), *([] if error == "no-end" else [boom])]
    run = svc.run_source(sid, "w", make_ctx.ctx())
    src = session.execute(select(SRC).where(SRC.c.id == sid)).mappings().one()
    assert run["ok"] is False and src["cursor"] == "1" and companies(session, sid) == {"a": "Acme"}
    expected = "stopped before the end" if error == "no-end" else str(error)
    assert expected in src["status_message"] and src["status_message"].startswith("Sync failed")
    wait = (src["next_run_at"] - run["finished_at"]).total_seconds()
    assert wait == (90 if isinstance(error, RetryLater) else 600)


def test_cursor_expired_restarts_full_and_removes_by_absence(app, session, world, scripted, make_ctx):
    svc, sid = setup(session, app, world, scripted)
    scripted.items = [rec("a"), rec("b"), SyncEnd("1", False)]
    svc.run_source(sid, "w", make_ctx.ctx())

    def expire(cursor):
        if cursor is not None:
            raise CursorExpired("delta token expired")

    scripted.items = [expire, rec("a", company="Full"), SyncEnd("f", True)]
    run = svc.run_source(sid, "w", make_ctx.ctx())
    assert scripted.cursors == [None, "1", None]
    assert run["ok"] and run["full"] and run["deleted"] == 1
    assert companies(session, sid) == {"a": "Full"}


def test_erase_data(app, session, world, scripted, make_ctx):
    svc, sid = setup(session, app, world, scripted)
    scripted.items = [rec("a"), rec("b"), SyncEnd("1", True)]
    svc.run_source(sid, "w", make_ctx.ctx())
    cid = session.execute(select(C.c.id).where(C.c.external_id == "a")).scalar_one()
    session.execute(insert(ACT).values(tenant_id=world.tenant, contact_id=cid, kind="note", summary="hi",
                                       occurred_at=utcnow(), created_at=utcnow()))
    session.execute(insert(SUPP).values(source_id=sid, external_id="gone"))
    mine = session.execute(insert(C).values(tenant_id=world.tenant, first_name="Own", last_name="Contact",
                                            visibility="global").returning(C.c.id)).scalar_one()
    session.commit()
    assert svc.erase(sid) == {"contacts": 2, "runs": 1}
    session.commit()
    for table in (SRC, RUNS, SUPP):
        assert session.execute(select(func.count()).select_from(table)).scalar() == 0
    assert session.execute(select(func.count()).select_from(ACT)).scalar() == 0
    assert list(session.execute(select(C.c.id)).scalars()) == [mine]


def test_enable_and_trigger_scheduling(app, session, world, scripted):
    svc, off = setup(session, app, world, scripted, enabled=False)
    _, on = setup(session, app, world, scripted, enabled=True, interval_hours=6)
    assert due_sources(session) == [on]
    svc.trigger(off)
    session.commit()
    assert sorted(due_sources(session)) == sorted([on, off])
    assert svc.get(on)["interval_hours"] == 6 and svc.get(off)["interval_hours"] == 24


def test_settings_validation(app, session, world, scripted):
    svc = SourceService(session, world.principal("admin"), app, {"scripted": scripted.type})
    with pytest.raises(ValidationError) as err:
        svc.create({"plugin": "scripted", "settings": {"page": "many", "flag": "maybe"}})
    assert set(err.value.errors) == {"url", "page", "flag"}
    with pytest.raises(ValidationError):
        svc.create({"plugin": "nope", "settings": {}})
    with pytest.raises(ValidationError):
        svc.create({"plugin": "scripted", "settings": {"url": "u"}, "interval_hours": 0})
    src = svc.create({"plugin": "scripted", "settings": {"url": "u", "page": "5", "flag": "yes"}})
    assert src["settings"] == {"url": "u", "page": 5, "flag": True, "token": ""}
    assert src["secrets_set"] == {"token": False} and src["name"] == "Scripted"
    with pytest.raises(PermissionDenied):
        SourceService(session, world.principal("agent1"), app, {"scripted": scripted.type}).list()
