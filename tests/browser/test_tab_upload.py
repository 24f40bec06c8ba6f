"""The Upload CSV icon and modal: permission-gated, posts to POST /api/v1/imports, shows counts, refreshes."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.browser
CSV = ("First Name,Last Name,Email,Phone\n"
       "Ulla,Upload,ulla@up.example,+1 212 555 7001\n"
       "Udo,Upload,udo@up.example,+1 212 555 7002\n"
       "Ursula,Upload,ursula@up.example,\n"
       ",,not-an-email,\n")


def test_agent_without_import_rights_sees_no_upload_icon(open_tab) -> None:
    page = open_tab("noimport")
    expect(page.get_by_role("combobox", name="Contact list")).to_be_visible()
    expect(page.locator("ch-upload-modal")).to_have_count(0)
    expect(page.get_by_role("button", name="Upload CSV")).to_have_count(0)


def test_upload_adds_contacts_shows_counts_and_refreshes(open_tab, hub, tmp_path) -> None:
    if not any(r.rule == "/api/v1/imports" and "POST" in r.methods for r in hub.app.url_map.iter_rules()):
        pytest.skip("POST /api/v1/imports is not in this tree yet (plugin_host/api/imports.py)")
    page = open_tab("uploader", size=10)
    expect(page.locator("ch-customers-sidebar .summary")).to_have_text("1–10 of 33 contacts")
    icon = page.get_by_role("button", name="Upload CSV")
    icon.click()
    dialog = page.get_by_role("dialog", name="Upload CSV")
    expect(dialog).to_be_visible()
    expect(page.locator("ch-upload-modal #file")).to_be_focused()
    # Focus trap: Tab from the last control wraps to the first, Shift+Tab from the first to the last.
    page.keyboard.press("Shift+Tab")
    expect(dialog.get_by_role("button", name="Upload")).to_be_focused()
    page.keyboard.press("Tab")
    expect(page.locator("ch-upload-modal #file")).to_be_focused()
    csv = tmp_path / "people.csv"
    csv.write_text(CSV)
    page.locator("ch-upload-modal #file").set_input_files(str(csv))
    dialog.get_by_role("button", name="Upload").click()
    counts = dialog.locator("dl.counts")
    expect(counts.locator("[data-count=imported] dd")).to_have_text("3")
    expect(counts.locator("[data-count=updated] dd")).to_have_text("0")
    expect(counts.locator("[data-count=skipped] dd")).to_have_text("0")
    expect(counts.locator("[data-count=errors] dd")).to_have_text("1")
    expect(dialog.locator(".error-list li")).to_have_text(
        ["Row 5: emails[0].address: 'not-an-email' is not an e-mail address"])
    with page.expect_download() as dl:
        dialog.get_by_role("link", name="Download failed rows (CSV)").click()
    assert "not-an-email" in Path(dl.value.path()).read_text(encoding="utf-8")
    # The list and the counts refresh behind the modal.
    expect(page.locator("ch-customers-sidebar .summary")).to_have_text("1–10 of 36 contacts")
    expect(page.get_by_role("combobox", name="Contact list").locator("option").first).to_have_text("All contacts (36)")
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    expect(icon).to_be_focused()
    page.get_by_role("searchbox", name="Search contacts").fill("Upload")
    expect(page.locator("ch-customers-sidebar li[role=option] .name")).to_have_text(
        ["Udo Upload", "Ulla Upload", "Ursula Upload"])
