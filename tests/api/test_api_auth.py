"""Sessions, CSRF, API-token lifecycle, ETags and CORS through the real HTTP stack."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from plugin_host import create_app
from plugin_host.models import T, db
from tests.api.conftest import login
from tests.conftest import base_config

CONTACT = {"first_name": "Noah", "last_name": "Bianchi", "phones": [{"number": "+14085550101", "label": "home"}]}


def test_login_sets_safe_session_cookie_and_me_reports_session(client, world):
    csrf = login(client, "agent1")
    before = client.get("/login").text.split('name="csrf_token" value="')[1].split('"')[0]
    assert before == csrf, "the login page and /me agree on the session's CSRF token"
    cookie = client.get_cookie("session")
    assert cookie is not None and cookie.http_only and cookie.same_site == "Lax"
    me = client.get("/api/v1/me").get_json()
    assert me["username"] == "agent1" and me["auth"] == "session" and me["csrf_token"] == csrf
    assert me["role"] == "agent" and me["tenant"] == "acme"


def test_wrong_password_is_refused_and_says_so(client, world):
    login(client, "agent1", "wrong-password")
    assert client.get("/api/v1/me").status_code == 401
    page = client.post("/login", data={"username": "agent1", "password": "nope",
                                       "csrf_token": client.get("/login").text.split('value="')[1].split('"')[0]})
    assert page.status_code == 401 and "Wrong username or password" in page.text


def test_login_attempts_are_rate_limited(database_url, tmp_path, world):
    app = create_app({**base_config(tmp_path, database_url), "LOGIN_RATE_LIMIT": 3})
    c = app.test_client()
    for _ in range(3):
        login(c, "agent1", "bad-password")
    csrf = c.get("/login").text.split('name="csrf_token" value="')[1].split('"')[0]
    resp = c.post("/login", data={"username": "agent1", "password": "password1", "csrf_token": csrf})
    assert resp.status_code == 429 and "Too many failed sign-ins" in resp.text
    other = app.test_client()
    assert login(other, "agent2") and other.get("/api/v1/me").status_code == 200


def test_login_form_without_csrf_is_refused(client, world):
    resp = client.post("/login", data={"username": "agent1", "password": "password1"})
    assert resp.status_code == 403
    assert client.get("/api/v1/me").status_code == 401


def test_cookie_write_needs_csrf_token_but_token_auth_does_not(client, world, as_user):
    csrf = login(client, "admin")
    refused = client.post("/api/v1/contacts", json=CONTACT)
    assert refused.status_code == 403
    assert refused.content_type == "application/problem+json" and "CSRF" in refused.get_json()["detail"]
    ok = client.post("/api/v1/contacts", json=CONTACT, headers={"X-CSRF-Token": csrf})
    assert ok.status_code == 201
    wrong = client.post("/api/v1/contacts", json=CONTACT, headers={"X-CSRF-Token": "not-it"})
    assert wrong.status_code == 403
    assert as_user("admin").post("/api/v1/contacts", json=CONTACT).status_code == 201


def test_logout_ends_the_session(client, world):
    csrf = login(client, "agent1")
    assert client.post("/logout", data={"csrf_token": csrf}).status_code == 302
    assert client.get("/api/v1/me").status_code == 401


def test_token_lifecycle(app, world, as_user, client):
    admin = as_user("admin")
    created = admin.post("/api/v1/tokens", json={"name": "PBX", "scopes": ["read"]})
    assert created.status_code == 201
    body = created.get_json()
    secret = body["token"]
    assert secret.startswith("chub_") and body["prefix"] == secret[:12]
    listed = admin.get("/api/v1/tokens").get_json()
    assert all("token" not in t for t in listed), "a token secret is shown only once"
    with app.app_context():
        stored = db.session.execute(select(T["api_tokens"]).where(T["api_tokens"].c.id == body["id"])).mappings().one()
        assert secret not in str(dict(stored)), "only a hash is stored"
        assert stored["last_used_at"] is None
    auth = {"Authorization": f"Bearer {secret}"}
    assert client.get("/api/v1/contacts", headers=auth).status_code == 200
    with app.app_context():
        used = db.session.execute(select(T["api_tokens"].c.last_used_at)
                                  .where(T["api_tokens"].c.id == body["id"])).scalar()
    assert used is not None
    denied = client.post("/api/v1/contacts", json=CONTACT, headers=auth)
    assert denied.status_code == 403, "a read-scope token cannot write"
    assert admin.delete(f"/api/v1/tokens/{body['id']}").status_code == 204
    revoked = client.get("/api/v1/contacts", headers=auth)
    assert revoked.status_code == 401 and "revoked" in revoked.get_json()["detail"]
    assert client.get("/api/v1/contacts", headers={"Authorization": "Bearer chub_made-up"}).status_code == 401


def test_token_scopes_validation_and_ownership(world, as_user):
    agent = as_user("agent1")
    bad = agent.post("/api/v1/tokens", json={"name": "x", "scopes": ["root"]})
    assert bad.status_code == 422 and "scopes.0" in bad.get_json()["errors"]
    other = agent.post("/api/v1/tokens", json={"name": "x", "scopes": ["read"], "user_id": world.users["agent2"]})
    assert other.status_code == 403
    mine = agent.post("/api/v1/tokens", json={"name": "mine", "scopes": ["read"]}).get_json()
    assert as_user("agent2").delete(f"/api/v1/tokens/{mine['id']}").status_code == 404
    assert as_user("admin").delete(f"/api/v1/tokens/{mine['id']}").status_code == 204


def test_stale_etag_gets_412_and_changes_nothing(world, as_user):
    api = as_user("admin")
    created = api.post("/api/v1/contacts", json=CONTACT)
    cid, etag = created.get_json()["id"], created.headers["ETag"]
    first = api.patch(f"/api/v1/contacts/{cid}", json={"notes": "first"}, headers={"If-Match": etag})
    assert first.status_code == 200 and first.headers["ETag"] != etag
    stale = api.patch(f"/api/v1/contacts/{cid}", json={"notes": "second"}, headers={"If-Match": etag})
    assert stale.status_code == 412 and stale.content_type == "application/problem+json"
    assert api.get(f"/api/v1/contacts/{cid}").get_json()["notes"] == "first"
    fresh = api.patch(f"/api/v1/contacts/{cid}", json={"notes": "third"}, headers={"If-Match": first.headers["ETag"]})
    assert fresh.status_code == 200


def test_unreadable_contact_is_404_like_a_missing_one(world, as_user):
    admin, agent = as_user("admin"), as_user("agent1")
    private = admin.post("/api/v1/contacts", json={**CONTACT, "visibility": "private",
                                                   "owner_id": world.users["agent2"]}).get_json()["id"]
    missing = private + 1000
    a, b = agent.get(f"/api/v1/contacts/{private}"), agent.get(f"/api/v1/contacts/{missing}")
    assert a.status_code == b.status_code == 404
    def strip(resp, cid):
        return {k: re.sub(rf"\b{cid}\b", "N", str(v)) for k, v in resp.get_json().items()}

    assert strip(a, private) == strip(b, missing)


@pytest.mark.parametrize("origin,allowed", [("https://agent.example", True), ("https://evil.example", False)])
def test_cors_allowlist(database_url, tmp_path, world, origin, allowed):
    app = create_app({**base_config(tmp_path, database_url), "CORS_ORIGINS": ["https://agent.example"]})
    resp = app.test_client().options("/api/v1/contacts", headers={
        "Origin": origin, "Access-Control-Request-Method": "GET",
        "Access-Control-Request-Headers": "Authorization"})
    assert (resp.headers.get("Access-Control-Allow-Origin") == origin) is allowed


def test_tenant_comes_from_the_principal(world, as_user):
    api = as_user("admin")
    api.post("/api/v1/contacts", json=CONTACT)
    other = as_user("other_admin").get(f"/api/v1/contacts?tenant_id={world.tenant}").get_json()
    assert other["items"] == []


def test_a_token_request_acts_as_the_same_principal_as_the_user(session, world):
    # one statement loads the token with its user and departments: the same Principal as principal_for
    from plugin_host import tokens
    from plugin_host.directory import set_membership

    set_membership(session, world.d2, world.users["agent1"], is_admin=True)  # member of D1, admin of D2
    for name in ("admin", "dadmin", "agent1", "agent2", "noimport", "other_admin"):
        for scopes in ({"read"}, {"read", "write"}, {"read", "write", "import", "admin"}):
            tenant = world.other_tenant if name == "other_admin" else world.tenant
            secret, _ = tokens.issue(session, tenant, world.users[name], "t", sorted(scopes))
            got = tokens.authenticate_principal(session, secret)
            assert got == world.principal(name, frozenset(scopes)), (name, scopes)
            assert (got.username, got.can_import) == (name, name != "noimport")
    assert tokens.authenticate_principal(session, "chub_unknown") is None
    assert tokens.authenticate_principal(session, "not-a-token") is None


def test_disabled_users_and_expired_tokens_are_refused_at_once(app, world, as_user, client):
    from datetime import timedelta

    from sqlalchemy import update

    from plugin_host.models import utcnow

    api = as_user("agent1")
    assert api.get("/api/v1/contacts").status_code == 200
    with app.app_context():
        db.session.execute(update(T["users"]).where(T["users"].c.id == world.users["agent1"]).values(is_active=False))
        db.session.commit()
    refused = api.get("/api/v1/contacts")
    assert refused.status_code == 401 and "disabled" in refused.get_json()["detail"]
    api = as_user("agent2")
    assert api.get("/api/v1/contacts").status_code == 200
    with app.app_context():
        db.session.execute(update(T["api_tokens"]).where(T["api_tokens"].c.user_id == world.users["agent2"])
                           .values(expires_at=utcnow() - timedelta(seconds=1)))
        db.session.commit()
    refused = api.get("/api/v1/contacts")
    assert refused.status_code == 401 and "expired" in refused.get_json()["detail"]
