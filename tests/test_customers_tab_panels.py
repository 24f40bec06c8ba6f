"""The customers_tab plugin's records and GET /api/v1/panels: only the panels the principal may see."""

from __future__ import annotations

from typing import Any

import pytest

from plugin_host import tokens
from plugin_host.app import hub
from plugin_host.models import db


@pytest.fixture
def panels_for(app: Any, world: Any, client: Any) -> Any:
    def get(name: str, scopes: list[str] | None = None) -> list[str]:
        with app.app_context():
            token, _ = tokens.issue(db.session, world.tenant, world.users[name], "t",
                                    scopes or ["read", "write", "import"])
            db.session.commit()
        resp = client.get("/api/v1/panels", headers={"Authorization": f"Bearer {token}"})
        assert resp.status_code == 200
        return [p["name"] for p in resp.get_json()]

    return get


def test_builtin_panels_are_registered(app: Any) -> None:
    panels = hub(app).registry.panels
    assert {"customers.sidebar", "customers.lists", "customers.upload"} <= set(panels)
    assert panels["customers.upload"].permission == "contacts:import"
    assert all(p.module_url.startswith("/plugins/customers_tab/static/") for n, p in panels.items()
               if n.startswith("customers."))


def test_panels_follow_permissions(panels_for: Any) -> None:
    assert panels_for("agent1") == ["customers.lists", "customers.upload", "customers.sidebar"]
    assert panels_for("noimport") == ["customers.lists", "customers.sidebar"]
    assert "customers.upload" not in panels_for("agent1", ["read"])


def test_panel_modules_and_demo_page_are_served(client: Any) -> None:
    for name in ("sidebar", "list-dropdown", "upload-modal"):
        resp = client.get(f"/plugins/customers_tab/static/{name}.js")
        assert resp.status_code == 200 and "javascript" in resp.content_type
    for name in ("customers-tab", "api", "dom"):
        assert client.get(f"/assets/customers-tab/{name}.js").status_code == 200
    page = client.get("/embed/demo").text
    assert '<script type="module" src="/assets/customers-tab/customers-tab.js"></script>' in page
    assert "<contacts-customers-tab" in page and "contacts-hub:dial" in page


def test_static_modules_and_preflight_honour_cors_origins(tmp_path: Any, database_url: str) -> None:
    from plugin_host import create_app
    from tests.conftest import base_config

    app = create_app({**base_config(tmp_path, database_url), "CORS_ORIGINS": ["https://agent.example"]})
    c = app.test_client()
    ok = c.get("/assets/customers-tab/customers-tab.js", headers={"Origin": "https://agent.example"})
    assert ok.headers["Access-Control-Allow-Origin"] == "https://agent.example"
    other = c.get("/plugins/customers_tab/static/sidebar.js", headers={"Origin": "https://evil.example"})
    assert "Access-Control-Allow-Origin" not in other.headers
    pre = c.options("/api/v1/me", headers={"Origin": "https://agent.example", "Access-Control-Request-Method": "GET",
                                           "Access-Control-Request-Headers": "authorization"})
    assert pre.status_code == 204
    assert pre.headers["Access-Control-Allow-Origin"] == "https://agent.example"
    assert "authorization" in pre.headers["Access-Control-Allow-Headers"].lower()
