"""Leases and workers: exactly one run per due source, expired leases are retried; CLI commands."""

from __future__ import annotations

import threading
import time
from datetime import timedelta

from sqlalchemy import func, select, update

from plugin_host.cli import main
from plugin_host.models import T, db, utcnow
from plugin_host.records import ContactRecord, SyncEnd
from plugin_host.sync.engine import SourceService, claim, due_sources
from plugin_host.sync.scheduler import run_due

SRC, RUNS, C = T["sources"], T["sync_runs"], T["contacts"]


def make_source(session, app, world, scripted, **options):
    svc = SourceService(session, world.principal("admin"), app, {"scripted": scripted.type})
    sid = svc.create({"plugin": "scripted", "settings": {"url": "u"}, "enabled": True, **options})["id"]
    session.commit()
    return sid


def slow(_cursor):
    time.sleep(0.2)


def test_two_claims_one_winner_and_expiry(app, session, world, scripted):
    sid = make_source(session, app, world, scripted)
    assert claim(session, sid, "w1", 60) is True
    assert claim(session, sid, "w2", 60) is False
    assert due_sources(session) == []
    later = utcnow() + timedelta(seconds=61)  # w1 crashed: its lease runs out
    assert due_sources(session, later) == [sid]
    assert claim(session, sid, "w2", 60, later) is True
    assert session.execute(select(SRC.c.lease_owner).where(SRC.c.id == sid)).scalar() == "w2"


def test_racing_workers_run_a_due_source_once(app, session, world, scripted, make_ctx):
    sid = make_source(session, app, world, scripted)
    scripted.items = [slow, ContactRecord(first_name="A", last_name="B", external_id="1"), SyncEnd("c", True)]
    start = threading.Barrier(2)
    done: list[int] = []

    def work(name):
        start.wait()
        done.append(run_due(app, name, ctx=make_ctx.ctx(), source_types={"scripted": scripted.type}))

    threads = [threading.Thread(target=work, args=(f"w{i}",)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    session.rollback()
    assert sorted(done) == [0, 1]
    runs = session.execute(select(RUNS)).mappings().all()
    assert len(runs) == 1 and runs[0]["ok"] and runs[0]["worker"] in ("w0", "w1")
    src = session.execute(select(SRC).where(SRC.c.id == sid)).mappings().one()
    assert src["lease_owner"] is None and src["next_run_at"] > utcnow() + timedelta(hours=23)
    assert run_due(app, "w3", source_types={"scripted": scripted.type}) == 0


def test_crashed_worker_lease_expires_and_run_is_retried(app, session, world, scripted, make_ctx):
    sid = make_source(session, app, world, scripted, enabled=False)
    SourceService(session, world.principal("admin"), app, {"scripted": scripted.type}).trigger(sid)
    session.commit()
    assert claim(session, sid, "dead", 60)
    types = {"scripted": scripted.type}
    scripted.items = [SyncEnd("c", True)]
    assert run_due(app, "w2", ctx=make_ctx.ctx(), source_types=types) == 0
    session.execute(update(SRC).where(SRC.c.id == sid).values(lease_expires_at=utcnow() - timedelta(seconds=1)))
    session.commit()
    assert run_due(app, "w2", ctx=make_ctx.ctx(), source_types=types) == 1
    session.rollback()
    src = session.execute(select(SRC).where(SRC.c.id == sid)).mappings().one()
    assert src["cursor"] == "c" and not src["sync_requested"] and src["next_run_at"] is None


def test_cli_sources_and_worker(app, session, world, custom_server, runner):
    custom_server.add_many(2)
    svc = SourceService(session, world.principal("admin"), app)
    sid = svc.create({"plugin": "custom", "settings": custom_server.settings(), "enabled": True})["id"]
    session.commit()
    out = runner.invoke(main, ["sources", "list"])
    assert out.exit_code == 0 and "Never synced" in out.output and "test_secret" not in out.output
    out = runner.invoke(main, ["worker", "--once"])
    assert out.exit_code == 0 and "1 source(s) synced" in out.output
    out = runner.invoke(main, ["sources", "sync", str(sid)])
    assert out.exit_code == 0 and "Last successful sync" in out.output
    out = runner.invoke(main, ["sources", "erase", str(sid), "--yes"])
    assert out.exit_code == 0 and "2 contacts" in out.output
    with app.app_context():
        assert db.session.execute(select(func.count()).select_from(C)).scalar() == 0
