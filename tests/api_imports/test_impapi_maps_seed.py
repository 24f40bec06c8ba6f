"""Import API: import-map CRUD and the seed's alias paths (own tenant only)."""

from __future__ import annotations

from impapi_support import PBX, count_contacts, upload

MAP = {"name": "German", "mapping": {"Vorname": "first_name", "Nachname": "last_name", "Mail": "email"},
       "options": {"delimiter": ";", "on_duplicate": "skip", "match_keys": ["email", "phone"]}}
INLINE = "Vorname;Nachname;Mail\nAnn;Able;ann@x.com\n"


def test_import_maps_crud(app, world, as_user):
    admin = as_user("admin")
    made = admin.post("/api/v1/import-maps", json=MAP)
    assert made.status_code == 201, made.text
    m = made.get_json()
    assert m["mapping"]["Mail"] == "email" and m["options"]["on_duplicate"] == "skip"
    assert m["options"]["match_keys"] == ["email", "phone"]
    assert made.headers["Location"] == f"/api/v1/import-maps/{m['id']}"
    assert admin.post("/api/v1/import-maps", json=MAP).status_code == 422  # same name
    assert admin.post("/api/v1/import-maps", json={"name": "x", "options": {"match_keys": "shoe"}}).status_code == 422
    assert [x["name"] for x in admin.get("/api/v1/import-maps").get_json()["items"]] == ["German"]
    assert admin.get(f"/api/v1/import-maps/{m['id']}").get_json()["name"] == "German"
    put = admin.put(f"/api/v1/import-maps/{m['id']}", json={"name": "Deutsch", "options": {"on_duplicate": "update"}})
    assert put.status_code == 200, put.text
    body = put.get_json()
    assert body["name"] == "Deutsch" and body["options"]["on_duplicate"] == "update"
    assert body["options"]["delimiter"] == ";" and body["mapping"]["Mail"] == "email"
    used = admin.post("/api/v1/imports", json={"csv": INLINE, "map_id": m["id"]})
    assert used.status_code == 201 and used.get_json()["imported"] == 1
    assert as_user("other_admin").get(f"/api/v1/import-maps/{m['id']}").status_code == 404
    assert as_user("noimport").post("/api/v1/import-maps", json={**MAP, "name": "N"}).status_code == 403
    assert admin.delete(f"/api/v1/import-maps/{m['id']}").status_code == 204
    assert admin.get(f"/api/v1/import-maps/{m['id']}").status_code == 404
    assert admin.delete(f"/api/v1/import-maps/{m['id']}").status_code == 404


def test_seed_alias_paths(app, world, as_user):
    admin = as_user("admin")
    pre = upload(admin, "/api/crm-contacts/acme/import-preview", PBX.read_bytes())
    assert pre.status_code == 200 and pre.get_json()["total_rows"] == 5
    bad = b"first_name,email,status\nAnn,ann@x.com,active\nBob,bob@x.com,bogus\n"
    imp = upload(admin, f"/api/crm-contacts/{world.tenant}/import", bad)
    assert imp.status_code == 201, imp.text
    token = imp.get_json()["errors_url"].split("token=")[1]
    errs = admin.get("/api/crm-contacts/acme/import-errors", query_string={"token": token})
    assert errs.status_code == 200 and "bogus" in errs.text
    assert admin.get("/api/crm-contacts/acme/import-errors", query_string={"token": "x"}).status_code == 404
    made = admin.post("/api/crm-import-maps/acme", json=MAP)
    assert made.status_code == 201, made.text
    mid = made.get_json()["id"]
    assert [m["id"] for m in admin.get("/api/crm-import-maps/acme").get_json()["items"]] == [mid]
    assert admin.get(f"/api/crm-import-maps/acme/{mid}").get_json()["name"] == "German"
    assert admin.put(f"/api/crm-import-maps/acme/{mid}", json={"name": "G2"}).get_json()["name"] == "G2"
    assert admin.delete(f"/api/crm-import-maps/acme/{mid}").status_code == 204
    # another tenant's slug or id, or an unknown one: 404, nothing written
    before = count_contacts(app, world.tenant)
    for tenant in ("globex", str(world.other_tenant), "nope"):
        for resp in (upload(admin, f"/api/crm-contacts/{tenant}/import", PBX.read_bytes()),
                     upload(admin, f"/api/crm-contacts/{tenant}/import-preview", PBX.read_bytes()),
                     admin.get(f"/api/crm-contacts/{tenant}/import-errors", query_string={"token": token}),
                     admin.get(f"/api/crm-import-maps/{tenant}"),
                     admin.post(f"/api/crm-import-maps/{tenant}", json=MAP)):
            assert resp.status_code == 404 and resp.mimetype == "application/problem+json", resp.text
    assert count_contacts(app, world.tenant) == before
    other = as_user("other_admin")
    assert upload(other, "/api/crm-contacts/acme/import", PBX.read_bytes()).status_code == 404
    assert upload(other, "/api/crm-contacts/globex/import", PBX.read_bytes()).status_code == 201
    assert app.test_client().get("/api/crm-import-maps/acme").status_code == 401
