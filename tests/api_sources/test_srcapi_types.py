"""GET /api/v1/source-types: the settings forms, texts and options of the installed types; admin only."""

from __future__ import annotations

import pytest

P = "/api/v1"
M365_WARNING = ("This action will delete all data related to Microsoft 365, including contacts and activities "
                "related to those contacts. Are you sure you want to continue with this action?")
CUSTOM_WARNING = ("This action will delete all data related to this custom contact source, including contacts "
                  "and activities related to those contacts. Are you sure you want to continue with this action?")


def test_source_types_listing(as_user):
    resp = as_user("admin").get(f"{P}/source-types")
    assert resp.status_code == 200, resp.text
    types = {t["name"]: t for t in resp.get_json()}
    assert {"m365", "custom", "sql"} <= set(types)
    m365, custom, sql = types["m365"], types["custom"], types["sql"]
    assert m365["label"] == "Microsoft 365" and m365["erase_warning"] == M365_WARNING
    assert custom["erase_warning"] == CUSTOM_WARNING
    assert "OrgContact.Read.All" in m365["permissions_help"] and "User.Read.All" in m365["permissions_help"]
    fields = {f["name"]: f for f in m365["fields"]}
    assert set(fields) >= {"client_id", "client_secret", "tenant_id", "include_users"}
    assert fields["client_secret"] == {**fields["client_secret"], "secret": True, "required": True,
                                       "type": "password", "label": "Client Secret"}
    assert fields["client_id"]["secret"] is False and fields["client_id"]["help"]
    assert fields["include_users"]["type"] == "bool" and fields["include_users"]["default"] is False
    for f in m365["fields"]:
        assert set(f) == {"name", "label", "type", "required", "secret", "default", "help", "choices"}
    assert [f["name"] for f in custom["fields"]] == ["name", "client_id", "client_secret", "url", "page_size"]
    assert sql["full_snapshot_options"] is True and sql["has_test"] is True
    assert m365["full_snapshot_options"] is False and m365["has_test"] is False and custom["has_test"] is False
    identity = {f["name"]: f for f in sql["fields"]}["identity"]
    assert identity["type"] == "select" and identity["choices"] == ["external_id", "external_id+name"]
    assert sql["description"] and m365["description"] is not None


@pytest.mark.parametrize("who, scopes", [("dadmin", None), ("agent1", None), ("admin", ["read", "write"])])
def test_source_types_admin_only(as_user, who, scopes):
    resp = as_user(who, scopes).get(f"{P}/source-types")
    assert resp.status_code == 403 and resp.headers["Content-Type"] == "application/problem+json"


def test_source_types_need_authentication(client, world):
    assert client.get(f"{P}/source-types").status_code == 401
