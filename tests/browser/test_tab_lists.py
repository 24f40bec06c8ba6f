"""The list dropdown: live counts, and search / A–Z / paging scoped to the selected list."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.browser
ROWS = "ch-customers-sidebar li[role=option]"


def test_switching_lists_updates_results_and_counts(open_tab) -> None:
    page = open_tab("agent1", size=10)
    select = page.get_by_role("combobox", name="Contact list")
    expect(select.locator("option")).to_have_text(["All contacts (33)", "VIP (3)", "Leads (5)"])
    expect(select.locator("optgroup")).to_have_count(2)
    select.select_option(label="VIP (3)")
    expect(page.locator("ch-customers-sidebar .summary")).to_have_text("1–3 of 3 contacts in VIP")
    expect(page.locator(f"{ROWS} .name")).to_have_text(["Abel Tester00", "Bruno Tester02", "Dana Dialer"])
    page.get_by_role("button", name="Letter B").click()
    expect(page.locator(f"{ROWS} .name")).to_have_text(["Bruno Tester02"])
    page.get_by_role("button", name="All letters").click()
    page.get_by_role("searchbox", name="Search contacts").fill("Initech")
    expect(page.locator(f"{ROWS} .name")).to_have_text(["Dana Dialer"])
    page.get_by_role("searchbox", name="Search contacts").fill("")
    select.select_option(label="Leads (5)")
    expect(page.locator("ch-customers-sidebar .summary")).to_have_text("1–5 of 5 contacts in Leads")
    expect(page.get_by_role("button", name="Next ›")).to_be_disabled()
    select.select_option(label="All contacts (33)")
    expect(page.locator("ch-customers-sidebar .summary")).to_have_text("1–10 of 33 contacts")
    page.get_by_role("button", name="Next ›").click()
    expect(page.locator("ch-customers-sidebar .summary")).to_have_text("11–20 of 33 contacts")
    # A list change starts again at page one.
    select.select_option(label="Leads (5)")
    expect(page.locator("ch-customers-sidebar nav.pager span")).to_have_text("Page 1 of 1")
