"""ContactRepository and friends: CRUD, validation, versions, atomicity, search, paging, filters,
bulk actions, scope conversion, lists, tags, custom fields, activities, audit and sync suppression."""

from __future__ import annotations

import os
import time
from datetime import datetime

import pytest
from sqlalchemy import func, insert, select

from plugin_host.models import T
from plugin_host.records import ContactRecord
from plugin_host.repo import (
    AccountRepository,
    ActivityRepository,
    ContactQuery,
    ContactRepository,
    CustomFieldRepository,
    ListRepository,
    NotFound,
    PermissionDenied,
    PreconditionFailed,
    TagRepository,
    Upserter,
    UpsertOptions,
    ValidationError,
)


def repo(session, world, who="admin"):
    return ContactRepository(session, world.principal(who))


def rows(session, table):
    return session.execute(select(func.count()).select_from(T[table])).scalar_one()


def ids(page_or_items):
    items = page_or_items["items"] if isinstance(page_or_items, dict) else page_or_items
    return [c["id"] for c in items]


def search(session, world, q, who="admin", **kw):
    return set(ids(repo(session, world, who).list(ContactQuery(q=q, limit=200, **kw))))


def make_source(session, tenant, name="CRM"):
    return session.execute(insert(T["sources"]).values(tenant_id=tenant, plugin="custom", name=name)
                           .returning(T["sources"].c.id)).scalar_one()


def sync(session, world, source_id, records, run_id=1):
    up = Upserter(session, world.principal("admin"),
                  options=UpsertOptions(source_id=source_id, run_id=run_id, acquisition_source="sync"))
    return up.apply(records)


def define_fields(session, world):
    cf = CustomFieldRepository(session, world.principal("admin"))
    cf.create({"name": "size", "label": "Company size", "field_type": "number"})
    cf.create({"name": "birthday", "field_type": "date"})
    cf.create({"name": "tshirt", "field_type": "select", "options": ["S", "M", "L"]})
    cf.create({"name": "vip", "field_type": "checkbox"})
    cf.create({"name": "remarks", "field_type": "textarea"})


# ---------------------------------------------------------------------------- CRUD


def test_create_get_update_delete_round_trip(world, session):
    r = repo(session, world)
    c = r.create({"first_name": " Noah ", "last_name": "Bianchi", "company": "PulseNet", "title": "CTO",
                  "status": "Inactive", "contact_type": "lead", "opt_in_sms": True, "language": "it",
                  "phones": [{"number": "+1 408 555 0101", "label": "mobile"}, "201"],
                  "emails": [{"address": "noah@pulsenet.com", "label": "business"}], "tags": ["VIP", "vip", "gold"]})
    session.commit()
    got = r.get(c["id"])
    assert got == c
    assert got["first_name"] == "Noah"  # trimmed
    assert got["status"] == "inactive" and got["contact_type"] == "lead" and got["opt_in_sms"] is True
    assert got["display_name"] == "Noah Bianchi"
    assert got["version"] == 1 and got["visibility"] == "global" and got["acquisition_source"] == "manual"
    assert [(p["e164"], p["label"], p["kind"]) for p in got["phones"]] == [
        ("+14085550101", "mobile", "e164"), (None, "other", "internal")]
    assert got["emails"] == [{"address": "noah@pulsenet.com", "label": "business"}]
    assert got["tags"] == ["gold", "VIP"]  # duplicates (any case) collapse; sorted case-insensitively

    up = r.update(c["id"], {"title": "CEO", "emails": [], "tags": ["gold"]}, if_version=1)
    session.commit()
    assert up["title"] == "CEO" and up["emails"] == [] and up["tags"] == ["gold"]
    assert up["version"] == 2
    assert up["first_name"] == "Noah" and len(up["phones"]) == 2  # untouched fields kept
    assert r.get(c["id"])["title"] == "CEO"

    r.delete(c["id"])
    session.commit()
    with pytest.raises(NotFound):
        r.get(c["id"])
    for table in ("contacts", "contact_phones", "contact_emails", "contact_tags"):
        assert rows(session, table) == 0, table


def test_company_only_contact_is_fine(world, session):
    c = repo(session, world).create({"company": "Acme Widgets"})
    assert c["display_name"] == "Acme Widgets" and c["first_name"] == "" and c["last_name"] == ""


def test_update_cannot_blank_every_name(world, session):
    r = repo(session, world)
    c = r.create({"first_name": "Solo"})
    with pytest.raises(ValidationError) as exc:
        r.update(c["id"], {"first_name": ""})
    assert "first_name" in exc.value.errors
    assert r.get(c["id"])["first_name"] == "Solo"


@pytest.mark.parametrize(("data", "field"), [
    ({"first_name": "A", "status": "zombie"}, "status"),
    ({"first_name": "A", "contact_type": "prospect"}, "contact_type"),
    ({"first_name": "A", "emails": ["not-an-email"]}, "emails[0].address"),
    ({"first_name": "A", "emails": [{"address": "a@b.co"}, {"address": "two@@x.org"}]}, "emails[1].address"),
    ({"first_name": "A", "phones": [{"number": "+1 408 555 0101", "label": "pager"}]}, "phones[0].label"),
    ({}, "first_name"),
    ({"first_name": "  ", "last_name": ""}, "first_name"),
    ({"first_name": "A", "favourite_colour": "blue"}, "favourite_colour"),
    ({"first_name": "A", "opt_in_email": "yes"}, "opt_in_email"),
    ({"first_name": "A", "custom": {"nope": "1"}}, "custom.nope"),
    ({"first_name": "A", "custom": {"size": "many"}}, "custom.size"),
    ({"first_name": "A", "custom": {"size": True}}, "custom.size"),
    ({"first_name": "A", "custom": {"size": "nan"}}, "custom.size"),
    ({"first_name": "A", "custom": {"birthday": "2024-13-01"}}, "custom.birthday"),
    ({"first_name": "A", "custom": {"birthday": "yesterday"}}, "custom.birthday"),
    ({"first_name": "A", "custom": {"tshirt": "XXL"}}, "custom.tshirt"),
    ({"first_name": "A", "custom": {"vip": "maybe"}}, "custom.vip"),
    ({"first_name": "A", "custom": {"vip": 2}}, "custom.vip"),
])
def test_validation_errors_name_the_field(world, session, data, field):
    define_fields(session, world)
    session.commit()
    with pytest.raises(ValidationError) as exc:
        repo(session, world).create(data)
    assert field in exc.value.errors, exc.value.errors
    assert field in str(exc.value)
    assert exc.value.status == 422
    session.rollback()
    assert rows(session, "contacts") == 0


def test_validation_collects_every_bad_field_at_once(world, session):
    with pytest.raises(ValidationError) as exc:
        repo(session, world).create({"status": "zombie", "emails": ["x"], "opt_in_sms": "no"})
    assert {"status", "emails[0].address", "opt_in_sms", "first_name"} <= set(exc.value.errors)


def test_update_validation_names_the_field(world, session):
    r = repo(session, world)
    c = r.create({"first_name": "A"})
    for data, field in (({"status": "zombie"}, "status"), ({"emails": ["@"]}, "emails[0].address"),
                        ({"visibility": "private"}, "visibility")):
        with pytest.raises(ValidationError) as exc:
            r.update(c["id"], data)
        assert field in exc.value.errors
    assert r.get(c["id"])["version"] == 1


def test_stale_version_is_refused_and_changes_nothing(world, session):
    r = repo(session, world)
    c = r.create({"first_name": "Vera", "tags": ["a"]})
    r.update(c["id"], {"first_name": "Vera2"}, if_version=1)
    session.commit()
    audits = rows(session, "audit_events")
    with pytest.raises(PreconditionFailed) as exc:
        r.update(c["id"], {"first_name": "Stale", "tags": ["b"], "phones": ["+1 408 555 0101"]}, if_version=1)
    assert exc.value.status == 412
    now = r.get(c["id"])
    assert (now["first_name"], now["version"], now["tags"], now["phones"]) == ("Vera2", 2, ["a"], [])
    assert rows(session, "audit_events") == audits
    # the current version works
    assert r.update(c["id"], {"first_name": "Fresh"}, if_version=2)["version"] == 3


def test_failing_create_writes_nothing(world, session):
    define_fields(session, world)
    session.commit()
    before = {t: rows(session, t) for t in ("contacts", "contact_phones", "contact_emails", "tags", "audit_events")}
    with pytest.raises(ValidationError):
        repo(session, world).create({"first_name": "Half", "phones": ["+1 408 555 0101", "+1 408 555 0102"],
                                     "emails": ["half@x.org"], "tags": ["new-tag"], "custom": {"size": "lots"}})
    # nothing half-written, even before the caller rolls back (an import keeps going after a bad row)
    assert {t: rows(session, t) for t in before} == before
    session.rollback()
    assert {t: rows(session, t) for t in before} == before


def test_failing_update_writes_nothing(world, session):
    define_fields(session, world)
    r = repo(session, world)
    c = r.create({"first_name": "Whole", "phones": ["+1 408 555 0101"], "custom": {"size": "5"}})
    session.commit()
    with pytest.raises(ValidationError):
        r.update(c["id"], {"first_name": "Changed", "phones": ["+1 408 555 0199"], "tags": ["t"],
                           "custom": {"size": "5", "tshirt": "XXL"}})
    now = r.get(c["id"])
    assert now == c
    session.rollback()
    assert r.get(c["id"]) == c


def test_not_found_looks_the_same_for_missing_foreign_and_private(world, session):
    from plugin_host.directory import principal_for

    foreign = ContactRepository(session, principal_for(session, world.users["other_admin"])).create(
        {"first_name": "Globex"})["id"]
    private = repo(session, world, "agent2").create({"first_name": "Mine", "visibility": "private"})["id"]
    session.commit()
    missing = 10_000_000
    shapes = set()
    for who in ("agent1", "dadmin"):
        r = repo(session, world, who)
        for cid in (foreign, private, missing):
            for method, args in (("get", ()), ("update", ({"first_name": "x"},)), ("delete", ())):
                with pytest.raises(NotFound) as exc:
                    getattr(r, method)(cid, *args)
                assert exc.value.status == 404
                shapes.add(str(exc.value).replace(str(cid), "<id>"))
    assert shapes == {"contact <id> not found"}
    # the owner and the tenant admin do see the private one; the other tenant's admin sees its own
    assert repo(session, world, "agent2").get(private)["id"] == private
    assert repo(session, world, "admin").get(private)["id"] == private
    with pytest.raises(NotFound):
        repo(session, world, "admin").get(foreign)


def test_readable_but_not_writable_is_permission_denied(world, session):
    c = repo(session, world).create({"first_name": "Global"})
    session.commit()
    with pytest.raises(PermissionDenied):
        repo(session, world, "agent1").update(c["id"], {"first_name": "x"})
    with pytest.raises(PermissionDenied):
        repo(session, world, "dadmin").delete(c["id"])
    assert repo(session, world).get(c["id"])["first_name"] == "Global"


# ---------------------------------------------------------------------------- search, letters, paging


@pytest.fixture
def people(world, session):
    r = repo(session, world)
    made = {
        "noah": r.create({"first_name": "Noah", "last_name": "Bianchi", "company": "PulseNet",
                          "emails": ["Noah.Bianchi@PulseNet.com"], "phones": ["+1 408 555 0101"]}),
        "anna": r.create({"first_name": "Anna", "last_name": "Müller", "company": "Bäckerei Schmidt",
                          "emails": ["anna@baeckerei.de"], "phones": ["+49 30 1234567"]}),
        "zoe": r.create({"first_name": "Zoë", "last_name": "Ångström", "company": "Nordic Optics"}),
        "peter": r.create({"first_name": "Peter", "last_name": "Parker", "company": "Daily Bugle",
                           "phones": ["(212) 555-0199"]}),
        "corp": r.create({"company": "42 Corp"}),
    }
    session.commit()
    return {k: v["id"] for k, v in made.items()}


@pytest.mark.parametrize(("q", "expected"), [
    ("noa", {"noah"}),  # first-name prefix
    ("Bian", {"noah"}),  # last-name prefix
    ("bianchi", {"noah"}),
    ("pulse", {"noah"}),  # company prefix
    ("daily bu", {"peter"}),
    ("noah bia", {"noah"}),  # display-name prefix
    ("noah.bianchi@pul", {"noah"}),  # e-mail prefix, any case
    ("ANNA@BAECK", {"anna"}),
    ("ulsen", {"noah"}),  # substring (>= 3 characters)
    ("ugle", {"peter"}),
    ("muller", {"anna"}),  # accents and case ignored
    ("MÜLLER", {"anna"}),
    ("backerei", {"anna"}),
    ("angstrom", {"zoe"}),
    ("zoe", {"zoe"}),
    ("42", {"corp"}),
    ("408 555 0101", {"noah"}),  # national form
    ("(408) 555-0101", {"noah"}),
    ("+1 408 555 0101", {"noah"}),  # international form
    ("+1 408", {"noah"}),
    ("+49 30 123", {"anna"}),
    ("030 1234567", {"anna"}),  # German national form (trunk 0)
    ("555 0199", {"peter"}),  # digits in the middle
    ("2125550199", {"peter"}),
    ("xyz", set()),
    ("nobody", set()),
])
def test_search(world, session, people, q, expected):
    assert search(session, world, q) == {people[k] for k in expected}


def test_short_queries_match_prefixes_only(world, session, people):
    assert search(session, world, "ul") == set()  # would be a substring of Müller / PulseNet
    assert search(session, world, "pa") == {people["peter"]}
    assert search(session, world, "ul", match="substring") == {people["noah"], people["anna"]}
    assert search(session, world, "ulsen", match="prefix") == set()


def test_search_respects_visibility(world, session, people):
    hidden = repo(session, world, "agent2").create({"first_name": "Noah", "last_name": "Hidden",
                                                     "visibility": "private"})["id"]
    session.commit()
    assert search(session, world, "noah", who="agent1") == {people["noah"]}
    assert search(session, world, "noah", who="agent2") == {people["noah"], hidden}


def test_search_does_not_treat_like_wildcards_as_wildcards(world, session, people):
    assert search(session, world, "a%b") == set()
    assert search(session, world, "___") == set()


@pytest.mark.parametrize(("letter", "expected"), [
    ("A", {"Anna", "anton"}),
    ("a", {"Anna", "anton"}),
    ("E", {"Émile"}),
    ("Z", {"Zed"}),
    ("#", {"42 Corp", "_under", "(paren)"}),
    ("Q", set()),
])
def test_letter_jump(world, session, letter, expected):
    r = repo(session, world)
    for name in ("Anna", "anton", "Bob", "Émile", "Zed", "_under", "(paren)"):
        r.create({"first_name": name})
    r.create({"company": "42 Corp"})
    session.commit()
    got = r.list(ContactQuery(letter=letter, limit=100))["items"]
    assert {c["display_name"] for c in got} == expected


def test_bad_letter_is_a_validation_error(world, session):
    with pytest.raises(ValidationError) as exc:
        repo(session, world).list(ContactQuery(letter="Ä"))
    assert "letter" in exc.value.errors


def test_keyset_pagination_is_stable_without_gaps_or_duplicates(world, session):
    r = repo(session, world)
    names = ["Smith", "smith", "Jones", "Émile", "Brown", "Zed", "Adams", "Müller", "Muller", "Ng"]
    created = [r.create({"first_name": "Pat", "last_name": names[i % len(names)]})["id"] for i in range(130)]
    session.commit()
    pages, after = [], None
    while True:
        page = r.list(ContactQuery(limit=50, after=after))
        pages.append(ids(page))
        after = page["next"]
        if after is None:
            break
    assert [len(p) for p in pages] == [50, 50, 30]
    flat = [i for p in pages for i in p]
    assert len(flat) == len(set(flat)) == 130
    assert set(flat) == set(created)
    # stable name order, ties broken by id
    keys = {row.id: row.sort_key for row in session.execute(select(T["contacts"].c.id, T["contacts"].c.sort_key))}
    assert flat == sorted(created, key=lambda i: (keys[i], i))
    # the same walk gives the same pages; count ignores the cursor
    assert ids(r.list(ContactQuery(limit=50, after=r.list(ContactQuery(limit=50))["next"]))) == pages[1]
    assert r.count(ContactQuery(after=after or r.list(ContactQuery(limit=50))["next"])) == 130


def test_pagination_survives_inserts_and_deletes_between_pages(world, session):
    r = repo(session, world)
    made = [r.create({"first_name": "Sam", "last_name": f"L{i:03d}"})["id"] for i in range(20)]
    session.commit()
    first = r.list(ContactQuery(limit=10))
    r.delete(first["items"][-1]["id"])  # the cursor's own row disappears
    r.create({"first_name": "Sam", "last_name": "A000"})  # lands on the page already read
    session.commit()
    second = r.list(ContactQuery(limit=10, after=first["next"]))
    assert ids(second) == made[10:20]
    assert second["next"] is None


def test_pagination_with_a_search_and_a_bad_cursor(world, session):
    r = repo(session, world)
    for i in range(7):
        r.create({"first_name": "Kim", "last_name": f"K{i}"})
        r.create({"first_name": "Lee", "last_name": f"L{i}"})
    session.commit()
    p1 = r.list(ContactQuery(q="kim", limit=5))
    p2 = r.list(ContactQuery(q="kim", limit=5, after=p1["next"]))
    assert len(p1["items"]) == 5 and len(p2["items"]) == 2 and p2["next"] is None
    assert all(c["first_name"] == "Kim" for c in p1["items"] + p2["items"])
    with pytest.raises(ValidationError) as exc:
        r.list(ContactQuery(after="not-a-cursor"))
    assert "after" in exc.value.errors


# ---------------------------------------------------------------------------- filters


def test_filters(world, session):
    r = repo(session, world)
    admin = world.principal("admin")
    acc = AccountRepository(session, admin).create({"name": "Initech"})["id"]
    a = r.create({"first_name": "Active", "tags": ["VIP", "gold"], "acquisition_source": "web_form"})["id"]
    b = r.create({"first_name": "Inactive", "status": "inactive", "tags": ["vip"], "account_id": acc})["id"]
    c = r.create({"first_name": "Dnc", "status": "do_not_contact", "tags": ["silver"]})["id"]
    src = make_source(session, world.tenant)
    synced = sync(session, world, src, [ContactRecord(first_name="Synced", external_id="s1")])[0].contact_id
    ActivityRepository(session, admin).add(a, {"kind": "call", "summary": "hello"})
    session.commit()

    def find(**kw):
        return set(ids(r.list(ContactQuery(limit=100, **kw))))

    assert find() == {a, b, c, synced}
    assert find(status="inactive") == {b}
    assert find(status="do_not_contact") == {c}
    assert find(acquisition_source="web_form") == {a}
    assert find(acquisition_source="manual") == {b, c}
    assert find(source_id=src) == {synced}
    assert find(account_id=acc) == {b}
    assert find(tag="vi") == {a, b}  # substring of a tag name, any case
    assert find(tag="LVER") == {c}
    assert find(tags=["vip"]) == {a, b}  # exact names, all required
    assert find(tags=["vip", "gold"]) == {a}
    assert find(tags=["vi"]) == set()
    assert find(has_activities=True) == {a}
    assert find(has_activities=False) == {b, c, synced}
    assert find(status="active", tags=["vip"]) == {a}
    assert r.count(ContactQuery(tag="vi")) == 2


def test_has_activities_counts_only_activities_the_principal_may_see(world, session):
    c = repo(session, world).create({"first_name": "Shared"})["id"]
    ActivityRepository(session, world.principal("agent2")).add(c, {"kind": "note", "summary": "agent2's"})
    session.commit()
    assert ids(repo(session, world, "agent2").list(ContactQuery(has_activities=True))) == [c]
    assert ids(repo(session, world, "agent1").list(ContactQuery(has_activities=True))) == []
    assert repo(session, world, "agent1").get(c)["activity_count"] == 0
    assert repo(session, world, "admin").get(c)["activity_count"] == 1


# ---------------------------------------------------------------------------- bulk


@pytest.fixture
def spread(world, session):
    """One contact in every scope a department admin may or may not touch."""
    admin = repo(session, world)
    made = {
        "global": admin.create({"first_name": "G"})["id"],
        "d1": admin.create({"first_name": "D1", "visibility": "department", "department_id": world.d1})["id"],
        "d2": admin.create({"first_name": "D2", "visibility": "department", "department_id": world.d2})["id"],
        "own": repo(session, world, "dadmin").create({"first_name": "Own", "visibility": "private"})["id"],
        "agent1": repo(session, world, "agent1").create({"first_name": "A1", "visibility": "private"})["id"],
    }
    session.commit()
    return made


def test_bulk_tags_for_a_department_admin(world, session, spread):
    r = repo(session, world, "dadmin")
    everything = list(spread.values())
    res = r.bulk(everything, "add_tag", tag="Hot")
    assert res["done"] == 2
    assert res["denied"] == [spread["global"]]
    assert sorted(res["not_found"]) == sorted([spread["d2"], spread["agent1"]])
    admin = repo(session, world)
    tagged = {k for k, cid in spread.items() if "Hot" in admin.get(cid)["tags"]}
    assert tagged == {"d1", "own"}
    assert admin.get(spread["d1"])["version"] == 2  # a bulk change is a change
    res = r.bulk(everything, "remove_tag", tag="hot")
    assert res["done"] == 2
    assert all(admin.get(cid)["tags"] == [] for cid in spread.values())
    with pytest.raises(ValidationError) as exc:
        r.bulk(everything, "add_tag", tag=" ")
    assert "tag" in exc.value.errors
    with pytest.raises(ValidationError) as exc:
        r.bulk(everything, "explode")
    assert "action" in exc.value.errors
    with pytest.raises(ValidationError):
        r.bulk([], "add_tag", tag="x")


def test_bulk_add_to_list_and_assign_to_queue(world, session, spread):
    dadmin = world.principal("dadmin")
    lst = ListRepository(session, dadmin).create({"name": "Call back", "visibility": "department",
                                                  "department_id": world.d1})["id"]
    r = repo(session, world, "dadmin")
    res = r.bulk(list(spread.values()), "add_to_list", list_id=lst)
    assert res["done"] == 3  # every readable one: global, d1, own
    assert ListRepository(session, dadmin).count(lst) == 3

    res = r.bulk(list(spread.values()), "assign_to_queue", department_id=world.d1)
    assert res["done"] == 2  # d1 (already there) and its own private contact
    assert res["denied"] == [spread["global"]]
    admin = repo(session, world)
    own = admin.get(spread["own"])
    assert (own["visibility"], own["department_id"], own["owner_id"]) == ("department", world.d1, None)
    assert admin.get(spread["global"])["visibility"] == "global"
    # the department admin may not move contacts into a department it does not administer
    res = r.bulk([spread["d1"]], "assign_to_queue", department_id=world.d2)
    assert res["done"] == 0 and res["denied"] == [spread["d1"]]
    assert admin.get(spread["d1"])["department_id"] == world.d1


def test_bulk_delete_for_a_department_admin(world, session, spread):
    res = repo(session, world, "dadmin").bulk(list(spread.values()), "delete")
    assert res["done"] == 2
    assert res["denied"] == [spread["global"]]
    left = set(ids(repo(session, world).list(ContactQuery(limit=50))))
    assert left == {spread["global"], spread["d2"], spread["agent1"]}


def test_bulk_for_an_agent_touches_only_its_private_contacts(world, session, spread):
    res = repo(session, world, "agent1").bulk(list(spread.values()), "delete")
    assert res["done"] == 1
    assert sorted(res["denied"]) == sorted([spread["global"], spread["d1"]])
    with pytest.raises(NotFound):
        repo(session, world).get(spread["agent1"])


# ---------------------------------------------------------------------------- scope conversion


def test_convert_scopes(world, session, spread):
    admin = repo(session, world)
    c = admin.convert(spread["agent1"], "department", department_id=world.d2)
    assert (c["visibility"], c["department_id"], c["owner_id"]) == ("department", world.d2, None)
    c = admin.convert(spread["agent1"], "global")
    assert (c["visibility"], c["department_id"], c["owner_id"]) == ("global", None, None)
    c = admin.convert(spread["agent1"], "private", owner_id=world.users["agent2"])
    assert (c["visibility"], c["owner_id"]) == ("private", world.users["agent2"])

    dadmin = repo(session, world, "dadmin")
    c = dadmin.convert(spread["own"], "department", department_id=world.d1)
    assert (c["visibility"], c["department_id"]) == ("department", world.d1)
    with pytest.raises(PermissionDenied):
        dadmin.convert(spread["d1"], "global")
    with pytest.raises(PermissionDenied):
        dadmin.convert(spread["d1"], "department", department_id=world.d2)
    with pytest.raises(PermissionDenied):
        dadmin.convert(spread["global"], "department", department_id=world.d1)

    agent = repo(session, world, "agent1")
    mine = agent.create({"first_name": "Mine", "visibility": "private"})["id"]
    with pytest.raises(PermissionDenied):
        agent.convert(mine, "global")
    with pytest.raises(PermissionDenied):
        agent.convert(mine, "department", department_id=world.d1)
    with pytest.raises(ValidationError) as exc:
        agent.convert(mine, "everyone")
    assert "visibility" in exc.value.errors
    assert agent.get(mine)["visibility"] == "private"
    with pytest.raises(NotFound):
        agent.convert(spread["d2"], "private")  # not readable for agent1: looks missing


# ---------------------------------------------------------------------------- lists & tags


def test_static_list_members_and_counts_respect_the_principal(world, session, spread):
    admin_p = world.principal("admin")
    lists = ListRepository(session, admin_p)
    lst = lists.create({"name": "Everyone"})["id"]
    assert lists.add_members(lst, list(spread.values())) == 5
    assert lists.add_members(lst, [spread["global"]]) == 1  # idempotent
    session.commit()
    assert lists.count(lst) == 5
    assert ListRepository(session, world.principal("agent1")).count(lst) == 3  # global, d1, own private
    assert ListRepository(session, world.principal("agent2")).count(lst) == 2  # global, d2
    counts = {d["name"]: d["count"] for d in ListRepository(session, world.principal("agent1")).all()}
    assert counts == {"Everyone": 3}
    members = repo(session, world, "agent1").list(ContactQuery(list_id=lst))
    assert set(ids(members)) == {spread["global"], spread["d1"], spread["agent1"]}
    assert "Everyone" in repo(session, world).get(spread["d2"])["lists"]

    assert lists.remove_members(lst, [spread["global"], spread["d2"]]) == 2
    assert lists.count(lst) == 3
    assert repo(session, world).get(spread["global"])["lists"] == []  # the contact stays
    assert rows(session, "contacts") == 5


def test_agent_cannot_add_unreadable_contacts_to_its_list(world, session, spread):
    agent = world.principal("agent1")
    lst = ListRepository(session, agent).create({"name": "Mine"})
    assert lst["visibility"] == "private"
    assert ListRepository(session, agent).add_members(lst["id"], list(spread.values())) == 3
    assert ListRepository(session, world.principal("admin")).count(lst["id"]) == 3
    with pytest.raises(NotFound):
        ListRepository(session, world.principal("agent2")).count(lst["id"])


def test_dynamic_list_counts_live(world, session):
    r = repo(session, world)
    a = r.create({"first_name": "One"})["id"]
    r.create({"first_name": "Two"})
    lists = ListRepository(session, world.principal("admin"))
    dyn = lists.create({"name": "Lapsed", "kind": "dynamic", "criteria": {"status": "inactive"}})["id"]
    session.commit()
    assert lists.count(dyn) == 0
    r.update(a, {"status": "inactive"})
    assert lists.count(dyn) == 1
    assert lists.get(dyn)["count"] == 1
    assert ids(r.list(ContactQuery(list_id=dyn))) == [a]
    r.update(a, {"status": "active"})
    assert lists.count(dyn) == 0
    with pytest.raises(ValidationError):
        lists.add_members(dyn, [a])
    with pytest.raises(ValidationError) as exc:
        lists.create({"name": "Broken", "kind": "dynamic", "criteria": {"colour": "red"}})
    assert "criteria" in exc.value.errors


def test_dynamic_list_count_respects_the_principal(world, session, spread):
    lists = ListRepository(session, world.principal("admin"))
    dyn = lists.create({"name": "All active", "kind": "dynamic", "criteria": {"status": "active"}})["id"]
    session.commit()
    assert lists.count(dyn) == 5
    assert ListRepository(session, world.principal("agent2")).count(dyn) == 2


def test_tags_listing_counts(world, session, spread):
    admin = repo(session, world)
    admin.update(spread["global"], {"tags": ["VIP", "gold"]})
    admin.update(spread["d2"], {"tags": ["vip"]})
    admin.update(spread["agent1"], {"tags": ["vip"]})
    admin.update(spread["d1"], {"tags": ["unused-later"]})
    admin.update(spread["d1"], {"tags": []})
    session.commit()
    as_admin = {t["name"]: t["count"] for t in TagRepository(session, world.principal("admin")).all()}
    assert as_admin == {"VIP": 3, "gold": 1, "unused-later": 0}
    as_agent1 = {t["name"]: t["count"] for t in TagRepository(session, world.principal("agent1")).all()}
    assert as_agent1 == {"VIP": 2, "gold": 1, "unused-later": 0}
    from plugin_host.directory import principal_for

    assert TagRepository(session, principal_for(session, world.users["other_admin"])).all() == []


# ---------------------------------------------------------------------------- custom fields


def test_custom_field_definitions_and_values_round_trip(world, session):
    define_fields(session, world)
    defs = CustomFieldRepository(session, world.principal("admin")).all()
    assert [(d["name"], d["field_type"]) for d in defs] == [
        ("birthday", "date"), ("remarks", "textarea"), ("size", "number"), ("tshirt", "select"), ("vip", "checkbox")]
    assert next(d for d in defs if d["name"] == "tshirt")["options"] == ["S", "M", "L"]
    r = repo(session, world)
    c = r.create({"first_name": "Custom", "custom": {"size": 250, "birthday": "1990-02-28", "tshirt": "M",
                                                      "vip": True, "remarks": "line one\nline two"}})
    session.commit()
    assert r.get(c["id"])["custom"] == {"size": "250", "birthday": "1990-02-28", "tshirt": "M", "vip": "true",
                                        "remarks": "line one\nline two"}
    r.update(c["id"], {"custom": {"vip": "no", "size": "", "tshirt": "L"}})
    assert r.get(c["id"])["custom"] == {"birthday": "1990-02-28", "tshirt": "L", "vip": "false",
                                        "remarks": "line one\nline two"}
    with pytest.raises(PermissionDenied):
        CustomFieldRepository(session, world.principal("dadmin")).create({"name": "nope"})
    with pytest.raises(ValidationError) as exc:
        CustomFieldRepository(session, world.principal("admin")).create({"name": "size"})
    assert "name" in exc.value.errors
    with pytest.raises(ValidationError) as exc:
        CustomFieldRepository(session, world.principal("admin")).create({"name": "s", "field_type": "select"})
    assert "options" in exc.value.errors


def test_required_custom_field(world, session):
    CustomFieldRepository(session, world.principal("admin")).create({"name": "crm_no", "required": True})
    with pytest.raises(ValidationError) as exc:
        repo(session, world).create({"first_name": "No crm"})
    assert "custom.crm_no" in exc.value.errors
    assert repo(session, world).create({"first_name": "Crm", "custom": {"crm_no": "7"}})["custom"] == {"crm_no": "7"}


# ---------------------------------------------------------------------------- activities


def test_timeline_is_chronological(world, session):
    c = repo(session, world).create({"first_name": "Timeline"})["id"]
    acts = ActivityRepository(session, world.principal("admin"))
    for when, what in (("2024-03-01T10:00:00", "third"), ("2024-01-01T09:00:00", "first"),
                       ("2024-02-01T08:00:00Z", "second"), ("2024-03-01T10:00:00", "fourth")):
        acts.add(c, {"kind": "call", "summary": what, "occurred_at": when, "direction": "inbound"})
    session.commit()
    assert [a["summary"] for a in acts.timeline(c)] == ["first", "second", "third", "fourth"]
    assert [a["summary"] for a in acts.timeline(c, newest_first=True)] == ["fourth", "third", "second", "first"]
    assert acts.timeline(c)[0]["agent"] == "admin"
    with pytest.raises(ValidationError) as exc:
        acts.add(c, {"kind": "telegram"})
    assert "kind" in exc.value.errors
    with pytest.raises(ValidationError) as exc:
        acts.add(c, {"kind": "call", "occurred_at": "last tuesday"})
    assert "occurred_at" in exc.value.errors


@pytest.fixture
def new_york_clock():
    """Run the test with the process in a non-UTC local time zone."""
    old = os.environ.get("TZ")
    os.environ["TZ"] = "America/New_York"
    time.tzset()
    yield
    if old is None:
        del os.environ["TZ"]
    else:
        os.environ["TZ"] = old
    time.tzset()


def test_activity_times_with_an_offset_are_stored_in_utc(world, session, new_york_clock):
    c = repo(session, world).create({"first_name": "Zoned"})["id"]
    acts = ActivityRepository(session, world.principal("admin"))
    a = acts.add(c, {"kind": "call", "occurred_at": "2024-05-01T12:00:00+02:00"})
    b = acts.add(c, {"kind": "call", "occurred_at": datetime.fromisoformat("2024-05-01T11:30:00+00:00")})
    session.commit()
    assert a["occurred_at"] == "2024-05-01T10:00:00"
    assert b["occurred_at"] == "2024-05-01T11:30:00"
    assert [x["occurred_at"] for x in acts.timeline(c)] == ["2024-05-01T10:00:00", "2024-05-01T11:30:00"]


def test_activity_visibility_rule(world, session):
    c = repo(session, world).create({"first_name": "Busy"})["id"]
    made = {}
    for who, dept in (("agent1", world.d1), ("agent2", world.d2), ("dadmin", None), ("admin", None),
                      ("noimport", world.d1)):
        made[who] = ActivityRepository(session, world.principal(who)).add(
            c, {"kind": "note", "summary": who, "department_id": dept})["id"]
    session.commit()

    def seen(who):
        return {a["summary"] for a in ActivityRepository(session, world.principal(who)).timeline(c)}

    assert seen("admin") == {"agent1", "agent2", "dadmin", "admin", "noimport"}
    assert seen("dadmin") == {"agent1", "noimport", "dadmin"}  # its department's + its own
    assert seen("agent1") == {"agent1"}
    assert seen("agent2") == {"agent2"}
    with pytest.raises(ValidationError) as exc:  # an agent cannot file under another department
        ActivityRepository(session, world.principal("agent1")).add(c, {"kind": "note", "department_id": world.d2})
    assert "department_id" in exc.value.errors


def test_activities_of_an_unreadable_contact_are_not_found(world, session):
    c = repo(session, world, "agent2").create({"first_name": "Private", "visibility": "private"})["id"]
    ActivityRepository(session, world.principal("agent2")).add(c, {"kind": "call"})
    session.commit()
    for call in (lambda: ActivityRepository(session, world.principal("agent1")).timeline(c),
                 lambda: ActivityRepository(session, world.principal("agent1")).add(c, {"kind": "call"})):
        with pytest.raises(NotFound):
            call()
    assert rows(session, "activities") == 1


# ---------------------------------------------------------------------------- audit


def test_every_write_leaves_an_audit_event(world, session):
    admin = world.principal("admin")
    r = repo(session, world)

    def audited(action, fn):
        before = rows(session, "audit_events")
        result = fn()
        events = session.execute(select(T["audit_events"]).order_by(T["audit_events"].c.id.desc())).mappings().all()
        assert len(events) == before + 1, action
        assert events[0]["action"] == action
        assert events[0]["user_id"] == world.users["admin"] and events[0]["tenant_id"] == world.tenant
        return result

    c = audited("contact.create", lambda: r.create({"first_name": "Audit"}))["id"]
    other = r.create({"first_name": "Other"})["id"]
    audited("contact.update", lambda: r.update(c, {"last_name": "Trail"}))
    audited("contact.convert", lambda: r.convert(c, "department", department_id=world.d1))
    audited("contact.bulk.add_tag", lambda: r.bulk([c, other], "add_tag", tag="t"))
    lists = ListRepository(session, admin)
    lst = audited("list.create", lambda: lists.create({"name": "L"}))["id"]
    audited("list.update", lambda: lists.update(lst, {"description": "d"}))
    audited("list.add_members", lambda: lists.add_members(lst, [c]))
    audited("list.remove_members", lambda: lists.remove_members(lst, [c]))
    audited("list.delete", lambda: lists.delete(lst))
    tags = TagRepository(session, admin)
    tag = tags.all()[0]["id"]
    audited("tag.rename", lambda: tags.rename(tag, "T"))
    audited("tag.delete", lambda: tags.delete(tag))
    accounts = AccountRepository(session, admin)
    acc = audited("account.create", lambda: accounts.create({"name": "Initech"}))["id"]
    audited("account.delete", lambda: accounts.delete(acc))
    fields = CustomFieldRepository(session, admin)
    fid = audited("custom_field.create", lambda: fields.create({"name": "x"}))["id"]
    audited("custom_field.delete", lambda: fields.delete(fid))
    audited("activity.create", lambda: ActivityRepository(session, admin).add(c, {"kind": "note"}))
    audited("contact.bulk.delete", lambda: r.bulk([other], "delete"))
    audited("contact.delete", lambda: r.delete(c))


def test_imports_and_syncs_are_audited(world, session):
    before = rows(session, "audit_events")
    up = Upserter(session, world.principal("admin"), options=UpsertOptions())
    up.apply([ContactRecord(first_name="Imported", emails=())])
    assert rows(session, "audit_events") > before
    src = make_source(session, world.tenant)
    before = rows(session, "audit_events")
    sync(session, world, src, [ContactRecord(first_name="Synced", external_id="e1")])
    assert rows(session, "audit_events") > before
    before = rows(session, "audit_events")
    Upserter(session, world.principal("admin"), options=UpsertOptions(source_id=src, run_id=2)).delete_external(
        ["e1"])
    assert rows(session, "audit_events") > before
    # a dry run writes nothing, not even an audit event
    before = rows(session, "audit_events")
    Upserter(session, world.principal("admin"), options=UpsertOptions(dry_run=True)).apply(
        [ContactRecord(first_name="Dry")])
    assert rows(session, "audit_events") == before


# ---------------------------------------------------------------------------- synced contacts


def test_deleting_a_synced_contact_suppresses_it(world, session):
    src = make_source(session, world.tenant)
    outcome = sync(session, world, src, [ContactRecord(first_name="Ghost", external_id="g-1"),
                                         ContactRecord(first_name="Kept", external_id="k-1")])
    cid = outcome[0].contact_id
    got = repo(session, world).get(cid)
    assert (got["source_id"], got["external_id"], got["acquisition_source"]) == (src, "g-1", "sync")
    repo(session, world).delete(cid)
    session.commit()
    again = sync(session, world, src, [ContactRecord(first_name="Ghost", external_id="g-1"),
                                       ContactRecord(first_name="Kept 2", external_id="k-1")], run_id=2)
    assert again[0].status == "skipped" and again[0].contact_id is None
    assert again[1].status == "updated"
    session.commit()
    assert search(session, world, "ghost") == set()
    assert rows(session, "contacts") == 1
    # suppression is per source: another source may still bring an "g-1"
    other = make_source(session, world.tenant, "Other CRM")
    assert sync(session, world, other, [ContactRecord(first_name="Ghost", external_id="g-1")])[0].status == "created"


def test_bulk_deleting_synced_contacts_suppresses_them(world, session):
    src = make_source(session, world.tenant)
    out = sync(session, world, src, [ContactRecord(first_name=f"S{i}", external_id=f"x{i}") for i in range(3)])
    repo(session, world).bulk([o.contact_id for o in out[:2]], "delete")
    again = sync(session, world, src, [ContactRecord(first_name=f"S{i}", external_id=f"x{i}") for i in range(3)],
                 run_id=2)
    assert [o.status for o in again] == ["skipped", "skipped", "updated"]


def test_editing_a_synced_contact_marks_it_locally_modified(world, session):
    src = make_source(session, world.tenant)
    cid = sync(session, world, src, [ContactRecord(first_name="Remote", external_id="r1")])[0].contact_id
    r = repo(session, world)
    assert r.get(cid)["locally_modified"] is False
    r.update(cid, {"first_name": "Local"})
    assert r.get(cid)["locally_modified"] is True
    local = r.create({"first_name": "Plain"})
    assert r.update(local["id"], {"first_name": "Plain 2"})["locally_modified"] is False


def test_a_small_static_list_pages_from_its_members_like_the_name_order_walk(world, session, monkeypatch):
    # PostgreSQL: the member-driven page (small lists) and the name-order walk (large lists) give the same pages
    from plugin_host.repo import contacts as contacts_module

    admin = repo(session, world)
    names = ["Zoe", "adam", "Émile", "", "Bert", "bert", "O'Brien", "de Jong", "Mia", "Anna", "Carl", "Dora"]
    made = []
    for i, name in enumerate(names * 2):
        extra = [{}, {"visibility": "department", "department_id": world.d1},
                 {"visibility": "department", "department_id": world.d2}][i % 3]
        data = {"first_name": name, "company": "" if name else f"Firm {i}", **extra}
        made.append(admin.create({**data, "status": "inactive" if i % 4 == 0 else "active"})["id"])
    made.append(repo(session, world, "agent1").create({"first_name": "Mine", "visibility": "private"})["id"])
    made.append(repo(session, world, "agent2").create({"first_name": "Theirs", "visibility": "private"})["id"])
    admin.create({"first_name": "Anna", "last_name": "Outside"})  # not a member
    lists = ListRepository(session, world.principal("admin"))
    lst = lists.create({"name": "Small", "visibility": "global"})["id"]
    lists.add_members(lst, made[::2] + made[-2:])
    session.commit()

    def pages(who, **filters):
        r, out, after = repo(session, world, who), [], None
        while True:
            page = r.list(ContactQuery(list_id=lst, limit=4, after=after, **filters))
            out.append(ids(page))
            if not page["next"]:
                return out, r.count(ContactQuery(list_id=lst, **filters))
            after = page["next"]

    cases = [("admin", {}), ("agent1", {}), ("agent2", {}), ("agent1", {"status": "active"}),
             ("admin", {"letter": "B"}), ("admin", {"letter": "#"})]
    driven = {i: pages(who, **f) for i, (who, f) in enumerate(cases)}
    assert sum(len(p) for p in driven[0][0]) == len(set(made[::2] + made[-2:])) == driven[0][1]
    assert all(len(p) == 4 for p in driven[0][0][:-1]) and len(driven[0][0]) > 2
    monkeypatch.setattr(contacts_module, "FEW_MEMBERS", 0)  # every list is "large": walk name order
    walked = {i: pages(who, **f) for i, (who, f) in enumerate(cases)}
    assert driven == walked
    assert driven[1] != driven[2], "agents see different members"


def test_a_page_hydrated_in_one_round_trip_equals_the_per_kind_reads(world, session):
    """PostgreSQL reads a page's phones, e-mails, tags, lists, custom values and activity counts as JSON
    columns of its rows (``children_columns``): the result must equal the per-kind reads (SQLite's path)."""
    define_fields(session, world)
    admin = world.principal("admin")
    r = ContactRepository(session, admin)
    a = r.create({"first_name": "Zoë", "last_name": "Ödegaard", "tags": ["vip", "Gold", "älteste"],
                  "phones": [{"number": "+49 30 1234567", "label": "work"}, {"number": "201", "label": "mobile"},
                             "n/a"],
                  "emails": [{"address": "z@example.com", "label": "private"}, "zoe@work.example"],
                  "custom": {"size": 12, "tshirt": "M", "remarks": 'quote " and\nnewline'}})["id"]
    b = r.create({"first_name": "Bare"})["id"]
    lists = ListRepository(session, admin)
    for name in ("Zulu calls", "alpha", "Beta"):
        lists.add_members(lists.create({"name": name})["id"], [a])
    ActivityRepository(session, admin).add(a, {"kind": "call", "summary": "one"})
    ActivityRepository(session, admin).add(a, {"kind": "note", "summary": "two"})
    session.commit()

    page = r.list(ContactQuery(limit=10))["items"]
    searched = r.list(ContactQuery(q="zoe", limit=10))["items"]
    plain = session.execute(select(T["contacts"]).where(T["contacts"].c.id.in_([a, b]))
                            .order_by(T["contacts"].c.sort_key)).mappings().all()
    per_kind = r.hydrate(plain)  # rows without the JSON columns: one read per kind
    assert {c["id"] for c in page} == {a, b}
    assert sorted(page, key=lambda c: c["id"]) == sorted(per_kind, key=lambda c: c["id"])
    assert searched == [c for c in per_kind if c["id"] == a]
    assert r.get(a) == next(c for c in per_kind if c["id"] == a)
    got = r.get(a)
    assert [p["number"] for p in got["phones"]] == ["+49 30 1234567", "201", "n/a"]
    assert [p["valid"] for p in got["phones"]] == [True, True, False]
    assert [e["address"] for e in got["emails"]] == ["z@example.com", "zoe@work.example"]
    assert got["tags"] == ["älteste", "Gold", "vip"]  # by folded name
    assert got["lists"] == ["Beta", "Zulu calls", "alpha"]
    assert got["custom"] == {"size": "12", "tshirt": "M", "remarks": 'quote " and\nnewline'}
    assert got["activity_count"] == 2
    assert r.get(b)["phones"] == [] and r.get(b)["tags"] == [] and r.get(b)["activity_count"] == 0


def test_search_rows_statement_is_kept_per_filter_values_and_principal(world, session):
    """A search page's row statement is built once and kept (``_rows_statement``): a filter with other
    values, or another principal whose filter has the same shape, must never reuse it."""
    from plugin_host.repo import search

    admin = ContactRepository(session, world.principal("admin"))
    for dept, tag in ((world.d1, "north"), (world.d2, "south")):
        admin.create({"first_name": f"Zed {tag}", "visibility": "department", "department_id": dept,
                      "tags": [tag]})
    session.commit()
    search._ROWS.clear()

    def names(who: str, **query: object) -> list[str]:
        page = ContactRepository(session, world.principal(who)).list(ContactQuery(q="zed", **query))
        return [c["first_name"] for c in page["items"]]

    assert names("admin", tags=["north"]) == ["Zed north"]
    kept = len(search._ROWS)
    assert kept == 1
    assert names("admin", tags=["south"]) == ["Zed south"]  # same shape, other value
    assert names("admin", tags=["north"]) == ["Zed north"]
    assert len(search._ROWS) == kept + 1  # the first statement was reused
    # two agents of different departments: the same filter shape with other department ids
    assert names("agent1") == ["Zed north"]
    assert names("agent2") == ["Zed south"]
    assert names("agent1") == ["Zed north"]
