"""Fixtures for the import API tests: the seed alias paths registered, a bearer-token client per role."""

from __future__ import annotations

from typing import Any

import pytest

from plugin_host import tokens
from plugin_host.api.imports import register_aliases
from plugin_host.models import db


class Api:
    """A test client that sends one principal's bearer token on every call."""

    def __init__(self, client: Any, token: str) -> None:
        self.client, self.token = client, token

    def _kw(self, kw: dict[str, Any]) -> dict[str, Any]:
        return {"headers": {"Authorization": f"Bearer {self.token}", **kw.pop("headers", {})}, **kw}

    def get(self, url: str, **kw: Any) -> Any:
        return self.client.get(url, **self._kw(kw))

    def post(self, url: str, **kw: Any) -> Any:
        return self.client.post(url, **self._kw(kw))

    def put(self, url: str, **kw: Any) -> Any:
        return self.client.put(url, **self._kw(kw))

    def delete(self, url: str, **kw: Any) -> Any:
        return self.client.delete(url, **self._kw(kw))


@pytest.fixture
def app(app):
    register_aliases(app)
    return app


@pytest.fixture
def as_user(app, world, client):
    made: dict[tuple[str, tuple[str, ...]], Api] = {}

    def make(name: str, scopes: list[str] | None = None) -> Api:
        key = (name, tuple(scopes or ()))
        if key not in made:
            with app.app_context():
                tenant = world.other_tenant if name == "other_admin" else world.tenant
                token, _ = tokens.issue(db.session, tenant, world.users[name], f"test {name}",
                                        scopes or ["read", "write", "import", "admin"])
                db.session.commit()
            made[key] = Api(client, token)
        return made[key]

    return make
