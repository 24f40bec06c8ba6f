"""Browser-test fixtures: a real hub server on SQLite, a second-origin host server, and Debian's Chromium."""

from __future__ import annotations

import shutil
import socket
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from werkzeug.serving import WSGIRequestHandler, make_server

from plugin_host import create_app, tokens
from plugin_host.models import db
from tests.conftest import base_config

pytestmark = pytest.mark.browser
CHROMIUM = "/usr/bin/chromium"
PLUGIN_DIST = Path(__file__).parent / "plugin_data" / "card-dist"
ARGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]
XSS_NAME = '<img src=x onerror="window.__xss=1">'
GIVEN = ["Abel", "Amara", "Bruno", "Bella", "Carla", "Chen", "Dmitri", "Elena", "Farah", "Gustav", "Hana", "Ines",
         "Jonas", "Kira", "Lars", "Mila", "Nadia", "Oscar", "Priya", "Quinn", "Rosa", "Sami", "Tomas", "Uma",
         "Viktor", "Wanda", "Xenia", "Yusuf", "Zoe", "Ada"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class QuietHandler(WSGIRequestHandler):
    def log_request(self, *args: Any) -> None:  # keep test output readable
        pass


class ServerThread:
    """A WSGI app served by werkzeug on 127.0.0.1 in a daemon thread."""

    def __init__(self, wsgi: Any, port: int) -> None:
        self.server = make_server("127.0.0.1", port, wsgi, threaded=True, request_handler=QuietHandler)
        self.url = f"http://127.0.0.1:{port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.thread.join(5)


@dataclass
class Hub:
    url: str
    host_url: str
    app: Any
    tokens: dict[str, str] = field(default_factory=dict)
    ids: dict[str, int] = field(default_factory=dict)


def _seed(s: Any) -> tuple[dict[str, int], dict[str, int]]:
    """Tenant acme: 30 global contacts A–Z (+1 '#'), leads, a VIP list, a contact with activities, an agent2-private
    contact and a contact whose name is an XSS payload."""
    from plugin_host.directory import create_department, create_tenant, create_user, principal_for, set_membership
    from plugin_host.repo import ActivityRepository, ContactRepository, ListRepository

    t = create_tenant(s, "acme", "Acme", "US")
    users = {
        "admin": create_user(s, t, "admin", "password1", is_admin=True),
        "agent1": create_user(s, t, "agent1", "password1", extension="201"),
        "agent2": create_user(s, t, "agent2", "password1", extension="202"),
        "noimport": create_user(s, t, "noimport", "password1", can_import=False),
        "uploader": create_user(s, t, "uploader", "password1"),
    }
    sales = create_department(s, t, "Sales")
    for u in ("agent1", "agent2", "noimport", "uploader"):
        set_membership(s, sales, users[u])
    admin = ContactRepository(s, principal_for(s, users["admin"]))
    ids: dict[str, int] = {}
    for i, first in enumerate(GIVEN):
        ids[first] = admin.create({"first_name": first, "last_name": f"Tester{i:02d}", "company": "Globex",
                                   "contact_type": "lead" if i % 6 == 0 else "customer",
                                   "phones": [{"number": f"+1 212 555 {1000 + i}", "label": "work"}],
                                   "emails": [{"address": f"{first.lower()}@globex.example", "label": "business"}],
                                   "visibility": "global"})["id"]
    ids["digit"] = admin.create({"company": "42 Industries", "visibility": "global"})["id"]
    ids["dana"] = admin.create({
        "first_name": "Dana", "last_name": "Dialer", "company": "Initech", "title": "CTO",
        "phones": [{"number": "+1 415 555 0100", "label": "mobile"}, {"number": "+44 20 7946 0018", "label": "work"}],
        "emails": [{"address": "dana@initech.example", "label": "business"}],
        "tags": ["vip", "renewal"], "notes": "Prefers calls after 2 pm.", "visibility": "global"})["id"]
    ids["xss"] = admin.create({"first_name": XSS_NAME, "last_name": "Hacker", "company": "<b>Evil</b> Corp",
                               "notes": "<script>window.__xss=2</script>", "visibility": "global"})["id"]
    agent2 = ContactRepository(s, principal_for(s, users["agent2"]))
    ids["secret"] = agent2.create({"first_name": "Secretive", "last_name": "Private", "visibility": "private",
                                   "owner_id": users["agent2"]})["id"]
    acts = ActivityRepository(s, principal_for(s, users["agent1"]))
    for day, (kind, summary) in enumerate([("call", "First call"), ("email", "Sent pricing"), ("call", "Demo booked")]):
        acts.add(ids["dana"], {"kind": kind, "direction": "outbound", "summary": summary,
                               "occurred_at": f"2026-03-0{day + 1}T10:00:00"})
    lists = ListRepository(s, principal_for(s, users["admin"]))
    vip = lists.create({"name": "VIP", "kind": "static", "visibility": "global"})
    lists.add_members(vip["id"], [ids["dana"], ids["Abel"], ids["Bruno"]])
    ids["vip"] = vip["id"]
    ids["leads"] = lists.create({"name": "Leads", "kind": "dynamic", "criteria": {"contact_type": "lead"},
                                 "visibility": "global"})["id"]
    s.commit()
    return users, ids


HOST_PAGE = """<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Host app</title></head>
<body><h1>Another app</h1>
<script type="module" src="{hub}/assets/customers-tab/customers-tab.js"></script>
<contacts-customers-tab api-base="{hub}" token="{token}" page-size="{size}"
  style="--ch-accent:#7c3aed"></contacts-customers-tab>
<ol id="log"></ol>
<script>document.addEventListener("contacts-hub:dial", e => {{ const li = document.createElement("li");
li.textContent = e.detail.number; document.getElementById("log").append(li); }});</script>
</body></html>"""


@pytest.fixture(scope="session")
def hub(sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Hub]:
    tmp = tmp_path_factory.mktemp("browser")
    shutil.copy(sqlite_template, tmp / "hub.db")
    host_port = free_port()
    host_url = f"http://127.0.0.1:{host_port}"
    # A third-party panel plugin, installed as a distribution with an entry point, for this app only.
    sys.path.insert(0, str(PLUGIN_DIST))
    try:
        app = create_app({**base_config(tmp, f"sqlite:///{tmp / 'hub.db'}"), "CORS_ORIGINS": [host_url]})
    finally:
        sys.path.remove(str(PLUGIN_DIST))
    with app.app_context():
        users, ids = _seed(db.session)
        issued = {}
        for name, uid in users.items():
            issued[name], _ = tokens.issue(db.session, 1, uid, f"browser {name}", ["read", "write", "import"])
        db.session.commit()
    hub_server = ServerThread(app, free_port())

    def host_app(environ: Any, start_response: Any) -> list[bytes]:
        from urllib.parse import parse_qs

        qs = parse_qs(environ.get("QUERY_STRING", ""))
        body = HOST_PAGE.format(hub=hub_server.url, token=issued[qs.get("user", ["agent1"])[0]],
                                size=qs.get("size", ["10"])[0]).encode()
        start_response("200 OK", [("Content-Type", "text/html; charset=utf-8")])
        return [body]

    host_server = ServerThread(host_app, host_port)
    yield Hub(url=hub_server.url, host_url=host_url, app=app, tokens=issued, ids=ids)
    host_server.stop()
    hub_server.stop()
    with app.app_context():
        db.engine.dispose()


@pytest.fixture(scope="module")  # one Playwright per module: other browser suites start their own
def browser() -> Iterator[Any]:
    sync_api = pytest.importorskip("playwright.sync_api")
    if not Path(CHROMIUM).exists():
        pytest.skip("Debian's Chromium is not installed (apt-get install chromium)")
    with sync_api.sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b
        b.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    ctx = browser.new_context(viewport={"width": 420, "height": 860})
    pg = ctx.new_page()
    pg.set_default_timeout(10_000)
    pg.errors = []
    pg.on("pageerror", lambda exc: pg.errors.append(str(exc)))
    yield pg
    ctx.close()


@pytest.fixture
def open_tab(hub: Hub, page: Any) -> Any:
    """``open_tab("agent1", size=10)``: a same-origin host page on the hub (served by a route) embedding the tab."""

    def go(user: str = "agent1", size: int = 10) -> Any:
        html = HOST_PAGE.format(hub=hub.url, token=hub.tokens[user], size=size)
        page.route(f"{hub.url}/test-host.html", lambda route: route.fulfill(body=html, content_type="text/html"))
        page.goto(f"{hub.url}/test-host.html")
        page.locator("ch-customers-sidebar li[role=option]").first.wait_for()
        return page

    return go
