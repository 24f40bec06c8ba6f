"""Trigger Sync, Erase Data and run history through the API, against the real fake servers."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from plugin_host.api.sources import THREADS_KEY
from plugin_host.models import db

P = "/api/v1"


def make_source(api, settings, plugin="custom", **options):
    resp = api.post(f"{P}/sources", json={"plugin": plugin, "settings": settings, **options})
    assert resp.status_code == 201, resp.text
    return resp.get_json()["id"]


def sync(api, sid):
    resp = api.post(f"{P}/sources/{sid}/sync?wait=true")
    assert resp.status_code == 200, resp.text
    return resp.get_json()


def contacts(api):
    page = api.get(f"{P}/contacts?limit=200").get_json()
    return {(c["first_name"], c["last_name"]): c for c in page["items"]}


def test_trigger_sync_custom_then_runs_and_erase(app, as_user, custom_server):
    admin = as_user("admin")
    custom_server.add_contact("Ann", "Lee", company="Acme")
    custom_server.add_contact("Bob", "Ray")
    custom_server.add_contact("Cy", "Twombly")
    sid = make_source(admin, custom_server.settings(page_size=2), enabled=True)
    out = sync(admin, sid)
    assert out["status"] == "done" and out["run"]["ok"] is True and out["run"]["added"] == 3
    status = out["source"]["status_message"]
    assert status.startswith("Last successful sync ") and "3 synced (3 added, 0 updated), 0 deleted" in status
    assert out["source"]["sync_requested"] is False and out["source"]["running"] is False
    assert out["source"]["last_success_at"] and out["source"]["next_run_at"]
    got = contacts(admin)
    assert set(got) == {("Ann", "Lee"), ("Bob", "Ray"), ("Cy", "Twombly")} and got[("Ann", "Lee")]["company"] == "Acme"
    assert set(contacts(as_user("agent1"))) == set(got)  # global contacts

    custom_server.clock = lambda: 4_000_000_000
    custom_server.add_contact("Dee", "Fox")
    second = sync(admin, sid)
    assert second["run"]["ok"] and "1 added" in second["source"]["status_message"]
    assert admin.get(f"{P}/sources/{sid}").get_json()["status_message"] == second["source"]["status_message"]

    runs = admin.get(f"{P}/sources/{sid}/runs")
    assert runs.status_code == 200
    listed = runs.get_json()
    assert [r["id"] for r in listed] == [second["run"]["id"], out["run"]["id"]]  # newest first
    assert listed[1]["full"] is True and listed[0]["full"] is False and all(r["ok"] for r in listed)
    assert set(listed[0]) >= {"started_at", "finished_at", "added", "updated", "deleted", "errors", "message"}
    assert len(admin.get(f"{P}/sources/{sid}/runs?limit=1").get_json()) == 1
    assert admin.get(f"{P}/sources/{sid}/runs?limit=0").status_code == 422
    assert admin.get(f"{P}/sources/{sid}/runs?limit=101").status_code == 422

    erased = admin.post(f"{P}/sources/{sid}/erase")
    assert erased.status_code == 200 and erased.get_json() == {"contacts": 4, "runs": 2}
    assert contacts(admin) == {}
    assert admin.get(f"{P}/sources/{sid}").status_code == 404
    assert admin.get(f"{P}/sources/{sid}/runs").status_code == 404
    with app.app_context():
        assert db.session.execute(text("SELECT count(*) FROM contacts")).scalar() == 0
        assert db.session.execute(text("SELECT count(*) FROM sync_runs")).scalar() == 0


def test_erase_keeps_other_contacts(as_user, custom_server):
    admin = as_user("admin")
    custom_server.add_contact("Ann", "Lee")
    mine = admin.post(f"{P}/contacts", json={"first_name": "Manual", "last_name": "Entry", "visibility": "global"})
    assert mine.status_code == 201, mine.text
    sid = make_source(admin, custom_server.settings())
    sync(admin, sid)
    assert len(contacts(admin)) == 2
    assert admin.delete(f"{P}/sources/{sid}").get_json() == {"contacts": 1, "runs": 1}
    assert set(contacts(admin)) == {("Manual", "Entry")}


def test_failed_sync_reports_in_status_message(as_user, custom_server):
    admin = as_user("admin")
    sid = make_source(admin, custom_server.settings(client_secret="wrong"), enabled=True)
    out = sync(admin, sid)
    assert out["run"]["ok"] is False
    assert out["source"]["status_message"].startswith("Sync failed ")
    assert "wrong" not in str(out) and "test_secret" not in str(out)
    assert admin.get(f"{P}/sources/{sid}/runs").get_json()[0]["ok"] is False


def test_trigger_without_wait_runs_in_a_background_thread(app, as_user, custom_server):
    admin = as_user("admin")
    custom_server.add_contact("Ann", "Lee")
    sid = make_source(admin, custom_server.settings())  # not enabled: Trigger Sync still runs it
    resp = admin.post(f"{P}/sources/{sid}/sync")
    assert resp.status_code == 202, resp.text
    body = resp.get_json()
    assert body["status"] == "running" and body["run"] is None and body["source"]["sync_requested"] is True
    for thread in app.extensions[THREADS_KEY]:
        thread.join(30)
    src = admin.get(f"{P}/sources/{sid}").get_json()
    assert "1 synced (1 added" in src["status_message"] and src["sync_requested"] is False
    assert src["running"] is False and src["next_run_at"] is None
    assert set(contacts(admin)) == {("Ann", "Lee")}


def test_trigger_while_another_worker_holds_the_lease(app, as_user, custom_server):
    from plugin_host.sync.engine import claim

    admin = as_user("admin")
    sid = make_source(admin, custom_server.settings())
    with app.app_context():
        assert claim(db.session, sid, "other-worker")
    resp = admin.post(f"{P}/sources/{sid}/sync")
    assert resp.status_code == 202 and resp.get_json()["status"] == "queued"
    assert resp.get_json()["source"]["running"] is True
    assert admin.post(f"{P}/sources/{sid}/sync?wait=true").status_code == 409
    assert admin.post(f"{P}/sources/{sid}/erase").status_code == 409
    assert not app.extensions.get(THREADS_KEY)


def test_m365_full_then_delta_through_the_api(as_user, graph_server):
    admin = as_user("admin")
    graph_server.page_size = 2
    ann = graph_server.add_contact("Ann", "Lee", mail="ann@x.com",
                                   phones=[{"type": "business", "number": "+1 206 555 0100"}])
    bob = graph_server.add_contact("Bob", "Ray", companyName="Ray Inc")
    cy = graph_server.add_contact(None, None, displayName="Cy Twombly", jobTitle="Painter")
    sid = make_source(admin, graph_server.settings(), plugin="m365", enabled=True)
    shown = admin.get(f"{P}/sources/{sid}").get_json()
    assert shown["settings"]["client_secret"] == "********" and graph_server.client_secret not in str(shown)
    out = sync(admin, sid)
    assert out["run"]["ok"] and out["run"]["full"] and out["run"]["added"] == 3, out
    assert "3 synced (3 added, 0 updated), 0 deleted" in out["source"]["status_message"]
    got = contacts(admin)
    assert set(got) == {("Ann", "Lee"), ("Bob", "Ray"), ("Cy", "Twombly")}
    assert got[("Bob", "Ray")]["company"] == "Ray Inc" and got[("Cy", "Twombly")]["title"] == "Painter"
    assert got[("Ann", "Lee")]["phones"][0]["e164"] == "+12065550100"

    graph_server.edit_contact(bob, companyName="Ray Ltd", department="Ops")
    graph_server.delete_contact(cy)  # delivered as @removed in the delta
    out = sync(admin, sid)
    assert out["run"]["ok"] and out["run"]["full"] is False and out["run"]["deleted"] == 1, out
    assert "2 synced" not in out["source"]["status_message"]
    assert "1 synced (0 added, 1 updated), 1 deleted" in out["source"]["status_message"]
    got = contacts(admin)
    assert set(got) == {("Ann", "Lee"), ("Bob", "Ray")}
    assert (got[("Bob", "Ray")]["company"], got[("Bob", "Ray")]["org_department"]) == ("Ray Ltd", "Ops")
    assert ann  # unchanged contact stays
    assert [r["full"] for r in admin.get(f"{P}/sources/{sid}/runs").get_json()] == [False, True]


@pytest.mark.parametrize("plugin", ["custom", "m365"])
def test_types_without_import_test(as_user, custom_server, plugin):
    admin = as_user("admin")
    assert admin.post(f"{P}/source-types/{plugin}/test", json={"settings": {}}).status_code == 404
    sid = make_source(admin, custom_server.settings())
    assert admin.post(f"{P}/sources/{sid}/test", json={}).status_code == 404
    assert admin.post(f"{P}/source-types/nope/test", json={}).status_code == 404
