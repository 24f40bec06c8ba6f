"""The contacts grid, the contact form and a department admin's narrower view, as a person uses them."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.browser_admin.conftest import shot

pytestmark = pytest.mark.browser


def test_agent_gets_403_and_anonymous_is_sent_to_login(login, live, browser) -> None:
    page = login("agent1")
    resp = page.goto(live["url"] + "/admin/contacts")
    assert resp.status == 403
    expect(page.get_by_role("heading", name="Not allowed")).to_be_visible()
    anon = browser.new_page()
    anon.goto(live["url"] + "/admin/contacts")
    assert "/login" in anon.url
    anon.close()


def test_filter_and_bulk_tag(login, live) -> None:
    page = login("admin")
    page.goto(live["url"] + "/admin/contacts")
    grid = page.get_by_role("table", name="Contacts")
    expect(grid.locator("tbody tr").first).to_be_visible()
    expect(page.locator("#range")).to_contain_text("of 60")
    page.get_by_label("Status").select_option("active")
    expect(page.locator("#range")).not_to_contain_text("of 60")
    statuses = grid.locator("tbody td.status-active")
    expect(statuses.first).to_be_visible()
    assert grid.locator("tbody td.status-inactive").count() == 0
    shot(page, "grid")
    grid.locator("tbody tr").nth(0).get_by_role("checkbox").check()
    grid.locator("tbody tr").nth(1).get_by_role("checkbox").check()
    expect(page.locator("#selcount")).to_have_text("2 selected")
    page.get_by_role("button", name="Add Tag").click()
    dialog = page.get_by_role("dialog", name="Add tag")
    dialog.get_by_label("Tag").fill("browser-test")
    dialog.get_by_role("button", name="Add tag").click()
    expect(page.locator(".toast")).to_contain_text("2 contact(s)")
    page.get_by_label("Tags").fill("browser-t")
    page.get_by_role("button", name="Apply").click()
    expect(page.locator("#range")).to_have_text(re.compile(r"1–2 of 2"))
    expect(grid.locator("tbody tr .tag", has_text="browser-test")).to_have_count(2)


def test_edit_contact_with_custom_field(login, live) -> None:
    page = login("admin")
    page.goto(live["url"] + "/admin/custom-fields")
    page.get_by_label("Name (key)").fill("contract_tier")
    page.get_by_label("Label").fill("Contract tier")
    page.get_by_label("Type").select_option("select")
    page.get_by_label("Options").fill("Gold, Silver")
    page.get_by_role("button", name="Add field").click()
    expect(page.get_by_role("table", name="Custom fields")).to_contain_text("Contract tier")
    page.goto(live["url"] + "/admin/contacts")
    first = page.get_by_role("table", name="Contacts").locator("tbody tr a").first
    first.click()
    expect(page.get_by_role("heading", name=re.compile("Edit contact"))).to_be_visible()
    page.get_by_label("Title").fill("Head of Procurement")
    page.locator("details.custom-fields summary").click()
    page.get_by_label("Contract tier").select_option("Gold")
    shot(page, "edit-form")
    page.get_by_role("button", name="Save changes").click()
    expect(page.get_by_role("status").filter(has_text="Saved.")).to_be_visible()
    page.reload()
    expect(page.get_by_label("Title")).to_have_value("Head of Procurement")
    expect(page.get_by_label("Contract tier")).to_have_value("Gold")


def test_department_admin_sees_only_own_department(login, live) -> None:
    with live["app"].app_context():
        from sqlalchemy import select

        from plugin_host.directory import create_user, set_membership
        from plugin_host.models import T, db

        tid = db.session.execute(select(T["tenants"].c.id)).scalar_one()
        sales = db.session.execute(select(T["departments"].c.id).where(T["departments"].c.name == "Sales")).scalar_one()
        uid = create_user(db.session, tid, "salesboss", "contacts-demo", display_name="Sal Boss")
        set_membership(db.session, sales, uid, is_admin=True)
        support_only = db.session.execute(select(T["contacts"].c.id, T["contacts"].c.first_name).where(
            T["contacts"].c.visibility == "department", T["contacts"].c.department_id != sales)).first()
        db.session.commit()
    page = login("salesboss")
    page.goto(live["url"] + "/admin/contacts")
    expect(page.get_by_role("table", name="Contacts").locator("tbody tr").first).to_be_visible()
    nav = page.get_by_role("navigation", name="Admin sections")
    expect(nav.get_by_role("link", name="Settings")).to_have_count(0)
    expect(nav.get_by_role("link", name="Plugins")).to_have_count(0)
    assert page.goto(live["url"] + "/admin/settings").status == 403
    assert page.goto(live["url"] + f"/admin/contacts/{support_only.id}").status == 200
    expect(page.locator(".error-box")).to_be_visible()  # the API answers 404: not visible to them
    page.goto(live["url"] + "/admin/departments")
    expect(page.locator("section.department")).to_have_count(1)
    expect(page.locator("section.department h2")).to_have_text("Sales")
    page.goto(live["url"] + "/admin/contacts")
    page.get_by_label("Search").fill(support_only.first_name)
    page.get_by_role("button", name="Apply").click()
    rows = page.get_by_role("table", name="Contacts").locator("tbody tr")
    page.wait_for_timeout(300)
    ids = [rows.nth(i).get_attribute("data-id") for i in range(rows.count())]
    assert str(support_only.id) not in ids
