"""The SQL database source through the sync engine, against real MariaDB and PostgreSQL servers.

Each test runs on both external servers (``db``) and on both Contacts Hub databases (``app``). The
external databases are created fresh for the session by ``conftest.py``; in CI (``CI`` set) an
unreachable server fails the run instead of skipping.
"""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select, text

from plugin_host.models import T
from plugin_host.sync.engine import SourceService

C, PH, EM, SRC = T["contacts"], T["contact_phones"], T["contact_emails"], T["sources"]
MAP = json.dumps({"external_id": "id", "first_name": "first_name", "last_name": "last_name",
                  "company": "company", "title": "job_title", "phone:work": "phone", "mobile": "mobile",
                  "email": "email", "notes": "notes"})
QUERY = "SELECT ${MAP} FROM crm_people WHERE type = 'customer' ORDER BY id"


def make(session, app, world, db, *, query=QUERY, field_map=MAP, **options):
    svc = SourceService(session, world.principal("admin"), app)
    src = svc.create({"plugin": "sql", "settings": db.settings(query=query, field_map=field_map), **options})
    session.commit()
    return svc, src["id"]


def contacts(session, sid):
    rows = session.execute(select(C).where(C.c.source_id == sid)).mappings()
    return {r["external_id"]: dict(r) for r in rows}


def status(session, sid):
    return session.execute(select(SRC.c.status_message).where(SRC.c.id == sid)).scalar_one()


def sync_ok(svc, sid, ctx):
    run = svc.run_source(sid, "w1", ctx)
    assert run["ok"], run["message"]
    return run


def test_full_sync(app, session, world, people, ctx):
    svc, sid = make(session, app, world, people, enabled=True)
    run = sync_ok(svc, sid, ctx)
    assert run["full"] and run["added"] == 3 and run["deleted"] == 0
    got = contacts(session, sid)
    assert set(got) == {"1", "2", "4"}  # 3 is a supplier (WHERE); 5 has no name at all
    assert (got["4"]["company"], got["4"]["first_name"], got["4"]["last_name"]) == ("Solo Ltd", "", "")
    anna = got["1"]
    assert (anna["first_name"], anna["last_name"], anna["company"], anna["title"], anna["notes"]) == (
        "Anna", "Rossi", "ACME", "Buyer", "VIP")
    assert anna["acquisition_source"] == "sync" and anna["visibility"] == "global"
    phones = session.execute(select(PH.c.label, PH.c.e164).where(PH.c.contact_id == anna["id"])).all()
    assert sorted(phones) == [("mobile", "+393331234567"), ("work", "+39061234567")]
    emails = session.execute(select(EM.c.address).where(EM.c.contact_id == anna["id"])).scalars().all()
    assert emails == ["anna@acme.example"]
    message = status(session, sid)
    assert message.startswith("Last successful sync ") and "3 synced (3 added, 0 updated), 0 deleted" in message
    assert "1 skipped" in message and "no name" in message
    assert people.scalar("SELECT COUNT(*) FROM crm_people") == 5  # the source is only read


def test_changed_rows(app, session, world, people, ctx):
    svc, sid = make(session, app, world, people)
    sync_ok(svc, sid, ctx)
    people.execute("UPDATE crm_people SET company = 'NewCo', job_title = 'Head Buyer' WHERE id = 1",
                   "INSERT INTO crm_people (id, type, first_name, last_name, phone) "
                   "VALUES (6, 'customer', 'Finn', 'Gray', '+1 212 555 0199')")
    run = sync_ok(svc, sid, ctx)
    assert run["added"] == 1 and run["updated"] >= 1 and run["deleted"] == 0
    got = contacts(session, sid)
    assert set(got) == {"1", "2", "4", "6"}
    assert (got["1"]["company"], got["1"]["title"]) == ("NewCo", "Head Buyer")
    assert (got["6"]["first_name"], got["6"]["last_name"]) == ("Finn", "Gray")
    assert "1 added" in status(session, sid)


@pytest.mark.parametrize("remove_absent", [False, True])
def test_removed_rows(app, session, world, people, ctx, remove_absent):
    svc, sid = make(session, app, world, people, remove_absent=remove_absent)
    sync_ok(svc, sid, ctx)
    people.execute("DELETE FROM crm_people WHERE id = 2")
    run = sync_ok(svc, sid, ctx)
    got = contacts(session, sid)
    if remove_absent:
        assert run["deleted"] == 1 and set(got) == {"1", "4"}
        assert "1 deleted" in status(session, sid)
    else:
        assert run["deleted"] == 0 and set(got) == {"1", "2", "4"}
        assert ", 0 deleted" in status(session, sid)


@pytest.mark.parametrize("erase_empty", [False, True])
def test_empty_values(app, session, world, people, ctx, erase_empty):
    svc, sid = make(session, app, world, people, erase_empty=erase_empty)
    sync_ok(svc, sid, ctx)
    people.execute("UPDATE crm_people SET job_title = '', notes = NULL, company = 'ACME 2' WHERE id = 1")
    sync_ok(svc, sid, ctx)
    anna = contacts(session, sid)["1"]
    assert anna["company"] == "ACME 2"
    if erase_empty:
        assert not anna["title"] and not anna["notes"]
    else:
        assert (anna["title"], anna["notes"]) == ("Buyer", "VIP")


def _failed(session, svc, sid, ctx):
    run = svc.run_source(sid, "w1", ctx)
    assert run["ok"] is False
    message = status(session, sid)
    assert message == run["message"] and message.startswith("Sync failed ") and "SQL database: " in message
    assert contacts(session, sid) == {}
    return message


def test_bad_url(app, session, world, people, ctx):
    svc, sid = make(session, app, world, people)
    session.execute(SRC.update().where(SRC.c.id == sid).values(
        settings={**svc._row(sid)["settings"], "url": "mysql+pymysql//nohost"}))
    session.commit()
    assert "connection URL is not valid" in _failed(session, svc, sid, ctx)


def test_unreachable_server(app, session, world, people, ctx):
    url = people.url.set(host="127.0.0.1", port=1, password=None).render_as_string(hide_password=False)
    svc, sid = make(session, app, world, people)
    svc.update(sid, {"settings": {"url": url}})
    session.commit()
    message = _failed(session, svc, sid, ctx)
    assert "cannot connect to 127.0.0.1:1" in message and "refused" in message


def test_wrong_password(app, session, world, db, ctx):
    people = db
    if db.backend == "mysql":
        svc, sid = make(session, app, world, people)
        svc.update(sid, {"settings": {"password": "Wr0ngPassw0rd"}})
        words = "Access denied"
    else:  # the local PostgreSQL trusts every password: an unknown login is its equivalent
        svc, sid = make(session, app, world, people)
        url = db.url.set(username="no_such_role", password=None).render_as_string(hide_password=False)
        svc.update(sid, {"settings": {"url": url, "password": "Wr0ngPassw0rd"}})
        words = "as 'no_such_role'"
    session.commit()
    message = _failed(session, svc, sid, ctx)
    assert "cannot connect to" in message and words in message and "Wr0ngPassw0rd" not in message
    raw = session.execute(text("SELECT secrets FROM sources WHERE id = :i"), {"i": sid}).scalar_one()
    assert "Wr0ngPassw0rd" not in raw


def test_syntax_error(app, session, world, people, ctx):
    svc, sid = make(session, app, world, people, query="SELECT ${MAP} FROM crm_people WHERE id = = 1")
    assert "syntax error in query: " in _failed(session, svc, sid, ctx)


def test_timeout(app, session, world, people, ctx):
    sleep = "SLEEP(5)" if people.backend == "mysql" else "pg_sleep(5)::text"
    svc, sid = make(session, app, world, people, query=f"SELECT {sleep} AS id, 'x' AS name",
                    field_map=json.dumps(["external_id", "last_name"]))
    svc.update(sid, {"settings": {"query_timeout": 1}})
    session.commit()
    assert _failed(session, svc, sid, ctx).endswith("SQL database: query timed out after 1 s")


@pytest.mark.parametrize("query, words", [
    ("DELETE FROM crm_people", "only SELECT (or WITH ... SELECT) queries are allowed"),
    ("SELECT ${MAP} FROM crm_people; DELETE FROM crm_people", "only one statement is allowed"),
    ("UPDATE crm_people SET notes = 'x'", "only SELECT (or WITH ... SELECT) queries are allowed"),
])
def test_write_statement_refused(app, session, world, people, ctx, query, words):
    svc, sid = make(session, app, world, people, query=query)
    assert words in _failed(session, svc, sid, ctx)
    assert people.scalar("SELECT COUNT(*) FROM crm_people WHERE notes = 'x'") == 0
    assert people.scalar("SELECT COUNT(*) FROM crm_people") == 5


def test_a_failed_run_keeps_the_contacts_of_the_last_good_one(app, session, world, people, ctx):
    svc, sid = make(session, app, world, people, remove_absent=True)
    sync_ok(svc, sid, ctx)
    svc.update(sid, {"settings": {"query": "SELECT ${MAP} FROM no_such_table"}})
    session.commit()
    run = svc.run_source(sid, "w1", ctx)
    assert run["ok"] is False and "unknown table" in status(session, sid)
    assert set(contacts(session, sid)) == {"1", "2", "4"}
