"""Contacts → Settings (Custom source against a local fake server) and the plugins page."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.browser_admin.conftest import shot

pytestmark = pytest.mark.browser
TRIGGER = "This action will trigger sync immediately. Are you sure you want to continue with this action?"
ERASE = ("This action will delete all data related to this custom contact source, including contacts and activities "
         "related to those contacts. Are you sure you want to continue with this action?")


def test_custom_source_trigger_sync_and_erase(login, live, custom_server) -> None:
    custom_server.add_contact("Greta", "Synced", company="FakeCo", emails=[{"email": "greta@fake.example"}])
    custom_server.add_contact("Hans", "Synced", company="FakeCo")
    page = login("admin")
    page.goto(live["url"] + "/admin/settings")
    tabs = page.get_by_role("tablist")
    for label in ("Microsoft 365", "Custom"):
        expect(tabs.get_by_role("tab", name=label)).to_be_visible()
    tabs.get_by_role("tab", name="Custom").click()
    form = page.locator("form[data-source-type=custom]")
    s = custom_server.settings()
    form.get_by_label("Name").fill("Fake CRM")
    form.get_by_label("Client ID").fill(s["client_id"])
    form.get_by_label("Client Secret").fill(s["client_secret"])
    form.get_by_label("URL").fill(s["url"])
    expect(form.get_by_label("Sync Interval (hours)")).to_have_value("24")
    form.get_by_role("button", name="Save and create source").click()
    form = page.locator("form[data-source-type=custom]")
    expect(form.get_by_role("button", name="Save", exact=True)).to_be_visible()
    expect(form.get_by_label("Client Secret")).to_have_value("")  # write-only
    form.get_by_role("button", name="Trigger Sync").click()
    dialog = page.get_by_role("dialog")
    expect(dialog).to_contain_text(TRIGGER)
    dialog.get_by_role("button", name="Yes").click()
    status = page.get_by_test_id("status-message")
    expect(status).to_contain_text("2", timeout=20000)
    expect(status).not_to_contain_text("in progress", timeout=20000)
    shot(page, "settings")
    page.goto(live["url"] + "/admin/contacts")
    page.get_by_label("Search").fill("Synced")
    page.get_by_role("button", name="Apply").click()
    expect(page.get_by_role("table", name="Contacts").locator("tbody tr")).to_have_count(2)
    page.goto(live["url"] + "/admin/settings?tab=custom")
    page.locator("form[data-source-type=custom]").get_by_role("button", name="Erase Data").click()
    dialog = page.get_by_role("dialog")
    expect(dialog).to_contain_text(ERASE)
    dialog.get_by_role("button", name="Erase Data").click()
    fresh = page.locator("form[data-source-type=custom]")
    expect(fresh.get_by_role("button", name="Save and create source")).to_be_visible()
    page.goto(live["url"] + "/admin/contacts")
    page.get_by_label("Search").fill("Synced")
    page.get_by_role("button", name="Apply").click()
    expect(page.locator(".empty")).to_contain_text("No contacts")


def test_plugins_page_writes_disabled_plugins(login, live) -> None:
    page = login("admin")
    page.goto(live["url"] + "/admin/plugins")
    table = page.get_by_role("table", name="Plugins")
    expect(table).to_contain_text("admin_console")
    page.locator("button[data-plugin=vcard]").click()
    expect(page.locator("#restart-notice")).to_contain_text("Restart required")
    cfg = json.loads((Path(live["tmp"]) / "instance" / "config.json").read_text())
    assert cfg["DISABLED_PLUGINS"] == ["vcard"]
    page.locator("button[data-plugin=vcard]").click()
    expect(page.locator("#restart-notice")).to_have_count(0)
    cfg = json.loads((Path(live["tmp"]) / "instance" / "config.json").read_text())
    assert cfg["DISABLED_PLUGINS"] == []
