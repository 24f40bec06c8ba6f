"""The three-step Import CSV wizard, dry run first, then the real import."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser_admin.conftest import shot

pytestmark = pytest.mark.browser
CSV = ("First Name;Last Name;E-mail;Phone;Labels;Junk\n"
       "Wanda;Wizard;wanda.wizard@import.example;+14085550101;vip;x\n"
       "Walter;Wizard;walter.wizard@import.example;+14085550102;new;y\n"
       "Broken;Row;not-an-email;;;z\n")


def test_import_wizard_dry_run_then_import(login, live, tmp_path) -> None:
    f = tmp_path / "people.csv"
    f.write_text(CSV)
    page = login("admin")
    page.goto(live["url"] + "/admin/import")
    page.get_by_label("CSV file").set_input_files(str(f))
    expect(page.get_by_label("First row is a header")).to_be_checked()
    shot(page, "wizard-1-upload")
    page.get_by_role("button", name="Next").click()
    mapping = page.get_by_role("table", name="Column mapping")
    expect(mapping).to_contain_text("Wanda")
    expect(page.get_by_label("Target field for First Name")).to_have_value("first_name")
    expect(page.get_by_label("Target field for E-mail")).to_have_value("email")
    page.get_by_label("Target field for Labels").select_option("_tag")
    page.get_by_label("Target field for Junk").select_option("")
    shot(page, "wizard-2-map")
    page.get_by_role("button", name="Next").click()
    expect(page.get_by_label("Dry run — report counts without writing")).to_be_checked()
    page.get_by_label("Add to list").select_option("new")
    page.get_by_label("New list").fill("Wizard imports")
    page.get_by_label("Save this mapping as a template").fill("Wizard template")
    page.get_by_role("button", name="Import").click()
    counts = page.get_by_test_id("import-counts")
    expect(page.get_by_role("heading", name="Dry run result (nothing written)")).to_be_visible()
    expect(counts.locator("[data-count=imported] strong")).to_have_text("2")
    shot(page, "wizard-3-review")
    page.get_by_label("Dry run — report counts without writing").uncheck()
    page.get_by_label("Save this mapping as a template").fill("")
    page.get_by_role("button", name="Import").click()
    expect(page.get_by_role("heading", name="Import finished")).to_be_visible()
    expect(counts.locator("[data-count=imported] strong")).to_have_text("2")
    page.goto(live["url"] + "/admin/contacts")
    page.get_by_label("Search").fill("Wizard")
    page.get_by_role("button", name="Apply").click()
    expect(page.get_by_role("table", name="Contacts").locator("tbody tr")).to_have_count(2)
    page.goto(live["url"] + "/admin/import")
    expect(page.get_by_label("Load saved template")).to_contain_text("Wizard template")
