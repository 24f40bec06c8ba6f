"""Export: PBX CSV and vCard 3.0 of what the principal may read, formula cells neutralised, round trip."""

from __future__ import annotations

import vobject
from impapi_support import PBX, upload


def _seed(as_user, world):
    admin = as_user("admin")
    admin.post("/api/v1/contacts", json={"first_name": "=cmd|' /C calc'!A0", "last_name": "Evil",
                                         "emails": [{"address": "evil@x.com"}]})
    admin.post("/api/v1/contacts", json={"first_name": "Dora", "last_name": "Dept", "visibility": "department",
                                         "department_id": world.d2})
    as_user("agent1").post("/api/v1/contacts", json={"first_name": "Pia", "last_name": "Private",
                                                     "visibility": "private"})
    assert upload(admin, "/api/v1/imports", PBX.read_bytes()).status_code == 201


def test_export_csv_only_readable_and_neutralised(app, world, as_user):
    _seed(as_user, world)
    admin = as_user("admin").get("/api/v1/contacts/export", query_string={"format": "csv"})
    assert admin.status_code == 200 and admin.mimetype == "text/csv"
    assert "attachment" in admin.headers["Content-Disposition"]
    text = admin.text
    assert text.splitlines()[0].startswith("name,last_name,company")
    assert "'=cmd" in text and ",=cmd" not in text and "\n=cmd" not in text
    assert "Dora" in text and "Pia" in text and "Noah" in text
    agent = as_user("agent1").get("/api/v1/contacts/export").text
    assert "Pia" in agent and "Noah" in agent and "Dora" not in agent  # D2 is not agent1's department
    assert "Pia" not in as_user("agent2").get("/api/v1/contacts/export").text
    filtered = as_user("admin").get("/api/v1/contacts/export", query_string={"q": "Noah"}).text
    assert "Noah" in filtered and "Dora" not in filtered
    assert as_user("admin").get("/api/v1/contacts/export", query_string={"format": "xls"}).status_code == 422


def test_export_vcard(app, world, as_user):
    _seed(as_user, world)
    resp = as_user("agent2").get("/api/v1/contacts/export", query_string={"format": "vcard"})
    assert resp.status_code == 200 and resp.mimetype == "text/vcard"
    cards = list(vobject.readComponents(resp.text))
    names = {c.fn.value for c in cards}
    assert "Dora Dept" in names and "Pia Private" not in names and len(cards) == 7
    assert all(c.version.value == "3.0" for c in cards)


def _snapshot(api):
    items = api.get("/api/v1/contacts", query_string={"limit": 200}).get_json()["items"]
    return sorted((c["first_name"], c["last_name"], c["company"], c["contact_type"],
                   tuple(sorted(p["e164"] or p["number"] for p in c["phones"])),
                   tuple(sorted(e["address"] for e in c["emails"])), c["notes"]) for c in items)


def test_round_trip_export_import(app, world, as_user):
    admin, other = as_user("admin"), as_user("other_admin")
    assert upload(admin, "/api/v1/imports", PBX.read_bytes()).status_code == 201
    admin.post("/api/v1/contacts", json={"first_name": "Multi", "last_name": "Phone", "company": "=SUM(A1)",
                                         "phones": [{"number": "+14085550199", "label": "work"},
                                                    {"number": "+14085550198", "label": "mobile"}],
                                         "emails": [{"address": "m1@x.com"}, {"address": "m2@x.com"}]})
    exported = admin.get("/api/v1/contacts/export").data
    resp = upload(other, "/api/v1/imports", exported, "export.csv", match_keys="email,phone")
    assert resp.status_code == 201, resp.text
    assert resp.get_json()["errors"] == 0 and resp.get_json()["imported"] == 6
    assert _snapshot(other) == _snapshot(admin)
    vcf = admin.get("/api/v1/contacts/export", query_string={"format": "vcard"}).data
    again = upload(other, "/api/v1/imports", vcf, "export.vcf", match_keys="email,phone")
    assert again.status_code == 201, again.text
    assert again.get_json()["updated"] == 6 and again.get_json()["imported"] == 0
