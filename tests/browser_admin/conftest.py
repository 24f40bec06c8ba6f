"""Browser fixtures: a real server on 127.0.0.1 (migrated, seeded SQLite) and Chromium through Playwright."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from werkzeug.serving import make_server

from plugin_host import create_app
from plugin_host.models import db
from tests.conftest import base_config
from tests.fakes.fixtures import custom_server  # noqa: F401

pw = pytest.importorskip("playwright.sync_api")
CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]
IMG = Path(__file__).resolve().parents[2] / "docs" / "img"
PASSWORD = "contacts-demo"


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict]:
    """A running app; yields {"url", "app"}."""
    import shutil

    tmp = tmp_path_factory.mktemp("live")
    app = create_app(base_config(tmp, f"sqlite:///{tmp / 'live.db'}"))
    with app.app_context():
        from flask_migrate import upgrade

        from plugin_host.demo import seed_demo
        upgrade()
        seed_demo(db.session, count=60)
        db.session.commit()
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield {"url": f"http://127.0.0.1:{server.server_port}", "app": app, "tmp": tmp}
    server.shutdown()
    shutil.rmtree(tmp, ignore_errors=True)


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    with pw.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b
        b.close()


@pytest.fixture
def login(browser, live):
    """``login(username)`` returns a signed-in page."""
    contexts = []

    def _login(username: str, password: str = PASSWORD):
        ctx = browser.new_context(viewport={"width": 1400, "height": 900})
        contexts.append(ctx)
        page = ctx.new_page()
        page.set_default_timeout(10000)
        page.goto(live["url"] + "/login")
        page.fill("input[name=username]", username)
        page.fill("input[name=password]", password)
        page.click("button[type=submit]")
        page.wait_for_url(lambda u: "/login" not in u)
        return page

    yield _login
    for ctx in contexts:
        ctx.close()


def shot(page, name: str) -> None:
    IMG.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(IMG / f"admin-{name}.png"), full_page=False)
