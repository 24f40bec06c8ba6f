"""Customers sidebar in a real Chromium: search, A–Z, paging, card, timeline, dial, visibility and XSS safety."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.browser
ROWS = "ch-customers-sidebar li[role=option]"


def names(page) -> list[str]:
    return page.locator(f"{ROWS} .name").all_text_contents()


def test_first_page_paging_and_counts(open_tab) -> None:
    page = open_tab("agent1", size=10)
    summary = page.locator("ch-customers-sidebar .summary")
    expect(summary).to_have_text("1–10 of 33 contacts")
    first = names(page)
    assert len(first) == 10 and first[0] == "Abel Tester00"  # names without a leading letter come after Z
    expect(page.locator("ch-customers-sidebar nav.pager span")).to_have_text("Page 1 of 4")
    expect(page.get_by_role("button", name="‹ Previous")).to_be_disabled()
    page.get_by_role("button", name="Next ›").click()
    expect(summary).to_have_text("11–20 of 33 contacts")
    second = names(page)
    assert len(second) == 10 and not set(first) & set(second)
    page.get_by_role("button", name="Next ›").click()
    page.get_by_role("button", name="Next ›").click()
    expect(summary).to_have_text("31–33 of 33 contacts")
    last = names(page)
    assert last[-2] == "42 Industries" and last[-1].startswith("<img")
    expect(page.get_by_role("button", name="Next ›")).to_be_disabled()
    page.get_by_role("button", name="‹ Previous").click()
    expect(summary).to_have_text("21–30 of 33 contacts")
    assert not page.errors


def test_search_by_name_company_email_and_phone(open_tab) -> None:
    page = open_tab("agent1")
    search = page.get_by_role("searchbox", name="Search contacts")
    for query, expected in [("Dana", ["Dana Dialer"]), ("Initech", ["Dana Dialer"]),
                            ("wanda@globex", ["Wanda Tester25"]), ("415 555 0100", ["Dana Dialer"])]:
        search.fill(query)
        expect(page.locator(f"{ROWS} .name")).to_have_text(expected)
    search.fill("no such person zzz")
    expect(page.locator("ch-customers-sidebar .state.empty")).to_have_text("No contacts match.")
    expect(page.locator(ROWS)).to_have_count(0)


def test_alphabet_jump_and_search_within_letter(open_tab) -> None:
    page = open_tab("agent1")
    page.get_by_role("button", name="Letter B").click()
    expect(page.locator(f"{ROWS} .name")).to_have_text(["Bella Tester03", "Bruno Tester02"])
    expect(page.get_by_role("button", name="Letter B")).to_have_attribute("aria-pressed", "true")
    page.get_by_role("searchbox", name="Search contacts").fill("Bruno")
    expect(page.locator(f"{ROWS} .name")).to_have_text(["Bruno Tester02"])
    page.get_by_role("searchbox", name="Search contacts").fill("")
    page.get_by_role("button", name="Other characters").click()
    expect(page.locator(f"{ROWS} .name")).to_have_text(["42 Industries", re.compile(r"^<img")])
    # Keyboard: arrows move along the A–Z toolbar, Enter picks the letter.
    page.get_by_role("button", name="Other characters").focus()
    page.keyboard.press("Home")
    page.keyboard.press("ArrowRight")
    page.keyboard.press("Enter")
    expect(page.get_by_role("button", name="Letter A")).to_have_attribute("aria-pressed", "true")
    expect(page.locator(f"{ROWS} .name")).to_have_text(["Abel Tester00", "Ada Tester29", "Amara Tester01"])


def test_card_timeline_and_dial_event(open_tab) -> None:
    page = open_tab("agent1")
    page.evaluate("""() => { window.dials = [];
        document.addEventListener('contacts-hub:dial', e => window.dials.push(e.detail)); }""")
    page.get_by_role("searchbox", name="Search contacts").fill("Dana")
    expect(page.locator(ROWS)).to_have_count(1)
    row = page.locator(ROWS).filter(has_text="Dana Dialer")
    expect(row.locator(".badge")).to_have_text("3")
    row.click()
    card = page.locator("ch-customers-sidebar article.card")
    expect(card.locator("h3")).to_have_text("Dana Dialer")
    expect(card.locator(".phones li")).to_have_text([re.compile(r"mobile\s*\+1 415 555 0100"),
                                                     re.compile(r"work\s*\+44 20 7946 0018")])
    expect(card.locator(".emails a")).to_have_text("dana@initech.example")
    expect(card.locator(".company")).to_have_text("Initech")
    expect(card.locator(".tag")).to_have_text(["renewal", "vip"])
    expect(card.locator(".notes")).to_have_text("Prefers calls after 2 pm.")
    expect(card.locator("card-demo-panel .card-demo")).to_have_text("Third-party panel: Dana Dialer has 1 e-mail(s)")
    card.get_by_role("button", name=re.compile("on mobile")).click()
    page.wait_for_function("window.dials.length === 1")
    detail = page.evaluate("window.dials[0]")
    assert detail["number"] == "+14155550100" and detail["label"] == "mobile"
    assert detail["contactId"] and detail["name"] == "Dana Dialer"
    card.get_by_role("button", name="Activities: 3. Open timeline").click()
    items = page.locator("ch-customers-sidebar ol.timeline li")
    expect(items).to_have_count(3)
    expect(items.locator(".summary-text")).to_have_text(["First call", "Sent pricing", "Demo booked"])
    page.get_by_role("button", name="‹ Back to contact").click()
    page.get_by_role("button", name="‹ Back to list").click()
    expect(page.locator(ROWS)).to_have_count(1)


def test_keyboard_opens_card(open_tab) -> None:
    page = open_tab("agent1")
    third = names(page)[2]
    page.locator(ROWS).first.focus()
    page.keyboard.press("ArrowDown")
    page.keyboard.press("ArrowDown")
    page.keyboard.press("Enter")
    expect(page.locator("ch-customers-sidebar article.card h3")).to_have_text(third)
    page.keyboard.press("Escape")
    expect(page.locator(ROWS).nth(2)).to_be_focused()


def test_agent_never_sees_another_agents_private_contacts(open_tab) -> None:
    page = open_tab("agent1")
    expect(page.locator("ch-customers-sidebar .summary")).to_contain_text("of 33 contacts")
    page.get_by_role("searchbox", name="Search contacts").fill("Secretive")
    expect(page.locator("ch-customers-sidebar .state.empty")).to_be_visible()
    page.get_by_role("searchbox", name="Search contacts").fill("")
    page.get_by_role("button", name="Letter S").click()
    expect(page.locator(f"{ROWS} .name")).to_have_text(["Sami Tester21"])


def test_owner_sees_own_private_contact(open_tab) -> None:
    page = open_tab("agent2")
    page.get_by_role("searchbox", name="Search contacts").fill("Secretive")
    expect(page.locator(f"{ROWS} .name")).to_have_text(["Secretive Private"])


def test_markup_in_contact_data_renders_as_text(open_tab) -> None:
    page = open_tab("agent1")
    page.get_by_role("searchbox", name="Search contacts").fill("Hacker")
    expect(page.locator(ROWS)).to_have_count(1)
    row = page.locator(ROWS).first
    expect(row.locator(".name")).to_have_text('<img src=x onerror="window.__xss=1"> Hacker')
    row.click()
    card = page.locator("ch-customers-sidebar article.card")
    expect(card.locator("h3")).to_have_text('<img src=x onerror="window.__xss=1"> Hacker')
    expect(card.locator(".notes")).to_have_text("<script>window.__xss=2</script>")
    assert page.locator("ch-customers-sidebar img").count() == 0
    assert page.locator("ch-customers-sidebar b").count() == 0
    assert page.evaluate("window.__xss") is None
    assert not page.errors
