"""Embedding: a host app on a second origin with a token, and the /embed/demo page with a browser session."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.browser


def test_tab_embedded_from_a_second_origin_with_a_token(hub, page) -> None:
    assert hub.host_url.split(":")[-1] != hub.url.split(":")[-1]
    page.goto(f"{hub.host_url}/?user=agent1&size=10")
    expect(page.locator("ch-customers-sidebar .summary")).to_have_text("1–10 of 33 contacts")
    expect(page.get_by_role("combobox", name="Contact list").locator("option")).to_have_count(3)
    page.get_by_role("searchbox", name="Search contacts").fill("Dana")
    expect(page.locator("ch-customers-sidebar li[role=option]")).to_have_count(1)
    page.locator("ch-customers-sidebar li[role=option]").click()
    page.get_by_role("button", name="Call Dana Dialer on work +44 20 7946 0018").click()
    expect(page.locator("#log li")).to_have_text(["+442079460018"])
    # Theming reaches into the shadow roots through CSS custom properties.
    color = page.locator("ch-customers-sidebar .dial").first.evaluate("el => getComputedStyle(el).color")
    assert color == "rgb(124, 58, 237)"
    assert not page.errors


def test_other_origins_are_refused(hub, page) -> None:
    """Without the origin in CORS_ORIGINS the browser blocks the module and the API (here: localhost vs 127.0.0.1)."""
    other = hub.host_url.replace("127.0.0.1", "localhost")
    page.goto(f"{other}/?user=agent1")
    page.wait_for_timeout(500)
    expect(page.locator("ch-customers-sidebar")).to_have_count(0)


def test_demo_page_with_a_browser_session(hub, page) -> None:
    page.goto(f"{hub.url}/embed/demo")
    expect(page.get_by_role("alert")).to_contain_text("not signed in")
    expect(page.get_by_role("link", name="sign in")).to_be_visible()
    page.get_by_role("link", name="sign in").click()
    page.get_by_label("Username").fill("agent1")
    page.get_by_label("Password").fill("password1")
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{hub.url}/embed/demo")
    expect(page.locator("ch-customers-sidebar .summary")).to_have_text("1–25 of 33 contacts")
    page.get_by_role("searchbox", name="Search contacts").fill("Dana")
    expect(page.locator("ch-customers-sidebar li[role=option]")).to_have_count(1)
    page.locator("ch-customers-sidebar li[role=option]").click()
    page.get_by_role("button", name="Call Dana Dialer on mobile +1 415 555 0100").click()
    expect(page.locator("#dial-log li")).to_have_text(["dial +14155550100 (mobile) for Dana Dialer"])
