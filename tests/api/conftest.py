"""API fixtures: an authenticated test client per role (bearer tokens) and a session login helper."""

from __future__ import annotations

from typing import Any

import pytest

from plugin_host import tokens
from plugin_host.models import db


class Api:
    """A test client that sends one principal's bearer token on every call."""

    def __init__(self, client: Any, token: str) -> None:
        self.client, self.token = client, token

    def _kw(self, kw: dict[str, Any]) -> dict[str, Any]:
        headers = {"Authorization": f"Bearer {self.token}", **kw.pop("headers", {})}
        return {"headers": headers, **kw}

    def get(self, url: str, **kw: Any) -> Any:
        return self.client.get(url, **self._kw(kw))

    def post(self, url: str, **kw: Any) -> Any:
        return self.client.post(url, **self._kw(kw))

    def patch(self, url: str, **kw: Any) -> Any:
        return self.client.patch(url, **self._kw(kw))

    def put(self, url: str, **kw: Any) -> Any:
        return self.client.put(url, **self._kw(kw))

    def delete(self, url: str, **kw: Any) -> Any:
        return self.client.delete(url, **self._kw(kw))


@pytest.fixture
def as_user(app, world, client):
    """``as_user("agent1")`` -> Api with a full-scope token; ``as_user("admin", ["read"])`` narrows it."""
    made: dict[tuple[str, tuple[str, ...]], Api] = {}

    def make(name: str, scopes: list[str] | None = None) -> Api:
        key = (name, tuple(scopes or ()))
        if key not in made:
            with app.app_context():
                token, _ = tokens.issue(db.session, world.tenant if name != "other_admin" else world.other_tenant,
                                        world.users[name], f"test {name}",
                                        scopes or ["read", "write", "import", "admin"])
                db.session.commit()
            made[key] = Api(client, token)
        return made[key]

    return make


def login(client: Any, username: str, password: str = "password1") -> Any:
    """Sign in through the login form (with its CSRF token); returns the session's CSRF token for API
    writes, read from ``/api/v1/me`` as a browser client would (the token is rotated at sign-in)."""
    page = client.get("/login")
    csrf = page.text.split('name="csrf_token" value="')[1].split('"')[0]
    resp = client.post("/login", data={"username": username, "password": password, "csrf_token": csrf})
    assert resp.status_code in (302, 401, 429), resp.text
    me = client.get("/api/v1/me")
    return me.get_json()["csrf_token"] if me.status_code == 200 else csrf
