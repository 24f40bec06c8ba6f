"""CRUD on /api/v1/sources: validation, write-only secrets, scheduling, permissions per role."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text

from plugin_host.models import db

P = "/api/v1"
PROBLEM = "application/problem+json"
SECRET = "s3cr3t-value-never-shown"


def custom(**overrides):
    settings = {"name": "CRM", "client_id": "cid", "client_secret": SECRET, "url": "http://127.0.0.1:9/",
                **overrides.pop("settings", {})}
    return {"plugin": "custom", "settings": settings, **overrides}


def create(api, **overrides):
    resp = api.post(f"{P}/sources", json=custom(**overrides))
    assert resp.status_code == 201, resp.text
    return resp.get_json()


def problem(resp, status):
    assert resp.status_code == status, resp.text
    assert resp.headers["Content-Type"] == PROBLEM
    return resp.get_json()


def parse(stamp):
    value = datetime.fromisoformat(stamp)
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def test_create_enabled_schedules_an_immediate_full_sync(as_user):
    admin = as_user("admin")
    before = datetime.now(UTC) - timedelta(seconds=5)
    src = create(admin, enabled=True, interval_hours=6)
    assert src["plugin"] == "custom" and src["type_label"] == "Custom" and src["name"] == "CRM"
    assert src["enabled"] is True and src["interval_hours"] == 6
    assert src["status_message"] == "Never synced" and src["last_success_at"] is None
    assert before <= parse(src["next_run_at"]) <= datetime.now(UTC) + timedelta(seconds=5)
    assert src["settings"]["client_secret"] == "********" and src["secrets_set"] == {"client_secret": True}
    assert src["settings"]["page_size"] == 100 and src["full_snapshot_options"] is False
    assert src["running"] is False and src["sync_requested"] is False
    off = create(admin)
    assert off["enabled"] is False and off["next_run_at"] is None and off["interval_hours"] == 24


def test_secrets_never_returned_nor_stored_in_clear(app, as_user):
    admin = as_user("admin")
    src = create(admin)
    bodies = [admin.get(f"{P}/sources").text, admin.get(f"{P}/sources/{src['id']}").text,
              admin.patch(f"{P}/sources/{src['id']}", json={"settings": {"page_size": 5}}).text,
              admin.patch(f"{P}/sources/{src['id']}", json={"settings": {"client_secret": "********"}}).text]
    assert all(SECRET not in b for b in bodies)
    with app.app_context():
        raw = db.session.execute(text("SELECT settings, secrets FROM sources")).one()
        assert SECRET not in str(raw[0]) and SECRET not in str(raw[1]) and raw[1]
        from plugin_host.app import hub

        assert hub(app).secrets.open(raw[1]) == {"client_secret": SECRET}  # masked/blank kept the secret


def test_missing_required_field_names_it(as_user):
    body = problem(as_user("admin").post(f"{P}/sources", json=custom(settings={"client_id": ""})), 422)
    assert body["errors"] == {"client_id": ["Client ID is required"]}
    body = problem(as_user("admin").post(f"{P}/sources", json={"plugin": "m365", "settings": {}}), 422)
    assert set(body["errors"]) == {"client_id", "client_secret", "tenant_id"}


@pytest.mark.parametrize("hours", [0, -3, "many"])
def test_interval_must_be_a_positive_whole_number(as_user, hours):
    body = problem(as_user("admin").post(f"{P}/sources", json=custom(interval_hours=hours)), 422)
    assert "interval_hours" in body["errors"]
    if hours != "many":
        assert body["errors"]["interval_hours"] == ["Sync Interval must be a whole number of hours, at least 1"]


@pytest.mark.parametrize("payload, field", [
    ({"plugin": "nope", "settings": {}}, "plugin"),
    (custom(settings={"page_size": "ten"}), "page_size"),
    (custom(visibility="private"), "visibility"),
    (custom(visibility="department", department_id=999999), "department_id"),
    (custom(surprise=1), "surprise"),
    ({"settings": {}}, "plugin"),
])
def test_create_validation(as_user, payload, field):
    assert field in problem(as_user("admin").post(f"{P}/sources", json=payload), 422)["errors"]


def test_department_visibility(as_user, world):
    src = create(as_user("admin"), visibility="department", department_id=world.d1)
    assert (src["visibility"], src["department_id"]) == ("department", world.d1)


def test_update_enable_disable_and_interval(as_user):
    admin = as_user("admin")
    src = create(admin)
    url = f"{P}/sources/{src['id']}"
    got = admin.patch(url, json={"enabled": True, "name": "Renamed", "remove_absent": True, "erase_empty": True})
    assert got.status_code == 200, got.text
    body = got.get_json()
    assert body["enabled"] and body["next_run_at"] and body["name"] == "Renamed"
    assert body["remove_absent"] and body["erase_empty"]
    body = admin.patch(url, json={"enabled": False}).get_json()
    assert body["enabled"] is False and body["next_run_at"] is None
    assert problem(admin.patch(url, json={"interval_hours": 0}), 422)["errors"]["interval_hours"]
    assert problem(admin.patch(url, json={"settings": {"url": ""}}), 422)["errors"] == {"url": ["URL is required"]}
    assert problem(admin.patch(url, json={"plugin": "m365"}), 422)["errors"]["plugin"]
    body = admin.patch(url, json={"settings": {"client_secret": ""}, "interval_hours": 2}).get_json()
    assert body["secrets_set"] == {"client_secret": True} and body["interval_hours"] == 2
    assert admin.get(url).get_json() == body
    assert [s["id"] for s in admin.get(f"{P}/sources").get_json()] == [src["id"]]


def test_delete_is_erase(as_user):
    admin = as_user("admin")
    src = create(admin)
    resp = admin.delete(f"{P}/sources/{src['id']}")
    assert resp.status_code == 200 and resp.get_json() == {"contacts": 0, "runs": 0}
    problem(admin.get(f"{P}/sources/{src['id']}"), 404)
    problem(admin.delete(f"{P}/sources/{src['id']}"), 404)
    assert admin.get(f"{P}/sources").get_json() == []


ENDPOINTS = [("get", ""), ("patch", ""), ("delete", ""), ("post", "/erase"), ("post", "/sync?wait=true"),
             ("get", "/runs"), ("post", "/test")]


@pytest.mark.parametrize("who, scopes", [("dadmin", None), ("agent1", None), ("noimport", None),
                                         ("admin", ["read", "write", "import"])])
def test_non_admins_are_refused(as_user, who, scopes):
    src = create(as_user("admin"))
    api = as_user(who, scopes)
    problem(api.get(f"{P}/sources"), 403)
    problem(api.post(f"{P}/sources", json=custom()), 403)
    for method, suffix in ENDPOINTS:
        kw = {"json": {"name": "x"}} if method == "patch" else {"json": {}} if suffix == "/test" else {}
        problem(getattr(api, method)(f"{P}/sources/{src['id']}{suffix}", **kw), 403)
    problem(api.post(f"{P}/source-types/sql/test", json={"settings": {}}), 403)
    assert as_user("admin").get(f"{P}/sources/{src['id']}").status_code == 200  # nothing changed


def test_other_tenants_source_is_not_found(as_user):
    src = create(as_user("admin"))
    other = as_user("other_admin")
    assert other.get(f"{P}/sources").get_json() == []
    for method, suffix in ENDPOINTS:
        kw = {"json": {"name": "x"}} if method == "patch" else {"json": {}} if suffix == "/test" else {}
        problem(getattr(other, method)(f"{P}/sources/{src['id']}{suffix}", **kw), 404)
    assert as_user("admin").get(f"{P}/sources/{src['id']}").get_json()["name"] == "CRM"


def test_unknown_ids(as_user):
    admin = as_user("admin")
    problem(admin.get(f"{P}/sources/424242"), 404)
    problem(admin.get(f"{P}/sources/424242/runs"), 404)
    problem(admin.post(f"{P}/sources/424242/sync"), 404)


def test_routes_are_documented(app):
    """Every route is registered with its OpenAPI summary and tag (the spec is generated from these)."""
    rules = {(r.rule, m): app.view_functions[r.endpoint] for r in app.url_map.iter_rules()
             for m in r.methods - {"HEAD", "OPTIONS"} if "source" in r.rule}
    expected = {("/api/v1/source-types", "GET"), ("/api/v1/source-types/<name>/test", "POST"),
                ("/api/v1/sources", "GET"), ("/api/v1/sources", "POST"),
                ("/api/v1/sources/<int:source_id>", "GET"), ("/api/v1/sources/<int:source_id>", "PATCH"),
                ("/api/v1/sources/<int:source_id>", "DELETE"), ("/api/v1/sources/<int:source_id>/sync", "POST"),
                ("/api/v1/sources/<int:source_id>/erase", "POST"), ("/api/v1/sources/<int:source_id>/runs", "GET"),
                ("/api/v1/sources/<int:source_id>/test", "POST")}
    assert expected <= set(rules)
    for key in expected:
        spec = rules[key]._spec
        assert spec["summary"] and spec["tags"] == ["Sources"] and spec["security"], key
    assert "Erase Data" in rules[("/api/v1/sources/<int:source_id>", "DELETE")]._spec["summary"]
