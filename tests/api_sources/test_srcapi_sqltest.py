"""The SQL source's Import test through the API, against a fresh MariaDB database: nothing is written."""

from __future__ import annotations

import json

import pytest

from tests.sql_source.conftest import seed

P = "/api/v1"
MAP = {"external_id": "id", "display_name": "full_name", "phone:work": "phone", "email": "email"}
pytestmark = pytest.mark.mariadb


@pytest.fixture
def people(mysql_db):
    return seed(mysql_db)


def sql_settings(db, **overrides):
    return db.settings(**{"query": "SELECT ${MAP} FROM crm_people WHERE id IN (1, 2) ORDER BY id",
                          "field_map": json.dumps(MAP), **overrides})


def test_import_test_of_a_saved_source(app, as_user, people):
    admin = as_user("admin")
    created = admin.post(f"{P}/sources", json={"plugin": "sql", "settings": sql_settings(people)})
    assert created.status_code == 201, created.text
    src = created.get_json()
    assert src["full_snapshot_options"] is True and src["secrets_set"] == {"password": False}
    resp = admin.post(f"{P}/sources/{src['id']}/test", json={})
    assert resp.status_code == 200, resp.text
    body = resp.get_json()
    assert body["ok"] is True and body["problems"] == []
    assert [r["external_id"] for r in body["rows"]] == ["1", "2"]
    assert body["rows"][0]["first_name"] == "Anna" and body["rows"][0]["phones"][0]["label"] == "work"
    assert "job_title" in body["columns"] and body["query"].startswith("SELECT id, full_name, phone, email")
    # unsaved edits of the form are tested on top of the stored settings
    body = admin.post(f"{P}/sources/{src['id']}/test",
                      json={"settings": {"field_map": json.dumps({**MAP, "mobile": "cellphone"})}}).get_json()
    assert body["ok"] and body["problems"][0].startswith("unknown column 'cellphone'")
    # nothing was written: no contacts, no runs, source unchanged
    assert admin.get(f"{P}/contacts").get_json()["items"] == []
    assert admin.get(f"{P}/sources/{src['id']}/runs").get_json() == []
    assert admin.get(f"{P}/sources/{src['id']}").get_json()["status_message"] == "Never synced"
    assert people.scalar("SELECT COUNT(*) FROM crm_people") == 5


def test_import_test_of_unsaved_settings(as_user, people):
    admin = as_user("admin")
    resp = admin.post(f"{P}/source-types/sql/test", json={"settings": sql_settings(people)})
    assert resp.status_code == 200, resp.text
    assert [r["external_id"] for r in resp.get_json()["rows"]] == ["1", "2"]
    assert admin.get(f"{P}/sources").get_json() == []


def test_import_test_errors_are_reported_not_raised(as_user, people):
    admin = as_user("admin")
    body = admin.post(f"{P}/source-types/sql/test", json={"settings": sql_settings(
        people, password="Wr0ngPassw0rd")}).get_json()
    assert body["ok"] is False and body["rows"] == []
    assert "Access denied" in body["problems"][0] and "Wr0ngPassw0rd" not in json.dumps(body)
    body = admin.post(f"{P}/source-types/sql/test", json={"settings": sql_settings(
        people, query="DELETE FROM crm_people")}).get_json()
    assert body["ok"] is False and "only SELECT" in body["problems"][0]
    assert people.scalar("SELECT COUNT(*) FROM crm_people") == 5


def test_import_test_validates_the_form(as_user, people):
    resp = as_user("admin").post(f"{P}/source-types/sql/test", json={"settings": {"query": "SELECT 1"}})
    assert resp.status_code == 422 and "url" in resp.get_json()["errors"]
    assert as_user("agent1").post(f"{P}/source-types/sql/test",
                                  json={"settings": sql_settings(people)}).status_code == 403
