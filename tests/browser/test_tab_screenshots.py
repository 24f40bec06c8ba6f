"""Screenshots of the Customers tab for the README (docs/img/); run with CONTACTS_HUB_SCREENSHOTS=1."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from playwright.sync_api import expect

pytestmark = [pytest.mark.browser,
              pytest.mark.skipif(not os.environ.get("CONTACTS_HUB_SCREENSHOTS"),
                                 reason="CONTACTS_HUB_SCREENSHOTS unset")]
IMG = Path(__file__).resolve().parents[2] / "docs" / "img"
# A canned import answer: the screenshot must not add contacts to the shared test database.
IMPORT_RESULT = {"id": 7, "status": "done", "filename": "trade-show-leads.csv", "rows": 42, "imported": 37,
                 "updated": 3, "skipped": 0, "errors": 2,
                 "message": "42 rows: 37 imported, 3 updated, 0 skipped, 2 errors",
                 "error_messages": ["Row 9: emails[0].address: 'jane(at)example' is not an e-mail address",
                                    "Row 31: phones[0].number: '12' is not a phone number"],
                 "errors_url": "/api/v1/imports/7/errors.csv?token=example"}


def test_screenshots(open_tab, hub) -> None:
    IMG.mkdir(parents=True, exist_ok=True)
    page = open_tab("agent1", size=12)
    page.set_viewport_size({"width": 400, "height": 780})
    tab = page.locator("contacts-customers-tab")
    expect(page.locator("ch-customers-sidebar .summary")).to_have_text("1–12 of 33 contacts")
    tab.screenshot(path=str(IMG / "customers-tab-list.png"))
    page.get_by_role("searchbox", name="Search contacts").fill("Dana")
    expect(page.locator("ch-customers-sidebar li[role=option]")).to_have_count(1)
    page.locator("ch-customers-sidebar li[role=option]").click()
    expect(page.locator("ch-customers-sidebar article.card h3")).to_have_text("Dana Dialer")
    tab.screenshot(path=str(IMG / "customers-tab-card.png"))
    page.get_by_role("button", name="Activities: 3. Open timeline").click()
    expect(page.locator("ch-customers-sidebar ol.timeline li")).to_have_count(3)
    tab.screenshot(path=str(IMG / "customers-tab-timeline.png"))
    page.route(f"{hub.url}/api/v1/imports", lambda route: route.fulfill(
        status=201, content_type="application/json", body=json.dumps(IMPORT_RESULT)))
    page.get_by_role("button", name="‹ Back to contact").click()
    page.get_by_role("button", name="‹ Back to list").click()
    page.get_by_role("searchbox", name="Search contacts").fill("")
    page.get_by_role("button", name="Upload CSV").click()
    csv = IMG.parent / "trade-show-leads.csv"
    csv.write_text("First Name,Email\nJane,jane@example.com\n")
    try:
        page.locator("ch-upload-modal #file").set_input_files(str(csv))
    finally:
        csv.unlink()
    page.get_by_role("dialog").get_by_role("button", name="Upload").click()
    expect(page.locator("ch-upload-modal [data-count=imported] dd")).to_have_text("37")
    page.screenshot(path=str(IMG / "customers-tab-upload.png"))
