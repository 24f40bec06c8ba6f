"""Search pages built from indexes (``repo.search``) against the plain query they must equal.

The pager combines range walks, a bounded name-order walk, counted sources, per-value reads and
name bounds. With its thresholds shrunk to a few rows, every one of those paths runs on a small
tenant; each page must be exactly the page of ``WHERE <permission> AND <search condition> ORDER BY
sort_key, id``, for several principals, queries and cursors.
"""

from __future__ import annotations

import random

import pytest
from sqlalchemy import select, update
from sqlalchemy.exc import StatementError

from plugin_host.models import T
from plugin_host.repo import ContactQuery, ContactRepository
from plugin_host.repo import search as search_mod
from plugin_host.repo.children import derived, email_rows, phone_rows
from plugin_host.repo.query import decode_cursor

C = T["contacts"]
FIRST = ["Anna", "Ben", "Zoë", "Jan", "Lukas", "Émile", "", "", "Xavier", "Sanne"]
LAST = ["Smith", "Smit", "Zhang", "Jones", "de Jong", "O'Brien", "Müller", "Xavier", "", "Zimmermann"]
COMPANY = ["Acme", "Acme Ltd", "Zhang Trading", "42 Corp", "", "", "Smithers", "Jonas & Co"]
QUERIES = ["a", "s", "sm", "smi", "smith", "zh", "zha", "x", "o'b", "o'br", "mul", "mül", "ann", "jo",
           "smith a", "de j", "j smith", "acme", "42", "zzq", "ac", "xav", "an", "smith@", "555 01"]


def make_nameless(session, contact_id: int, number: str, email: str | None = None) -> None:
    """As a sync or an import can leave it: no name, no company (the repository's form refuses it)."""
    phones = phone_rows([{"number": number}], "US")
    emails = email_rows([{"address": email}]) if email else []
    keys = derived({"first_name": "", "last_name": "", "company": None}, phones, emails)
    session.execute(update(C).where(C.c.id == contact_id).values(first_name="", last_name="", company=None, **keys))


@pytest.fixture
def tiny(monkeypatch):
    """Thresholds of a few rows, so that a tenant of 300 contacts takes every path."""
    for name, value in (("CAP", 6), ("QUICK", 3), ("MAX_VALUES", 2), ("RANGE_WALK", 7), ("CHUNK", 4)):
        monkeypatch.setattr(search_mod, name, value)
    for name, value in (("KEY_CAP", 9), ("TEXT_CAP", 9), ("WALK", 11)):
        monkeypatch.setattr(search_mod, name, {"sqlite": value, "postgresql": value})


@pytest.fixture
def crowd(world, session):
    r = random.Random(7)
    admin = ContactRepository(session, world.principal("admin"))
    agent1 = ContactRepository(session, world.principal("agent1"))
    for i in range(300):
        data = {"first_name": r.choice(FIRST), "last_name": r.choice(LAST), "company": r.choice(COMPANY),
                "phones": [f"+1 212 555 {r.randint(0, 9999):04d}"]}
        if r.random() < .5:
            data["emails"] = [f"{(data['last_name'] or 'x').lower().replace(' ', '')}{i}@example.com"]
        if i % 9 == 4:  # search_text over 2,000 bytes: not in PostgreSQL's covering name-order index
            data["emails"] = [*data.get("emails", []), *(f"{'long' * 40}{k}.{i}@example.net" for k in range(14))]
        nameless = not (data["first_name"] or data["last_name"] or data["company"])
        if nameless:
            data["company"] = "placeholder"
        who = admin if i % 5 else agent1
        if who is agent1:
            data["visibility"] = "private"
        cid = who.create(data)["id"]
        if nameless:
            make_nameless(session, cid, f"+44 20 7946 {i:04d}", f"smith{i}@example.org" if i % 2 else None)
    session.commit()


def expected(session, world, who: str, q: str, limit: int, match: str = "auto") -> list[list[int]]:
    p = world.principal(who)
    repo = ContactRepository(session, p)
    cond = search_mod.search_condition(p.tenant_id, q, match)
    rows = session.execute(select(C.c.id).where(repo.visible(), cond).order_by(C.c.sort_key, C.c.id)).scalars().all()
    return [rows[i:i + limit] for i in range(0, len(rows), limit)] or [[]]


def paged(session, world, who: str, q: str, limit: int, match: str = "auto") -> list[list[int]]:
    repo = ContactRepository(session, world.principal(who))
    pages, after = [], None
    while True:
        page = repo.list(ContactQuery(q=q, match=match, limit=limit, after=after))
        pages.append([c["id"] for c in page["items"]])
        after = page["next"]
        if after is None:
            return pages
        decode_cursor(after)


@pytest.mark.parametrize("who", ["admin", "agent1", "agent2"])
def test_pages_equal_the_plain_query_on_every_path(world, session, crowd, tiny, who):
    for q in QUERIES:
        for limit in (3, 50):
            assert paged(session, world, who, q, limit) == expected(session, world, who, q, limit), (q, limit)


def test_prefix_and_substring_modes_equal_the_plain_query(world, session, crowd, tiny):
    for q in ("sm", "mit", "an", "zh", "smith j", "o'b"):
        for match in ("prefix", "substring"):
            assert paged(session, world, "admin", q, 4, match) == expected(session, world, "admin", q, 4, match), \
                (q, match)


def test_the_real_thresholds_give_the_same_pages(world, session, crowd):
    for q in QUERIES:
        assert paged(session, world, "admin", q, 7) == expected(session, world, "admin", q, 7), q


def test_names_without_a_leading_letter_sort_after_z(world, session):
    r = ContactRepository(session, world.principal("admin"))
    for data in ({"first_name": "Zed"}, {"company": "42 Corp"}, {"first_name": "anna"}, {"first_name": "(paren)"},
                 {"first_name": "Émile"}):
        r.create(data)
    make_nameless(session, r.create({"company": "placeholder"})["id"], "+1 212 555 0100")
    session.commit()
    names = [c["display_name"] for c in r.list(ContactQuery(limit=50))["items"]]
    assert names[:3] == ["anna", "Émile", "Zed"]
    assert set(names[3:]) == {"42 Corp", "(paren)", ""}
    hashed = r.list(ContactQuery(letter="#", limit=50))["items"]
    assert {c["display_name"] for c in hashed} == {"42 Corp", "(paren)", ""}
    assert [c["display_name"] for c in r.list(ContactQuery(q="42", limit=50))["items"]] == ["42 Corp"]


def test_a_huge_contact_is_stored_and_found(world, session):
    """``search_text`` is unbounded; a contact far over a b-tree entry's 2,704 bytes is stored (on
    PostgreSQL outside the covering name-order index) and searched like any other."""
    r = ContactRepository(session, world.principal("admin"))
    emails = [f"{'a' * 200}{k}@example.com" for k in range(50)]
    big = r.create({"first_name": "Anna", "last_name": "Ünderwood" * 20, "company": "Ж" * 200, "emails": emails})["id"]
    small = r.create({"first_name": "Anna", "last_name": "Smith"})["id"]
    session.commit()
    assert len(session.execute(select(C.c.search_text).where(C.c.id == big)).scalar_one().encode()) > 10000
    for q in ("anna", "und", "ж", "anna u"):
        ids = [c["id"] for c in r.list(ContactQuery(q=q, limit=50))["items"]]
        assert big in ids, q
    assert [c["id"] for c in r.list(ContactQuery(q="anna", limit=50))["items"]] == [small, big]



@pytest.fixture
def quists(world, session, crowd):
    """Contacts found by their e-mail addresses only ("ann.lee..."), spread over name order."""
    admin = ContactRepository(session, world.principal("admin"))
    for k in range(30):
        admin.create({"first_name": random.Random(k).choice(FIRST) or "Zed", "last_name": "Quist",
                      "emails": [f"ann.lee{k}@example.org"]})
    session.commit()


@pytest.mark.parametrize("q", ["ann.lee", "quist ann.l", "ann.lee1", "mül", "smith j", "ann"])
def test_a_walk_checks_the_whole_condition_on_each_walked_row(world, session, quists, q):
    """A capped walk returns exactly the walked rows that match (the condition is built once per page on
    the walk's columns: a correlated e-mail check in it must reach the walked row), and on PostgreSQL
    every row outside the covering index that matches."""
    principal = world.principal("agent1")
    base = ContactRepository(session, principal)._where(ContactQuery(), search=False)
    dialect = session.get_bind().dialect.name
    pager = search_mod.SearchPager(session, base, dialect)
    plan = search_mod.plan(principal.tenant_id, q, "auto")
    cond = search_mod.search_condition(principal.tenant_id, q, "auto")
    pg = dialect == "postgresql"
    matched = 0
    for rows in (40, 150, 400):
        fits, longs = pager._capped_walk(plan, None, None, rows, 10_000)
        walked = (select(C.c.id).where(*base, *([search_mod.FITS] if pg else [])).order_by(C.c.sort_key, C.c.id)
                  .limit(rows).subquery())
        want = session.execute(select(C.c.id).where(C.c.id.in_(select(walked.c.id)), cond)).scalars().all()
        assert sorted(i for i, _ in fits) == sorted(want), (q, rows)
        want_long = session.execute(select(C.c.id).where(*base, search_mod.LONG, cond)).scalars().all() if pg else []
        assert sorted(i for i, _ in longs) == sorted(want_long), (q, rows)
        matched = max(matched, len(want) + len(want_long))
    assert matched > 0, q  # the check ran on rows that match


def test_address_queries_equal_the_plain_query(world, session, quists, tiny):
    """Queries with ``@`` or ``.``: e-mail sources (counted together with the name-key sources, read in
    one statement with them) and walks whose condition checks e-mails."""
    for q in ("ann.lee", "ann.lee1", "quist ann.l", "ann.lee2@example.org", "smith.", "de.j", "zed ann."):
        for who in ("admin", "agent1"):
            for limit in (3, 50):
                assert paged(session, world, who, q, limit) == expected(session, world, who, q, limit), (q, who)


def test_kept_statements_serve_other_queries_of_their_shape(world, session, crowd):
    """A search statement is built once per shape and kept (``SearchPager._run``): another query of the same
    shape reuses it with its own values, never the first query's, and another principal gets its own."""
    search_mod._STATEMENTS.clear()
    pg = session.get_bind().dialect.name == "postgresql"
    kept: dict = {}
    for who, q in (("agent1", "smi"), ("agent1", "one"), ("agent1", "ith"), ("agent2", "smi"), ("agent2", "one")):
        principal = world.principal(who)
        base = ContactRepository(session, principal)._where(ContactQuery(), search=False)
        pager = search_mod.SearchPager(session, base, session.get_bind().dialect.name)
        fits, longs = pager._capped_walk(search_mod.plan(principal.tenant_id, q, "auto"), None, None, 150, 10_000)
        cond = search_mod.search_condition(principal.tenant_id, q, "auto")
        walked = (select(C.c.id).where(*base, *([search_mod.FITS] if pg else [])).order_by(C.c.sort_key, C.c.id)
                  .limit(150).subquery())
        want = session.execute(select(C.c.id).where(C.c.id.in_(select(walked.c.id)), cond)).scalars().all()
        assert sorted(i for i, _ in fits) == sorted(want), (who, q)
        assert want, (who, q)  # the check ran on rows that match
        want_long = session.execute(select(C.c.id).where(*base, search_mod.LONG, cond)).scalars().all() if pg else []
        assert sorted(i for i, _ in longs) == sorted(want_long), (who, q)
        if q == "smi":  # a principal's first query builds its statement: other base filters, another one
            assert len(search_mod._STATEMENTS) == len(kept) + 1, who
        else:  # the same shape with other values: nothing built, the kept statement ran
            assert kept == search_mod._STATEMENTS, (who, q)
        kept = dict(search_mod._STATEMENTS)


def test_a_kept_statement_refuses_to_run_without_a_value(world, session):
    """Statements hold named parameters without values: one given no value fails loudly instead of running
    with a value left over from the query it was built for."""
    principal = world.principal("agent1")
    base = ContactRepository(session, principal)._where(ContactQuery(), search=False)
    pager = search_mod.SearchPager(session, base, session.get_bind().dialect.name)
    p = search_mod.plan(principal.tenant_id, "smith", "auto")
    assert pager._capped_walk(p, None, None, 40, 10) == ([], [])
    p.params.pop("k_like")
    with pytest.raises(StatementError, match="k_like"):
        pager._capped_walk(p, None, None, 40, 10)
