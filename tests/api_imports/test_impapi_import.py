"""Import API: preview, inline and multipart imports, options, permissions and bad input."""

from __future__ import annotations

import json

from impapi_support import PBX, VCARDS, count_contacts, upload

INLINE = "Vorname;Nachname;Mail\nAnn;Able;ann@x.com\nBob;Baker;bob@x.com\n"
MAPPING = json.dumps({"Vorname": "first_name", "Nachname": "last_name", "Mail": "email"})


def test_preview_writes_nothing(app, world, as_user):
    admin = as_user("admin")
    resp = upload(admin, "/api/v1/imports/preview", PBX.read_bytes(), "pbx.csv")
    assert resp.status_code == 200, resp.text
    body = resp.get_json()
    assert body["format"] == "pbx_csv" and body["total_rows"] == 5 and body["background"] is False
    assert body["header"][0] == "name" and len(body["rows"]) == 5 and body["mapping_problem"] is None
    inline = admin.post("/api/v1/imports/preview", json={"csv": INLINE, "mapping_json": MAPPING, "rows": 1})
    assert inline.status_code == 200, inline.text
    assert inline.get_json()["targets"] == ["first_name", "last_name", "email"]
    assert len(inline.get_json()["rows"]) == 1
    assert count_contacts(app, world.tenant) == 0


def test_inline_import_with_mapping_json_then_reimport_updates(app, world, as_user):
    admin = as_user("admin")
    resp = admin.post("/api/v1/imports", json={"csv": INLINE, "mapping_json": MAPPING})
    assert resp.status_code == 201, resp.text
    body = resp.get_json()
    assert (body["rows"], body["imported"], body["updated"], body["errors"]) == (2, 2, 0, 0)
    assert body["status"] == "done" and body["errors_url"] is None
    assert resp.headers["Location"] == f"/api/v1/imports/{body['id']}"
    again = admin.post("/api/v1/imports", json={"csv": INLINE.replace("Baker", "Brown"), "mapping_json": MAPPING})
    assert again.get_json()["updated"] == 2 and again.get_json()["imported"] == 0
    skip = admin.post("/api/v1/imports", json={"csv": INLINE, "mapping_json": MAPPING, "on_duplicate": "skip"})
    assert skip.get_json()["skipped"] == 2
    assert count_contacts(app, world.tenant) == 2
    names = {c["last_name"] for c in admin.get("/api/v1/contacts").get_json()["items"]}
    assert names == {"Able", "Brown"}


def test_multipart_pbx_and_vcard(app, world, as_user):
    admin = as_user("admin")
    resp = upload(admin, "/api/v1/imports", PBX.read_bytes(), "pbx_example.csv", match_keys="email,phone")
    assert resp.status_code == 201, resp.text
    body = resp.get_json()
    assert body["format"] == "pbx_csv" and body["imported"] == 5 and body["filename"] == "pbx_example.csv"
    again = upload(admin, "/api/v1/imports", PBX.read_bytes(), "pbx_example.csv")
    assert again.get_json()["updated"] == 5
    card = upload(admin, "/api/v1/imports", (VCARDS / "John_Doe_IPHONE.vcf").read_bytes(), "john.vcf")
    assert card.status_code == 201, card.text
    assert card.get_json()["rows"] == 1 and card.get_json()["imported"] == 1
    assert count_contacts(app, world.tenant) == 6
    got = admin.get("/api/v1/contacts", query_string={"q": "John"}).get_json()["items"]
    assert any(c["last_name"] == "Doe" for c in got)


def test_raw_csv_body_and_counts_add_up(app, world, as_user):
    admin = as_user("admin")
    data = "first_name,last_name,email,status\nAnn,Able,ann@x.com,active\nBob,Bad,bob@x.com,bogus\n,,,\n"
    resp = admin.post("/api/v1/imports", data=data, content_type="text/csv")
    assert resp.status_code == 201, resp.text
    b = resp.get_json()
    assert b["imported"] + b["updated"] + b["skipped"] + b["errors"] == b["rows"]
    assert b["errors"] >= 1 and b["errors_url"] and any("Row 3" in m for m in b["error_messages"])


def test_dry_run_writes_nothing(app, world, as_user):
    admin = as_user("admin")
    resp = upload(admin, "/api/v1/imports", PBX.read_bytes(), dry_run="true", list_mode="new", list_name="Dry")
    assert resp.status_code == 200, resp.text
    body = resp.get_json()
    assert body["dry_run"] is True and body["imported"] == 5
    assert count_contacts(app, world.tenant) == 0
    assert not [x for x in admin.get("/api/v1/lists").get_json() if x["name"] == "Dry"]


def test_list_modes_and_scope(app, world, as_user):
    admin = as_user("admin")
    resp = upload(admin, "/api/v1/imports", PBX.read_bytes(), list_mode="new", list_name="Imported")
    assert resp.status_code == 201, resp.text
    list_id = resp.get_json()["list_id"]
    assert list_id
    members = admin.get("/api/v1/contacts", query_string={"list_id": list_id}).get_json()["items"]
    assert len(members) == 5
    agent = as_user("agent1")
    own = agent.post("/api/v1/imports", json={"csv": INLINE, "mapping_json": MAPPING, "visibility": "private"})
    assert own.status_code == 201, own.text
    mine = agent.get("/api/v1/contacts", query_string={"visibility": "private"}).get_json()["items"]
    assert {c["owner_id"] for c in mine} == {world.users["agent1"]}


def test_permissions(app, world, as_user):
    agent = as_user("agent1")
    before = count_contacts(app, world.tenant)
    resp = upload(agent, "/api/v1/imports", PBX.read_bytes(), visibility="global")
    assert resp.status_code == 403 and resp.mimetype == "application/problem+json"
    assert "global" in resp.get_json()["detail"]
    dept = upload(agent, "/api/v1/imports", PBX.read_bytes(), visibility="department", department_id=world.d1)
    assert dept.status_code == 403
    for who, scopes in (("noimport", None), ("admin", ["read", "write"])):
        api = as_user(who, scopes)
        assert upload(api, "/api/v1/imports", PBX.read_bytes()).status_code == 403
        assert upload(api, "/api/v1/imports/preview", PBX.read_bytes()).status_code == 403
    assert count_contacts(app, world.tenant) == before


def test_bad_input_messages(app, world, as_user):
    admin = as_user("admin")
    cases = {
        b"": "empty",
        bytes(range(256)) * 40: "binary",
    }
    for data, word in cases.items():
        resp = upload(admin, "/api/v1/imports", data, "bad.csv")
        assert resp.status_code == 422, resp.text
        assert resp.mimetype == "application/problem+json"
        assert word in resp.get_json()["detail"].lower(), resp.get_json()
    nothing = upload(admin, "/api/v1/imports", b"foo,bar,baz\n1,2,3\n", "x.csv")
    assert nothing.status_code == 422 and "matches no known format" in nothing.get_json()["detail"]
    bad_opts = admin.post("/api/v1/imports", json={"csv": INLINE, "match_keys": "shoe", "on_duplicate": "x"})
    assert bad_opts.status_code == 422 and {"match_keys", "on_duplicate"} <= set(bad_opts.get_json()["errors"])
    bad_map = admin.post("/api/v1/imports", json={"csv": INLINE, "mapping_json": "{nope"})
    assert bad_map.status_code == 422 and "mapping_json" in bad_map.get_json()["errors"]
    missing = admin.post("/api/v1/imports", json={"on_duplicate": "skip"})
    assert missing.status_code == 422 and "file" in missing.get_json()["errors"]
    ragged = admin.post("/api/v1/imports", json={"csv": "first_name,email\nAnn,ann@x.com,extra\nBob,bob@x.com\n"})
    assert ragged.status_code == 201 and ragged.get_json()["errors"] == 1 and ragged.get_json()["imported"] == 1
    assert count_contacts(app, world.tenant) == 1


def test_upload_above_limit_is_413(app, world, as_user):
    app.config["MAX_CONTENT_LENGTH"] = 2048
    resp = upload(as_user("admin"), "/api/v1/imports", b"first_name,email\n" + b"a,b@c.de\n" * 1000)
    assert resp.status_code == 413 and resp.mimetype == "application/problem+json"
    assert "limit" in resp.get_json()["detail"]
    assert count_contacts(app, world.tenant) == 0


def test_save_as_and_map_id(app, world, as_user):
    admin = as_user("admin")
    resp = admin.post("/api/v1/imports", json={"csv": INLINE, "mapping_json": MAPPING, "dry_run": True,
                                               "on_duplicate": "skip", "save_as": "German"})
    assert resp.status_code == 200, resp.text
    saved = resp.get_json()["map"]
    assert saved["name"] == "German" and saved["options"]["on_duplicate"] == "skip"
    again = admin.post("/api/v1/imports", json={"csv": INLINE, "map_id": saved["id"]})
    assert again.status_code == 201, again.text
    assert again.get_json()["imported"] == 2


def test_more_bad_input_gets_clear_messages(app, world, as_user):
    admin = as_user("admin")
    big = b"first_name,email,notes\nAnn,ann@x.com," + b"a" * (1024 * 1024 + 10) + b"\nBo,bo@x.com,short\n"
    resp = upload(admin, "/api/v1/imports", big, "big.csv")
    assert resp.status_code == 201, resp.text
    body = resp.get_json()
    assert body["rows"] == 2 and body["imported"] + body["errors"] == 2 and body["imported"] >= 1
    assert body["errors"] == 0 or "notes" in body["error_messages"][0]
    latin = "first_name,last_name,email\nJosé,Müller,jose@x.com\n".encode("cp1252")
    ok = upload(admin, "/api/v1/imports", latin, "latin.csv")
    assert ok.status_code == 201 and ok.get_json()["imported"] == 1
    names = {c["first_name"] for c in admin.get("/api/v1/contacts").get_json()["items"]}
    assert "José" in names
    label = upload(admin, "/api/v1/imports", b"name,phone,phone_label,contact_type\nAnn,+14085550100,spaceship,"
                   b"customer\nCy,+14085550101,work,spaceship\n", "l.csv")
    assert label.status_code == 201, label.text
    lb = label.get_json()
    assert lb["imported"] == 1 and lb["errors"] == 1 and "spaceship" in lb["error_messages"][0]
    ann = admin.get("/api/v1/contacts", query_string={"q": "Ann"}).get_json()["items"]
    assert ann[0]["phones"][0]["label"] == "other"  # an unknown phone label is kept as "other"
    semi = upload(admin, "/api/v1/imports", b"first_name;email\nBea;bea@x.com\n", "semi.csv", delimiter=",")
    assert semi.status_code == 422 and semi.get_json()["detail"]
