"""How a request's transaction ends: read-only ones commit (PostgreSQL keeps prepared statements),
anything that wrote without committing is rolled back."""

from __future__ import annotations

from sqlalchemy import func, select, text, update

from plugin_host.models import T, db, end_transaction


def _pg(app) -> bool:
    with app.app_context():
        return db.engine.dialect.name == "postgresql"


def test_uncommitted_write_is_rolled_back(app, world):
    with app.app_context():
        s = db.session
        s.execute(update(T["users"]).where(T["users"].c.id == world.users["agent1"]).values(display_name="Changed"))
        assert end_transaction(s) == "rollback"
        assert end_transaction(s) == ""  # nothing open any more
    with app.app_context():
        name = db.session.execute(select(T["users"].c.display_name)
                                  .where(T["users"].c.id == world.users["agent1"])).scalar_one()
        assert name != "Changed"


def test_read_only_transaction_commits_on_postgresql_only(app, world):
    with app.app_context():
        s = db.session
        s.execute(select(func.count()).select_from(T["contacts"])).scalar_one()
        assert end_transaction(s) == ("commit" if _pg(app) else "rollback")


def test_pending_orm_change_is_not_flushed(app, world):
    from plugin_host.models import User

    with app.app_context():
        s = db.session
        user = s.get(User, world.users["agent1"])
        before = user.display_name
        user.display_name = "Pending"
        assert end_transaction(s) == "rollback"
    with app.app_context():
        assert db.session.get(User, world.users["agent1"]).display_name == before


def test_failed_transaction_is_rolled_back(app, world):
    with app.app_context():
        s = db.session
        try:
            s.execute(text("SELECT * FROM no_such_table"))
        except Exception:
            pass
        assert end_transaction(s) == "rollback"
        assert s.execute(select(func.count()).select_from(T["users"])).scalar_one() > 0


def _agent_token(app) -> tuple[int, str]:
    """A tenant, an agent and its token, committed, with no app context left open (the ``world``
    fixture keeps one, and a request inside it would share that context and its transaction)."""
    from plugin_host import tokens
    from plugin_host.directory import create_tenant, create_user

    with app.app_context():
        s = db.session
        tenant = create_tenant(s, "acme", "Acme", "US")
        uid = create_user(s, tenant, "agent", "password1", extension="201")
        token, _ = tokens.issue(s, tenant, uid, "test", ["read", "write"])
        s.commit()
    return uid, token


def test_request_that_wrote_then_answered_an_error_leaves_nothing(app, client):
    """A handler that wrote and then answered with an HTTP error (no exception reaches the teardown)
    is rolled back, not committed."""
    from flask import abort

    uid, _ = _agent_token(app)

    def half_write():
        db.session.execute(update(T["users"]).where(T["users"].c.id == uid).values(display_name="Half"))
        abort(409)

    app.add_url_rule("/test-half-write", "test_half_write", half_write)
    assert client.get("/test-half-write").status_code == 409
    with app.app_context():
        name = db.session.execute(select(T["users"].c.display_name).where(T["users"].c.id == uid)).scalar_one()
        assert name != "Half"


def test_read_requests_keep_prepared_statements_on_postgresql(app, client):
    """psycopg prepares a statement on its 5th execution and drops them all on ROLLBACK: requests
    ending with COMMIT let the same search be prepared across requests."""
    _, token = _agent_token(app)
    auth = {"Authorization": f"Bearer {token}"}
    resp = client.post("/api/v1/contacts", headers=auth,
                       json={"first_name": "Ann", "last_name": "Lee", "visibility": "private"})
    assert resp.status_code == 201, resp.text
    for _ in range(8):
        resp = client.get("/api/v1/contacts", query_string={"q": "lee"}, headers=auth)
        assert resp.status_code == 200 and resp.get_json()["items"], resp.text
    with app.app_context():
        pg = db.engine.dialect.name == "postgresql"
        prepared = db.session.execute(text(
            "SELECT count(*) FROM pg_prepared_statements WHERE statement LIKE '%contacts%'" if pg
            else "SELECT 0")).scalar_one()
    if pg:
        assert prepared > 0
    else:
        assert prepared == 0
