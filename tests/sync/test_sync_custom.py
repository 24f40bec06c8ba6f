"""Sync engine end to end against the fake custom contact server: full, delta, local edits, faults."""

from __future__ import annotations

import pytest

pytest.importorskip("plugin_host.repo.upsert")

from sqlalchemy import select, text, update

from plugin_host.models import T
from plugin_host.sync.engine import SourceService

C, SRC, RUNS = T["contacts"], T["sources"], T["sync_runs"]


def contacts(session, sid):
    rows = session.execute(select(C).where(C.c.source_id == sid)).mappings()
    return {r["external_id"]: dict(r) for r in rows}


def source(session, app, world, server, **options):
    svc = SourceService(session, world.principal("admin"), app)
    src = svc.create({"plugin": "custom", "settings": server.settings(page_size=2), **options})
    session.commit()
    return svc, src["id"]


def state(session, sid):
    return session.execute(select(SRC).where(SRC.c.id == sid)).mappings().one()


def test_full_then_incremental_keeps_local_edits(app, session, world, custom_server, make_ctx):
    ids = custom_server.add_many(5)
    svc, sid = source(session, app, world, custom_server, enabled=True)
    run = svc.run_source(sid, "w1", make_ctx.ctx())
    assert run["ok"] and run["full"] and run["added"] == 5
    got = contacts(session, sid)
    assert sorted(got) == sorted(ids) and got[ids[0]]["company"] == "Acme"
    first = state(session, sid)
    assert first["cursor"] and first["status_message"].startswith("Last successful sync ")
    assert "5 synced (5 added, 0 updated), 0 deleted" in first["status_message"]
    assert first["next_run_at"] > first["last_success_at"]

    session.execute(update(C).where(C.c.external_id == ids[3]).values(company="Local Co", locally_modified=True))
    session.commit()
    custom_server.clock = lambda: 4_000_000_000  # later timestamps: the edits fall inside the delta
    custom_server.edit_contact(ids[0], company="NewCo")
    custom_server.edit_contact(ids[3], company="Remote Co")
    custom_server.delete_contact(ids[1])
    new = custom_server.add_contact("Zed", "Zulu")
    run = svc.run_source(sid, "w1", make_ctx.ctx())
    assert run["ok"] and not run["full"] and run["deleted"] == 1 and run["added"] == 1
    got = contacts(session, sid)
    assert set(got) == {ids[0], ids[2], ids[3], ids[4], new}
    assert got[ids[0]]["company"] == "NewCo"
    assert got[ids[3]]["company"] == "Local Co"  # edited locally: local values kept
    assert "edited locally; local values kept ×1" in state(session, sid)["status_message"]
    assert [r["ok"] for r in svc.runs(sid)] == [True, True]


@pytest.mark.parametrize("fault, words", [
    ({"status": 500, "body": "boom", "times": None}, "500 Internal Server Error"),
    ({"truncate": True}, "truncated JSON"),
    ({"status": 401, "times": 2}, "401 Unauthorized even with a fresh token"),
    ({"delay": 1.5, "times": None}, "(timeout)"),
])
def test_fault_mid_run_changes_nothing(app, session, world, custom_server, make_ctx, fault, words):
    ids = custom_server.add_many(4)
    svc, sid = source(session, app, world, custom_server, enabled=True)
    assert svc.run_source(sid, "w1", make_ctx.ctx())["ok"]
    before, cursor = contacts(session, sid), state(session, sid)["cursor"]
    custom_server.clock = lambda: 4_000_000_000
    custom_server.edit_contact(ids[0], company="Changed")
    custom_server.add_many(3, prefix="Extra")
    custom_server.inject_fault("/contacts/delta", page=2, **fault)
    run = svc.run_source(sid, "w1", make_ctx.ctx(max_retries=1, http_timeout=0.5))
    assert run["ok"] is False and words in run["message"]
    after = state(session, sid)
    assert after["cursor"] == cursor  # not advanced past changes it did not apply
    assert after["status_message"].startswith("Sync failed ") and words in after["status_message"]
    assert after["next_run_at"] is not None and after["lease_owner"] is None
    assert contacts(session, sid).keys() == before.keys()
    assert contacts(session, sid)[ids[0]]["company"] == "Acme"  # page 1 of the failed run was not applied
    custom_server.clear_faults()
    assert svc.run_source(sid, "w1", make_ctx.ctx())["ok"]
    assert len(contacts(session, sid)) == 7 and contacts(session, sid)[ids[0]]["company"] == "Changed"


def test_expired_cursor_falls_back_to_full_sync(app, session, world, custom_server, make_ctx):
    ids = custom_server.add_many(3)
    svc, sid = source(session, app, world, custom_server, enabled=True)
    assert svc.run_source(sid, "w1", make_ctx.ctx())["ok"]
    session.execute(update(SRC).where(SRC.c.id == sid).values(cursor="garbage"))
    session.commit()
    custom_server.contacts.pop(ids[2])  # gone without a tombstone: only a full snapshot notices
    run = svc.run_source(sid, "w1", make_ctx.ctx())
    assert run["ok"] and run["full"] and run["deleted"] == 1
    assert sorted(contacts(session, sid)) == sorted(ids[:2])
    st = state(session, sid)
    assert st["cursor"] != "garbage" and "cursor had expired" in st["status_message"]


def test_secrets_encrypted_at_rest_and_never_returned(app, session, world, custom_server):
    svc, sid = source(session, app, world, custom_server)
    raw = session.execute(text("SELECT secrets, settings FROM sources WHERE id = :i"), {"i": sid}).one()
    assert "test_secret" not in str(raw[0]) and "test_secret" not in str(raw[1])
    shown = svc.get(sid)
    assert shown["settings"]["client_secret"] == "********" and shown["secrets_set"] == {"client_secret": True}
    assert "test_secret" not in repr(svc.list())
    svc.update(sid, {"settings": {"client_secret": "********", "page_size": "7"}})
    assert svc.get(sid)["settings"]["page_size"] == 7
    from plugin_host.app import hub

    stored = session.execute(select(SRC.c.secrets).where(SRC.c.id == sid)).scalar_one()
    assert hub(app).secrets.open(stored) == {"client_secret": "test_secret"}
