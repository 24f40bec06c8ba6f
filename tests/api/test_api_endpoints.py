"""Every REST endpoint: success, per-field 422 problem+json, and 403/404 by role (table-driven)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import pytest

from plugin_host.models import db
from plugin_host.repo import ContactRepository, ListRepository

P = "/api/v1"
PROBLEM = "application/problem+json"
VIP = {"tag": "vip"}


@dataclass
class Seed:
    """Ids of the seeded contacts: one per scope, plus another tenant's contact."""

    g: int
    dep1: int
    dep2: int
    p1: int
    p2: int
    other: int
    dyn: int
    static: int


def _contact(repo: ContactRepository, first: str, last: str, phone: str, **scope: Any) -> int:
    return repo.create({"first_name": first, "last_name": last, "phones": [{"number": phone}], "tags": ["vip"],
                        **scope})["id"]


@pytest.fixture
def seed(world: Any, session: Any) -> Seed:
    admin = ContactRepository(session, world.principal("admin"))
    u = world.users
    ids = {
        "g": _contact(admin, "Alice", "Adams", "+12125550100", visibility="global"),
        "dep1": _contact(admin, "Bob", "Baker", "+12125550101", visibility="department", department_id=world.d1),
        "dep2": _contact(admin, "Carol", "Cole", "+12125550102", visibility="department", department_id=world.d2),
        "p1": _contact(admin, "Dave", "Dunn", "+12125550103", visibility="private", owner_id=u["agent1"]),
        "p2": _contact(admin, "Eve", "Evans", "+12125550104", visibility="private", owner_id=u["agent2"]),
    }
    ids["other"] = _contact(ContactRepository(session, world.principal("other_admin")), "Olga", "Other",
                            "+12125550100", visibility="global")
    lists = ListRepository(session, world.principal("admin"))
    ids["dyn"] = lists.create({"name": "VIPs", "kind": "dynamic", "criteria": VIP, "visibility": "global"})["id"]
    ids["static"] = lists.create({"name": "Everyone", "kind": "static", "visibility": "global"})["id"]
    lists.add_members(ids["static"], [ids[k] for k in ("g", "dep1", "dep2", "p1", "p2")])
    session.commit()
    return Seed(**ids)


def problem(resp: Any, status: int) -> dict[str, Any]:
    assert resp.status_code == status, resp.text
    assert resp.mimetype == PROBLEM, resp.mimetype
    body = resp.get_json()
    assert body["status"] == status
    return body


def invalid(resp: Any, field: str) -> dict[str, Any]:
    """A 422 problem whose per-field ``errors`` names ``field`` (or one of its items, e.g. ``scopes.0``)."""
    body = problem(resp, 422)
    assert any(k == field or k.startswith(field + ".") for k in body["errors"]), body
    return body


def ids_of(resp: Any) -> set[int]:
    assert resp.status_code == 200, resp.text
    return {c["id"] for c in resp.get_json()["items"]}


# ---------------------------------------------------------------------------------------------- contacts: reads

READERS = {
    # role -> which seeded contacts it may read (DESIGN.md §4)
    "admin": {"g", "dep1", "dep2", "p1", "p2"},
    "dadmin": {"g", "dep1"},
    "agent1": {"g", "dep1", "p1"},
    "agent2": {"g", "dep2", "p2"},
    "noimport": {"g", "dep1"},
    "other_admin": set(),
}
TARGETS = ["g", "dep1", "dep2", "p1", "p2", "other"]


@pytest.mark.parametrize("role", list(READERS))
def test_list_contacts_shows_only_readable(as_user, seed, role):
    own_tenant = {getattr(seed, k) for k in READERS[role]} | ({seed.other} if role == "other_admin" else set())
    assert ids_of(as_user(role).get(f"{P}/contacts")) == own_tenant


@pytest.mark.parametrize("role", list(READERS))
@pytest.mark.parametrize("target", TARGETS)
def test_get_contact_by_role(as_user, seed, role, target):
    cid = getattr(seed, target)
    resp = as_user(role).get(f"{P}/contacts/{cid}")
    readable = target in READERS[role] or (role == "other_admin" and target == "other")
    if readable:
        assert resp.status_code == 200 and resp.get_json()["id"] == cid and resp.headers["ETag"]
    else:
        problem(resp, 404)


def _normal(resp: Any) -> tuple[int, str, dict[str, Any]]:
    body = {k: re.sub(r"\b\d+\b", "N", v) if isinstance(v, str) else v for k, v in resp.get_json().items()}
    return resp.status_code, resp.mimetype, body


@pytest.mark.parametrize(("role", "target"), [("agent2", "p1"), ("agent1", "p2"), ("dadmin", "dep2"),
                                              ("admin", "other"), ("other_admin", "g")])
@pytest.mark.parametrize("suffix", ["", "/timeline"])
def test_unreadable_contact_looks_exactly_like_a_missing_one(as_user, seed, role, target, suffix):
    api = as_user(role)
    hidden = api.get(f"{P}/contacts/{getattr(seed, target)}{suffix}")
    missing = api.get(f"{P}/contacts/987654{suffix}")
    assert _normal(hidden) == _normal(missing)
    assert hidden.get_json()["status"] == 404
    assert set(hidden.headers.keys()) == set(missing.headers.keys())


def test_list_filters_search_and_letter(as_user, seed, world):
    api = as_user("admin")
    assert ids_of(api.get(f"{P}/contacts", query_string={"letter": "B"})) == {seed.dep1}
    assert ids_of(api.get(f"{P}/contacts", query_string={"q": "bak"})) == {seed.dep1}
    assert ids_of(api.get(f"{P}/contacts", query_string={"q": "Car", "match": "prefix"})) == {seed.dep2}
    assert ids_of(api.get(f"{P}/contacts", query_string={"q": "+12125550104"})) == {seed.p2}
    assert ids_of(api.get(f"{P}/contacts", query_string={"visibility": "private"})) == {seed.p1, seed.p2}
    assert ids_of(api.get(f"{P}/contacts", query_string={"department_id": world.d1})) == {seed.dep1}
    assert ids_of(api.get(f"{P}/contacts", query_string={"tag": "vi"})) == {seed.g, seed.dep1, seed.dep2, seed.p1,
                                                                            seed.p2}
    assert ids_of(api.get(f"{P}/contacts", query_string={"list_id": seed.static, "letter": "E"})) == {seed.p2}
    assert ids_of(api.get(f"{P}/contacts", query_string={"status": "inactive"})) == set()
    # an agent's search never reaches contacts it may not read
    assert ids_of(as_user("agent2").get(f"{P}/contacts", query_string={"q": "Dunn"})) == set()
    assert ids_of(as_user("agent1").get(f"{P}/contacts", query_string={"q": "Dunn"})) == {seed.p1}


def test_keyset_paging_follows_next_and_with_total(as_user, seed, session, world):
    admin = ContactRepository(session, world.principal("admin"))
    for i in range(7):
        admin.create({"first_name": f"Page{i}", "last_name": "Zed", "visibility": "global"})
    session.commit()
    api = as_user("admin")
    seen: list[int] = []
    params: dict[str, Any] = {"limit": 3, "with_total": "true"}
    pages = 0
    while True:
        body = api.get(f"{P}/contacts", query_string=params).get_json()
        assert body["total"] == 12
        assert len(body["items"]) <= 3
        seen += [c["id"] for c in body["items"]]
        pages += 1
        if not body.get("next"):
            break
        params["after"] = body["next"]
    assert pages == 4 and len(seen) == len(set(seen)) == 12
    assert "total" not in api.get(f"{P}/contacts").get_json() or api.get(f"{P}/contacts").get_json()["total"] is None
    assert as_user("agent1").get(f"{P}/contacts", query_string={"with_total": "1"}).get_json()["total"] == 10


@pytest.mark.parametrize(("params", "field"), [
    ({"limit": 201}, "limit"), ({"limit": 0}, "limit"), ({"status": "asleep"}, "status"),
    ({"letter": "AB"}, "letter"), ({"match": "fuzzy"}, "match"), ({"list_id": 0}, "list_id"),
    ({"after": ""}, "after"), ({"has_activities": "perhaps"}, "has_activities")])
def test_list_contacts_validation(as_user, seed, params, field):
    invalid(as_user("agent1").get(f"{P}/contacts", query_string=params), field)


def test_list_contacts_page_size_200_is_fine(as_user, seed):
    assert as_user("agent1").get(f"{P}/contacts", query_string={"limit": 200}).status_code == 200


# --------------------------------------------------------------------------------------------- contacts: writes

CREATE = [
    # role, visibility, department -> expected status
    ("admin", "global", None, 201), ("admin", "department", "d2", 201), ("admin", "private", None, 201),
    ("dadmin", "global", None, 403), ("dadmin", "department", "d1", 201), ("dadmin", "department", "d2", 403),
    ("dadmin", "private", None, 201),
    ("agent1", "global", None, 403), ("agent1", "department", "d1", 403), ("agent1", "private", None, 201),
    ("noimport", "private", None, 201), ("agent2", "department", "d2", 403),
]


@pytest.mark.parametrize(("role", "vis", "dept", "status"), CREATE)
def test_create_contact_by_role(as_user, world, role, vis, dept, status):
    body: dict[str, Any] = {"first_name": "New", "visibility": vis}
    if dept:
        body["department_id"] = getattr(world, dept)
    resp = as_user(role).post(f"{P}/contacts", json=body)
    if status == 201:
        assert resp.status_code == 201, resp.text
        got = resp.get_json()
        assert got["visibility"] == vis and resp.headers["Location"].endswith(f"/contacts/{got['id']}")
        assert resp.headers["ETag"]
    else:
        problem(resp, status)


@pytest.mark.parametrize(("body", "field"), [
    ({"status": "asleep", "first_name": "X"}, "status"), ({"first_name": 5}, "first_name"),
    ({"first_name": "X", "phones": [{"label": "home"}]}, "phones"), ({"first_name": "X", "visibility": "pub"},
                                                                    "visibility"),
    ({"first_name": "X", "visibility": "department"}, "department_id"), ({}, "first_name"),
    ({"first_name": "X", "account_id": 424242}, "account_id"), ({"first_name": "X", "owner_id": 999999,
                                                                "visibility": "private"}, "owner_id"),
])
def test_create_contact_validation(as_user, world, body, field):
    invalid(as_user("admin").post(f"{P}/contacts", json=body), field)


# which seeded contacts each role may edit/delete (readable but not editable -> 403, unreadable -> 404)
WRITERS = {"admin": {"g", "dep1", "dep2", "p1", "p2"}, "dadmin": {"dep1"}, "agent1": {"p1"},
           "agent2": {"p2"}, "noimport": set()}


def _write_expect(role: str, target: str) -> int:
    if target in WRITERS[role]:
        return 200
    return 403 if target in READERS[role] else 404


@pytest.mark.parametrize("role", list(WRITERS))
@pytest.mark.parametrize("target", TARGETS)
def test_patch_contact_by_role(as_user, seed, role, target):
    expect = _write_expect(role, target)
    resp = as_user(role).patch(f"{P}/contacts/{getattr(seed, target)}", json={"title": "CEO"})
    if expect == 200:
        assert resp.status_code == 200, resp.text
        assert resp.get_json()["title"] == "CEO"
    else:
        problem(resp, expect)


@pytest.mark.parametrize("role", list(WRITERS))
@pytest.mark.parametrize("target", TARGETS)
def test_delete_contact_by_role(as_user, seed, role, target):
    expect = _write_expect(role, target)
    api = as_user(role)
    resp = api.delete(f"{P}/contacts/{getattr(seed, target)}")
    if expect == 200:
        assert resp.status_code == 204, resp.text
        problem(api.get(f"{P}/contacts/{getattr(seed, target)}"), 404)
    else:
        problem(resp, expect)


@pytest.mark.parametrize(("body", "field"), [({"status": "asleep"}, "status"), ({"tags": "vip"}, "tags"),
                                             ({"visibility": "private"}, "visibility"),
                                             ({"emails": [{"address": "x"}]}, "emails")])
def test_patch_contact_validation(as_user, seed, body, field):
    invalid(as_user("admin").patch(f"{P}/contacts/{seed.g}", json=body), field)


def test_delete_missing_contact_is_404(as_user, seed):
    problem(as_user("admin").delete(f"{P}/contacts/987654"), 404)


# ------------------------------------------------------------------------------------------------------- bulk

def test_bulk_reports_denied_and_hides_unreadable_for_dadmin(as_user, seed):
    ids = [seed.g, seed.dep1, seed.dep2, seed.p1, seed.other]
    resp = as_user("dadmin").post(f"{P}/contacts/bulk", json={"ids": ids, "action": "add_tag", "tag": "hot"})
    assert resp.status_code == 200, resp.text
    body = resp.get_json()
    assert body["action"] == "add_tag" and body["done"] == 1
    assert body["denied"] == [seed.g]
    assert sorted(body["not_found"]) == sorted([seed.dep2, seed.p1, seed.other])
    tagged = as_user("admin").get(f"{P}/contacts", query_string={"tag": "hot"})
    assert ids_of(tagged) == {seed.dep1}


def test_bulk_delete_and_assign_to_queue(as_user, seed, world):
    admin = as_user("admin")
    resp = admin.post(f"{P}/contacts/bulk", json={"ids": [seed.p1, seed.p2], "action": "assign_to_queue",
                                                  "department_id": world.d2})
    assert resp.get_json()["done"] == 2
    assert admin.get(f"{P}/contacts/{seed.p1}").get_json()["department_id"] == world.d2
    resp = as_user("agent1").post(f"{P}/contacts/bulk", json={"ids": [seed.g, seed.dep1], "action": "delete"})
    assert resp.get_json() == {"action": "delete", "done": 0, "denied": sorted([seed.g, seed.dep1]),
                               "not_found": []}
    resp = admin.post(f"{P}/contacts/bulk", json={"ids": [seed.g], "action": "delete"})
    assert resp.get_json()["done"] == 1
    problem(admin.get(f"{P}/contacts/{seed.g}"), 404)


@pytest.mark.parametrize(("body", "field"), [
    ({"ids": [], "action": "delete"}, "ids"), ({"ids": [1], "action": "zap"}, "action"),
    ({"action": "delete"}, "ids"), ({"ids": [1], "action": "add_tag"}, "tag"),
    ({"ids": [1], "action": "add_to_list"}, "list_id"), ({"ids": [1], "action": "assign_to_queue"}, "department_id"),
    ({"ids": [0], "action": "delete"}, "ids")])
def test_bulk_validation(as_user, seed, body, field):
    invalid(as_user("admin").post(f"{P}/contacts/bulk", json=body), field)


# ---------------------------------------------------------------------------------------------------- convert

CONVERT = [
    ("admin", "p1", {"visibility": "global"}, 200),
    ("admin", "g", {"visibility": "department", "department_id": "d2"}, 200),
    ("dadmin", "dep1", {"visibility": "private"}, 200),
    ("dadmin", "g", {"visibility": "department", "department_id": "d1"}, 403),
    ("dadmin", "dep2", {"visibility": "global"}, 404),
    ("agent1", "p1", {"visibility": "global"}, 403),
    ("agent1", "dep1", {"visibility": "private"}, 403),
    ("agent1", "p2", {"visibility": "private"}, 404),
    ("other_admin", "g", {"visibility": "private"}, 404),
]


@pytest.mark.parametrize(("role", "target", "body", "status"), CONVERT)
def test_convert_by_role(as_user, seed, world, role, target, body, status):
    body = {**body, **({"department_id": getattr(world, body["department_id"])} if "department_id" in body else {})}
    resp = as_user(role).post(f"{P}/contacts/{getattr(seed, target)}/convert", json=body)
    if status == 200:
        assert resp.status_code == 200, resp.text
        assert resp.get_json()["visibility"] == body["visibility"]
    else:
        problem(resp, status)


@pytest.mark.parametrize(("body", "field"), [({"visibility": "public"}, "visibility"), ({}, "visibility"),
                                             ({"visibility": "department"}, "department_id")])
def test_convert_validation(as_user, seed, body, field):
    invalid(as_user("admin").post(f"{P}/contacts/{seed.g}/convert", json=body), field)


# ------------------------------------------------------------------------------------------ timeline, activities

def test_timeline_is_chronological_and_desc_reverses(as_user, seed):
    api = as_user("admin")
    for day in ("2024-03-02", "2024-01-05", "2024-02-10"):
        resp = api.post(f"{P}/contacts/{seed.g}/activities",
                        json={"kind": "note", "summary": day, "occurred_at": f"{day}T10:00:00Z"})
        assert resp.status_code == 201, resp.text
    asc = [a["summary"] for a in api.get(f"{P}/contacts/{seed.g}/timeline").get_json()]
    assert asc == ["2024-01-05", "2024-02-10", "2024-03-02"]
    desc = api.get(f"{P}/contacts/{seed.g}/timeline", query_string={"order": "desc", "limit": 2}).get_json()
    assert [a["summary"] for a in desc] == ["2024-03-02", "2024-02-10"]


def test_timeline_shows_agents_only_their_own_activities(as_user, seed):
    as_user("agent2").post(f"{P}/contacts/{seed.g}/activities", json={"kind": "call", "summary": "by agent2"})
    as_user("agent1").post(f"{P}/contacts/{seed.g}/activities", json={"kind": "call", "summary": "by agent1"})
    mine = [a["summary"] for a in as_user("agent1").get(f"{P}/contacts/{seed.g}/timeline").get_json()]
    assert mine == ["by agent1"]
    assert len(as_user("admin").get(f"{P}/contacts/{seed.g}/timeline").get_json()) == 2


@pytest.mark.parametrize(("params", "field"), [({"order": "sideways"}, "order"), ({"limit": 0}, "limit"),
                                               ({"limit": 1001}, "limit")])
def test_timeline_validation(as_user, seed, params, field):
    invalid(as_user("admin").get(f"{P}/contacts/{seed.g}/timeline", query_string=params), field)


@pytest.mark.parametrize(("role", "target", "status"), [
    ("agent1", "p1", 201), ("agent1", "g", 201), ("agent1", "p2", 404), ("dadmin", "dep2", 404),
    ("other_admin", "g", 404), ("admin", "p2", 201)])
def test_add_activity_by_role(as_user, seed, role, target, status):
    resp = as_user(role).post(f"{P}/contacts/{getattr(seed, target)}/activities",
                              json={"kind": "call", "direction": "inbound", "duration_seconds": 30})
    if status == 201:
        assert resp.status_code == 201, resp.text
        assert resp.get_json()["contact_id"] == getattr(seed, target)
    else:
        problem(resp, status)


@pytest.mark.parametrize(("body", "field"), [
    ({"kind": "telegram"}, "kind"), ({}, "kind"), ({"kind": "call", "direction": "sideways"}, "direction"),
    ({"kind": "call", "duration_seconds": -1}, "duration_seconds"), ({"kind": "call", "occurred_at": "soon"},
                                                                    "occurred_at"),
    ({"kind": "call", "department_id": 987654}, "department_id")])
def test_add_activity_validation(as_user, seed, body, field):
    invalid(as_user("admin").post(f"{P}/contacts/{seed.g}/activities", json=body), field)


def test_add_activity_department_must_be_the_agents(as_user, seed, world):
    invalid(as_user("agent1").post(f"{P}/contacts/{seed.g}/activities",
                                   json={"kind": "call", "department_id": world.d2}), "department_id")


def test_post_activity_by_caller_number(as_user, seed):
    resp = as_user("admin").post(f"{P}/activities", json={"number": "(212) 555-0100", "kind": "call",
                                                          "direction": "inbound"})
    assert resp.status_code == 201, resp.text
    assert resp.get_json()["contact_id"] == seed.g
    resp = as_user("agent1").post(f"{P}/activities", json={"contact_id": seed.p1, "kind": "chat"})
    assert resp.status_code == 201 and resp.get_json()["contact_id"] == seed.p1


def test_post_activity_by_number_respects_permissions(as_user, seed):
    # agent2 may not read agent1's private contact: no caller-ID match for it, so nothing is logged
    invalid(as_user("agent2").post(f"{P}/activities", json={"number": "+12125550103", "kind": "call"}), "number")
    problem(as_user("agent2").post(f"{P}/activities", json={"contact_id": seed.p1, "kind": "call"}), 404)
    assert as_user("agent1").post(f"{P}/activities", json={"number": "+12125550103", "kind": "call"}
                                  ).status_code == 201


@pytest.mark.parametrize(("body", "field"), [
    ({"kind": "call"}, "contact_id"), ({"kind": "call", "number": "+19995550000"}, "number"),
    ({"kind": "fax", "contact_id": 1}, "kind"), ({"kind": "call", "contact_id": 0}, "contact_id"),
    ({"kind": "call", "number": ""}, "number")])
def test_post_activity_validation(as_user, seed, body, field):
    invalid(as_user("admin").post(f"{P}/activities", json=body), field)


# ----------------------------------------------------------------------------------------------------- lookup

def test_lookup_returns_name(as_user, seed):
    body = as_user("admin").get(f"{P}/lookup", query_string={"number": "(212) 555-0100"}).get_json()
    assert [c["id"] for c in body["contacts"]] == [seed.g]
    assert body["match"] == "e164" and body["name"].startswith("Alice Adams")


@pytest.mark.parametrize(("role", "target", "found"), [
    ("agent1", "p1", True), ("agent2", "p1", False), ("dadmin", "dep1", True), ("dadmin", "dep2", False),
    ("agent2", "dep2", True), ("noimport", "p2", False)])
def test_lookup_respects_permissions(as_user, seed, role, target, found):
    number = {"dep1": "+12125550101", "dep2": "+12125550102", "p1": "+12125550103", "p2": "+12125550104"}[target]
    body = as_user(role).get(f"{P}/lookup", query_string={"number": number}).get_json()
    if found:
        assert [c["id"] for c in body["contacts"]] == [getattr(seed, target)] and body["name"]
    else:
        assert body["contacts"] == [] and body["name"] is None


def test_lookup_is_per_tenant(as_user, seed):
    # both tenants have a contact with this number; each sees only its own
    assert [c["id"] for c in as_user("other_admin").get(f"{P}/lookup", query_string={
        "number": "+12125550100"}).get_json()["contacts"]] == [seed.other]


@pytest.mark.parametrize(("params", "field"), [({}, "number"), ({"number": ""}, "number"),
                                               ({"number": "1" * 65}, "number")])
def test_lookup_validation(as_user, seed, params, field):
    invalid(as_user("agent1").get(f"{P}/lookup", query_string=params), field)


# ------------------------------------------------------------------------------------------------------ lists

@pytest.mark.parametrize(("role", "count"), [("admin", 5), ("dadmin", 2), ("agent1", 3), ("agent2", 3),
                                             ("noimport", 2)])
def test_list_live_counts_differ_by_role(as_user, seed, role, count):
    lists = {x["name"]: x for x in as_user(role).get(f"{P}/lists").get_json()}
    assert lists["VIPs"]["count"] == count and lists["Everyone"]["count"] == count
    assert as_user(role).get(f"{P}/lists/{seed.dyn}").get_json()["count"] == count


def test_dynamic_list_members_follow_criteria(as_user, seed, session, world):
    api = as_user("agent1")
    assert ids_of(api.get(f"{P}/lists/{seed.dyn}/members")) == {seed.g, seed.dep1, seed.p1}
    # untagging a contact drops it from the dynamic list at once
    as_user("admin").patch(f"{P}/contacts/{seed.dep1}", json={"tags": []})
    body = api.get(f"{P}/lists/{seed.dyn}/members", query_string={"with_total": "true", "limit": 1}).get_json()
    assert body["total"] == 2 and len(body["items"]) == 1 and body["next"]
    assert ids_of(api.get(f"{P}/lists/{seed.dyn}/members", query_string={"letter": "D"})) == {seed.p1}
    invalid(as_user("admin").post(f"{P}/lists/{seed.dyn}/members", json={"contact_ids": [seed.g]}), "list_id")


def test_static_list_members_add_remove(as_user, seed):
    api = as_user("admin")
    resp = api.post(f"{P}/lists", json={"name": "Few", "kind": "static"})
    assert resp.status_code == 201, resp.text
    lid = resp.get_json()["id"]
    assert api.post(f"{P}/lists/{lid}/members", json={"contact_ids": [seed.g, seed.p1]}).get_json() == {"count": 2}
    assert ids_of(api.get(f"{P}/lists/{lid}/members")) == {seed.g, seed.p1}
    assert ids_of(as_user("agent2").get(f"{P}/lists/{lid}/members")) == {seed.g}
    assert api.delete(f"{P}/lists/{lid}/members", json={"contact_ids": [seed.p1]}).get_json() == {"count": 1}
    assert ids_of(api.get(f"{P}/lists/{lid}/members")) == {seed.g}
    assert api.get(f"{P}/contacts/{seed.p1}").status_code == 200


def test_list_crud_as_admin(as_user, seed):
    api = as_user("admin")
    lid = api.post(f"{P}/lists", json={"name": "Leads", "kind": "dynamic", "criteria": {"status": "active"}}
                   ).get_json()["id"]
    resp = api.patch(f"{P}/lists/{lid}", json={"name": "Active", "description": "all active"})
    assert resp.status_code == 200 and resp.get_json()["name"] == "Active"
    assert resp.get_json()["count"] == 5
    assert api.delete(f"{P}/lists/{lid}").status_code == 204
    problem(api.get(f"{P}/lists/{lid}"), 404)


@pytest.mark.parametrize(("role", "body", "status"), [
    ("agent1", {"name": "Mine"}, 201), ("agent1", {"name": "G", "visibility": "global"}, 403),
    ("dadmin", {"name": "D", "visibility": "department", "department_id": "d1"}, 201),
    ("dadmin", {"name": "D", "visibility": "department", "department_id": "d2"}, 403),
    ("agent2", {"name": "D", "visibility": "department", "department_id": "d2"}, 403)])
def test_create_list_by_role(as_user, world, seed, role, body, status):
    if "department_id" in body:
        body = {**body, "department_id": getattr(world, body["department_id"])}
    resp = as_user(role).post(f"{P}/lists", json=body)
    if status == 201:
        assert resp.status_code == 201, resp.text
    else:
        problem(resp, status)


@pytest.mark.parametrize("role", ["dadmin", "agent1", "noimport"])
def test_global_list_is_read_only_for_non_admins(as_user, seed, role):
    api = as_user(role)
    assert api.get(f"{P}/lists/{seed.static}").status_code == 200
    problem(api.patch(f"{P}/lists/{seed.static}", json={"name": "Mine now"}), 403)
    problem(api.delete(f"{P}/lists/{seed.static}"), 403)
    problem(api.post(f"{P}/lists/{seed.static}/members", json={"contact_ids": [seed.g]}), 403)
    problem(api.delete(f"{P}/lists/{seed.static}/members", json={"contact_ids": [seed.g]}), 403)


def test_private_list_is_404_for_others(as_user, seed):
    lid = as_user("agent1").post(f"{P}/lists", json={"name": "Secret"}).get_json()["id"]
    for role in ("agent2", "dadmin", "other_admin"):
        api = as_user(role)
        assert "Secret" not in {x["name"] for x in api.get(f"{P}/lists").get_json()}
        for resp in (api.get(f"{P}/lists/{lid}"), api.get(f"{P}/lists/{lid}/members"),
                     api.patch(f"{P}/lists/{lid}", json={"name": "x"}), api.delete(f"{P}/lists/{lid}"),
                     api.post(f"{P}/lists/{lid}/members", json={"contact_ids": [seed.g]})):
            problem(resp, 404)
    assert as_user("admin").get(f"{P}/lists/{lid}").status_code == 200


@pytest.mark.parametrize(("body", "field"), [
    ({"name": ""}, "name"), ({}, "name"), ({"name": "X", "kind": "smart"}, "kind"),
    ({"name": "X", "criteria": {"planet": "mars"}}, "criteria"), ({"name": "VIPs"}, "name"),
    ({"name": "X", "visibility": "department"}, "department_id")])
def test_create_list_validation(as_user, seed, body, field):
    invalid(as_user("admin").post(f"{P}/lists", json=body), field)


@pytest.mark.parametrize(("method", "suffix", "body", "field"), [
    ("patch", "", {"name": ""}, "name"), ("patch", "", {"name": "VIPs"}, "name"),
    ("post", "/members", {"contact_ids": []}, "contact_ids"), ("delete", "/members", {}, "contact_ids"),
    ("get", "/members", None, "limit")])
def test_list_write_validation(as_user, seed, method, suffix, body, field):
    api = as_user("admin")
    url = f"{P}/lists/{seed.static}{suffix}"
    resp = api.get(url, query_string={"limit": 500}) if method == "get" else getattr(api, method)(url, json=body)
    invalid(resp, field)


# ------------------------------------------------------------------------------------- tags, accounts, fields

def _tag_id(api: Any, name: str) -> int:
    return next(t["id"] for t in api.get(f"{P}/tags").get_json() if t["name"] == name)


@pytest.mark.parametrize(("role", "count"), [("admin", 5), ("agent1", 3), ("dadmin", 2)])
def test_tags_counts_by_role(as_user, seed, role, count):
    tags = {t["name"]: t["count"] for t in as_user(role).get(f"{P}/tags").get_json()}
    assert tags == {"vip": count}


@pytest.mark.parametrize(("role", "status"), [("admin", 200), ("dadmin", 200), ("agent1", 403), ("noimport", 403),
                                              ("other_admin", 404)])
def test_tag_writes_by_role(as_user, seed, role, status):
    tid = _tag_id(as_user("admin"), "vip")
    api = as_user(role)
    resp = api.patch(f"{P}/tags/{tid}", json={"name": "gold"})
    if status == 200:
        assert resp.status_code == 200 and resp.get_json()["name"] == "gold"
        assert api.delete(f"{P}/tags/{tid}").status_code == 204
        assert as_user("admin").get(f"{P}/tags").get_json() == []
    else:
        problem(resp, status)
        problem(api.delete(f"{P}/tags/{tid}"), status)


def test_tag_validation(as_user, seed):
    tid = _tag_id(as_user("admin"), "vip")
    invalid(as_user("admin").patch(f"{P}/tags/{tid}", json={"name": ""}), "name")
    invalid(as_user("admin").patch(f"{P}/tags/{tid}", json={}), "name")
    problem(as_user("admin").patch(f"{P}/tags/987654", json={"name": "x"}), 404)


@pytest.mark.parametrize(("role", "status"), [("admin", 201), ("dadmin", 201), ("agent1", 403), ("agent2", 403)])
def test_account_writes_by_role(as_user, seed, role, status):
    api = as_user(role)
    resp = api.post(f"{P}/accounts", json={"name": f"Acme {role}", "website": "https://acme.test"})
    if status == 201:
        assert resp.status_code == 201, resp.text
        aid = resp.get_json()["id"]
        assert aid in {a["id"] for a in api.get(f"{P}/accounts").get_json()}
        assert api.delete(f"{P}/accounts/{aid}").status_code == 204
    else:
        problem(resp, status)
        aid = as_user("admin").post(f"{P}/accounts", json={"name": "Theirs"}).get_json()["id"]
        assert aid in {a["id"] for a in api.get(f"{P}/accounts").get_json()}
        problem(api.delete(f"{P}/accounts/{aid}"), status)


def test_accounts_are_per_tenant_and_validated(as_user, seed):
    aid = as_user("admin").post(f"{P}/accounts", json={"name": "Acme"}).get_json()["id"]
    assert as_user("other_admin").get(f"{P}/accounts").get_json() == []
    problem(as_user("other_admin").delete(f"{P}/accounts/{aid}"), 404)
    invalid(as_user("admin").post(f"{P}/accounts", json={}), "name")
    invalid(as_user("admin").post(f"{P}/accounts", json={"name": "Acme"}), "name")
    invalid(as_user("admin").post(f"{P}/accounts", json={"name": "x" * 201}), "name")


@pytest.mark.parametrize(("role", "status"), [("admin", 201), ("dadmin", 403), ("agent1", 403)])
def test_custom_field_writes_admin_only(as_user, seed, role, status):
    api = as_user(role)
    resp = api.post(f"{P}/custom-fields", json={"name": "shoe_size", "field_type": "number", "label": "Shoe"})
    if status == 201:
        assert resp.status_code == 201, resp.text
        fid = resp.get_json()["id"]
        assert [f["name"] for f in as_user("agent1").get(f"{P}/custom-fields").get_json()] == ["shoe_size"]
        assert api.delete(f"{P}/custom-fields/{fid}").status_code == 204
        assert api.get(f"{P}/custom-fields").get_json() == []
    else:
        problem(resp, status)
        fid = as_user("admin").post(f"{P}/custom-fields", json={"name": "x1"}).get_json()["id"]
        problem(api.delete(f"{P}/custom-fields/{fid}"), status)


@pytest.mark.parametrize(("body", "field"), [
    ({"name": "x", "field_type": "blob"}, "field_type"), ({}, "name"), ({"name": "1bad"}, "name"),
    ({"name": "x", "entity": "planet"}, "entity"), ({"name": "x", "sort_order": 10**6}, "sort_order")])
def test_custom_field_validation(as_user, seed, body, field):
    invalid(as_user("admin").post(f"{P}/custom-fields", json=body), field)


def test_custom_field_delete_missing_or_other_tenant(as_user, seed):
    fid = as_user("admin").post(f"{P}/custom-fields", json={"name": "x1"}).get_json()["id"]
    problem(as_user("other_admin").delete(f"{P}/custom-fields/{fid}"), 404)
    problem(as_user("admin").delete(f"{P}/custom-fields/987654"), 404)


# ------------------------------------------------------------------------------------------------ directory

NON_ADMINS = ["dadmin", "agent1", "agent2", "noimport"]


def test_departments_and_users_readable_by_everyone(as_user, seed, world):
    for role in ["admin", *NON_ADMINS]:
        depts = {d["name"]: d for d in as_user(role).get(f"{P}/departments").get_json()}
        assert set(depts) == {"Sales", "Support"}
        assert {"user_id": world.users["dadmin"], "is_admin": True} in depts["Sales"]["members"]
        assert {u["username"] for u in as_user(role).get(f"{P}/users").get_json()} == {
            "admin", "dadmin", "agent1", "agent2", "noimport"}
    assert as_user("other_admin").get(f"{P}/departments").get_json() == []


def test_department_admin_writes(as_user, seed, world):
    api = as_user("admin")
    resp = api.post(f"{P}/departments", json={"name": "Billing"})
    assert resp.status_code == 201, resp.text
    did = resp.get_json()["id"]
    assert api.put(f"{P}/departments/{did}/members/{world.users['agent2']}", json={"is_admin": True}
                   ).status_code == 204
    members = {d["id"]: d["members"] for d in api.get(f"{P}/departments").get_json()}[did]
    assert members == [{"user_id": world.users["agent2"], "is_admin": True}]
    assert api.delete(f"{P}/departments/{did}/members/{world.users['agent2']}").status_code == 204
    assert api.delete(f"{P}/departments/{did}").status_code == 204
    # a department with contacts cannot be deleted
    invalid(api.delete(f"{P}/departments/{world.d1}"), "department_id")


@pytest.mark.parametrize("role", NON_ADMINS)
def test_department_writes_admin_only(as_user, seed, world, role):
    api = as_user(role)
    problem(api.post(f"{P}/departments", json={"name": "Mine"}), 403)
    problem(api.delete(f"{P}/departments/{world.d2}"), 403)
    # even a department admin may not change its own department's membership
    problem(api.put(f"{P}/departments/{world.d1}/members/{world.users['agent2']}", json={}), 403)
    problem(api.delete(f"{P}/departments/{world.d1}/members/{world.users['agent1']}"), 403)


def test_department_writes_other_tenant_404(as_user, seed, world):
    api = as_user("other_admin")
    problem(api.delete(f"{P}/departments/{world.d2}"), 404)
    problem(api.put(f"{P}/departments/{world.d1}/members/{world.users['other_admin']}", json={}), 404)
    problem(as_user("admin").put(f"{P}/departments/{world.d1}/members/{world.users['other_admin']}", json={}),
            404)


@pytest.mark.parametrize(("method", "body", "field"), [
    ("post", {}, "name"), ("post", {"name": ""}, "name"), ("post", {"name": "Sales"}, "name"),
    ("put", {"is_admin": "maybe"}, "is_admin")])
def test_department_validation(as_user, world, method, body, field):
    api = as_user("admin")
    if method == "post":
        invalid(api.post(f"{P}/departments", json=body), field)
    else:
        invalid(api.put(f"{P}/departments/{world.d1}/members/{world.users['agent2']}", json=body), field)


def test_user_admin_writes(as_user, seed, world):
    api = as_user("admin")
    resp = api.post(f"{P}/users", json={"username": "agent3", "password": "password1", "extension": "203",
                                        "can_import": False})
    assert resp.status_code == 201, resp.text
    uid = resp.get_json()["id"]
    assert "password" not in resp.get_json()
    resp = api.patch(f"{P}/users/{uid}", json={"display_name": "Agent Three", "is_active": False})
    assert resp.status_code == 200 and resp.get_json()["is_active"] is False
    problem(as_user("other_admin").patch(f"{P}/users/{uid}", json={"display_name": "x"}), 404)
    problem(api.patch(f"{P}/users/987654", json={"display_name": "x"}), 404)


@pytest.mark.parametrize("role", NON_ADMINS)
def test_user_writes_admin_only(as_user, world, role):
    api = as_user(role)
    problem(api.post(f"{P}/users", json={"username": "sneaky", "password": "password1", "is_admin": True}), 403)
    problem(api.patch(f"{P}/users/{world.users[role]}", json={"is_admin": True}), 403)


@pytest.mark.parametrize(("method", "body", "field"), [
    ("post", {"username": "x", "password": "password1"}, "username"), ("post", {}, "username"),
    ("post", {"username": "newbie", "password": "short"}, "password"),
    ("post", {"username": "agent1", "password": "password1"}, "username"),
    ("patch", {"password": "short"}, "password"), ("patch", {"is_active": "sometimes"}, "is_active")])
def test_user_validation(as_user, world, method, body, field):
    api = as_user("admin")
    url = f"{P}/users" if method == "post" else f"{P}/users/{world.users['agent1']}"
    invalid(getattr(api, method)(url, json=body), field)


# ----------------------------------------------------------------------------------------------- audit, tokens

def test_audit_admin_only(as_user, seed):
    api = as_user("admin")
    api.post(f"{P}/accounts", json={"name": "Audited"})
    events = api.get(f"{P}/audit").get_json()
    assert events and events[0]["action"] == "account.create"
    assert [e["id"] for e in events] == sorted((e["id"] for e in events), reverse=True)
    only = api.get(f"{P}/audit", query_string={"entity": "list", "limit": 2}).get_json()
    assert len(only) == 2 and {e["entity"] for e in only} == {"list"}
    older = api.get(f"{P}/audit", query_string={"before_id": events[0]["id"]}).get_json()
    assert older and all(e["id"] < events[0]["id"] for e in older)
    theirs = as_user("other_admin").get(f"{P}/audit").get_json()
    assert theirs and "account.create" not in {e["action"] for e in theirs}
    for role in NON_ADMINS:
        problem(as_user(role).get(f"{P}/audit"), 403)


@pytest.mark.parametrize(("params", "field"), [({"limit": 0}, "limit"), ({"limit": 501}, "limit"),
                                               ({"before_id": 0}, "before_id"), ({"entity": ""}, "entity")])
def test_audit_validation(as_user, params, field):
    invalid(as_user("admin").get(f"{P}/audit", query_string=params), field)


def test_tokens_list_create_revoke(as_user, world):
    api = as_user("agent1")
    resp = api.post(f"{P}/tokens", json={"name": "pbx", "scopes": ["read"]})
    assert resp.status_code == 201, resp.text
    tid = resp.get_json()["id"]
    assert resp.get_json()["token"]
    assert tid in {t["id"] for t in api.get(f"{P}/tokens").get_json()}
    problem(as_user("agent2").delete(f"{P}/tokens/{tid}"), 404)
    problem(api.post(f"{P}/tokens", json={"name": "x", "scopes": ["read"], "user_id": world.users["agent2"]}), 403)
    assert api.delete(f"{P}/tokens/{tid}").status_code == 204


@pytest.mark.parametrize(("body", "field"), [({"name": "t", "scopes": ["root"]}, "scopes"),
                                             ({"name": "t", "scopes": []}, "scopes"), ({"scopes": ["read"]}, "name"),
                                             ({"name": "t", "scopes": ["read"], "expires_days": 0}, "expires_days")])
def test_token_validation(as_user, world, body, field):
    invalid(as_user("admin").post(f"{P}/tokens", json=body), field)


# ------------------------------------------------------------------------------------------------ me, panels

@pytest.mark.parametrize(("role", "expect_role", "can_import"), [
    ("admin", "admin", True), ("dadmin", "department_admin", True), ("agent1", "agent", True),
    ("noimport", "agent", False)])
def test_me_permissions(as_user, world, role, expect_role, can_import):
    me = as_user(role).get(f"{P}/me").get_json()
    assert me["username"] == role and me["role"] == expect_role and me["auth"] == "token"
    assert me["permissions"]["contacts:import"] is can_import
    assert me["permissions"]["audit:read"] is (role == "admin")
    assert me["permissions"]["create:global"] is (role == "admin")


@pytest.mark.parametrize("role", ["admin", "agent1", "noimport"])
def test_panels_is_a_list(as_user, world, role):
    resp = as_user(role).get(f"{P}/panels")
    assert resp.status_code == 200, resp.text
    panels = resp.get_json()
    assert isinstance(panels, list)
    assert all({"name", "slot", "tag"} <= set(p) for p in panels)


def test_writes_commit(as_user, seed, app):
    as_user("admin").patch(f"{P}/contacts/{seed.g}", json={"title": "Boss"})
    db.session.rollback()
    assert as_user("agent1").get(f"{P}/contacts/{seed.g}").get_json()["title"] == "Boss"


@pytest.mark.parametrize("method", ["get", "patch", "delete"])
def test_id_beyond_64_bits_is_a_plain_404(as_user, seed, method):
    problem(getattr(as_user("admin"), method)(f"{P}/contacts/99999999999999999999", json={}), 404)


def test_bulk_id_beyond_64_bits_is_invalid(as_user, seed):
    invalid(as_user("admin").post(f"{P}/contacts/bulk", json={"ids": [2**63], "action": "delete"}), "ids")
