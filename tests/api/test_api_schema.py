"""Schemathesis property tests of every operation against the app's own /api/openapi.json."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from plugin_host import create_app, tokens
from plugin_host.models import db
from tests.conftest import base_config

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


@pytest.fixture
def seeded(sqlite_template: Path, tmp_path: Path) -> dict[str, Any]:
    """A SQLite-only app (schemathesis runs on SQLite only; the endpoint tests cover PostgreSQL) with seed data."""
    from plugin_host.directory import create_department, create_tenant, create_user, set_membership
    from plugin_host.repo import ContactRepository, ListRepository

    target = tmp_path / "contacts.db"
    shutil.copy(sqlite_template, target)
    app = create_app(base_config(tmp_path, f"sqlite:///{target}"))
    with app.app_context():
        s = db.session
        tenant = create_tenant(s, "acme", "Acme", "US")
        admin = create_user(s, tenant, "admin", "password1", is_admin=True)
        agent = create_user(s, tenant, "agent1", "password1", extension="201")
        dept = create_department(s, tenant, "Sales")
        set_membership(s, dept, agent)
        s.commit()
        token, _ = tokens.issue(s, tenant, admin, "schemathesis", ["read", "write", "import", "admin"])
        from plugin_host.directory import principal_for

        p = principal_for(s, admin)
        contacts = ContactRepository(s, p)
        for i, name in enumerate(["Ada", "Bob", "Cy", "Dee"]):
            contacts.create({"first_name": name, "last_name": f"Test{i}", "phones": [{"number": f"+1212555010{i}"}],
                             "tags": ["vip"], "visibility": "global"})
        lists = ListRepository(s, p)
        lists.create({"name": "Static", "kind": "static"})
        lists.create({"name": "Dynamic", "kind": "dynamic", "criteria": {"tag": "vip"}})
        s.commit()
    yield {"app": app, "token": token}
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


def _spec_app() -> Any:
    """An app used only to serve /api/openapi.json at collection time (the spec needs no database)."""
    tmp = Path(tempfile.mkdtemp(prefix="ch-spec-"))
    return create_app(base_config(tmp, f"sqlite:///{tmp / 'unused.db'}"))


# schemathesis.pytest.from_fixture breaks on pytest 9 (Function._nodeid), so the schema is loaded eagerly and each
# call is sent to the seeded per-test app with ``app=``.
schema = schemathesis.openapi.from_wsgi("/api/openapi.json", _spec_app())


@schema.parametrize()
@settings(max_examples=15, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture,
                                 HealthCheck.filter_too_much, HealthCheck.data_too_large])
def test_api_conforms_to_openapi(case: Any, seeded: dict[str, Any]) -> None:
    case.call_and_validate(headers={"Authorization": f"Bearer {seeded['token']}"}, checks=CHECKS, app=seeded["app"])
