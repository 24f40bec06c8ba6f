"""The "m365" source plugin against mocked sign-in and Graph (responses)."""

from __future__ import annotations

import json

import pytest
import responses

from plugin_host import (
    ContactRecord,
    CursorExpired,
    Deletion,
    EmailIn,
    PhoneIn,
    PullContext,
    RetryLater,
    SkippedRecord,
    SourceError,
    SyncEnd,
)
from plugins import m365_source
from plugins.m365_source.graph import SOURCE_TYPE, clear_app_cache, contact_record, pull, user_record
from tests.fakes.fixtures import drain

LOGIN = "https://login.microsoftonline.com/contoso"
GRAPH = "https://graph.microsoft.com/v1.0"
SETTINGS = {"client_id": "app", "client_secret": "s3cret", "tenant_id": "contoso"}
FIRST = f"{GRAPH}/contacts/delta?$select=id,displayName,givenName,surname,mail,companyName,department,jobTitle,phones"
NEXT = f"{GRAPH}/contacts/delta?$skiptoken=p2"
DELTA = f"{GRAPH}/contacts/delta?$deltatoken=d1"
DELTA2 = f"{GRAPH}/contacts/delta?$deltatoken=d2"
USERS_DELTA = f"{GRAPH}/users/delta?$deltatoken=u1"


@pytest.fixture(autouse=True)
def fresh_msal_apps():
    clear_app_cache()
    yield
    clear_app_cache()


@pytest.fixture
def sleeps() -> list[float]:
    return []


@pytest.fixture
def ctx(sleeps) -> PullContext:
    return PullContext(sleep=sleeps.append, now=lambda: 1e9, log=lambda _m: None, max_retries=2)


@pytest.fixture
def sign_in():
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        mock.get(
            f"{LOGIN}/v2.0/.well-known/openid-configuration",
            json={
                "authorization_endpoint": f"{LOGIN}/oauth2/v2.0/authorize",
                "token_endpoint": f"{LOGIN}/oauth2/v2.0/token",
            },
        )
        mock.post(
            f"{LOGIN}/oauth2/v2.0/token", json={"access_token": "AT1", "token_type": "Bearer", "expires_in": 3599}
        )
        yield mock


def exact(mock, url: str, **kwargs) -> None:
    """Register ``url`` so that it only matches with exactly its own query string."""
    base, _, query = url.partition("?")
    params = dict(part.split("=", 1) for part in query.split("&")) if query else {}
    mock.get(base, match=[responses.matchers.query_param_matcher(params)], **kwargs)


def cursor(**links: str) -> str:
    return json.dumps({"tenant": "contoso", "client_id": "app", **links}, sort_keys=True)


def org(oid: str, given: str = "Ann", surname: str = "Lee", **props) -> dict:
    return {"id": oid, "givenName": given, "surname": surname, "phones": [], **props}


def test_registered_source_type_and_permissions_help():
    [source] = m365_source.contacts_hub_register_source_types()
    assert (source.name, source.label) == ("m365", "Microsoft 365") and source is SOURCE_TYPE
    names = [f.name for f in source.fields]
    assert names == ["client_id", "client_secret", "tenant_id", "include_users", "authority_url", "graph_url"]
    assert [f.name for f in source.fields if f.secret] == ["client_secret"]
    assert next(f for f in source.fields if f.name == "include_users").default is False
    for permission in ("OrgContact.Read.All", "User.Read.All", "Directory.Read.All", "Application"):
        assert permission in source.permissions_help


def test_full_round_follows_next_link_and_stores_delta_link(sign_in, ctx):
    exact(sign_in, FIRST, json={"value": [org("a")], "@odata.nextLink": NEXT})
    exact(
        sign_in,
        NEXT,
        json={"value": [org("b"), {"id": "c", "@removed": {"reason": "changed"}}], "@odata.deltaLink": DELTA},
    )
    items, error = drain(pull(SETTINGS, None, ctx))
    assert error is None
    assert [i.external_id for i in items[:-1]] == ["a", "b", "c"]
    assert items[2] == Deletion("c")
    assert items[-1] == SyncEnd(cursor(contacts=DELTA), full_snapshot=True)
    graph_calls = [c for c in sign_in.calls if c.request.url.startswith(GRAPH)]
    assert all(c.request.headers["Authorization"] == "Bearer AT1" for c in graph_calls)
    token_body = next(c.request.body for c in sign_in.calls if c.request.url.endswith("/token"))
    assert "grant_type=client_credentials" in token_body
    assert "scope=https%3A%2F%2Fgraph.microsoft.com%2F.default" in token_body


def test_delta_round_starts_from_the_stored_link(sign_in, ctx):
    exact(sign_in, DELTA, json={"value": [org("a", "Anna")], "@odata.deltaLink": DELTA2})
    items, error = drain(pull(SETTINGS, cursor(contacts=DELTA), ctx))
    assert error is None
    assert items[0].first_name == "Anna"
    assert items[-1] == SyncEnd(cursor(contacts=DELTA2), full_snapshot=False)


def test_msal_app_and_token_are_reused_across_runs(sign_in, ctx):
    exact(sign_in, FIRST, json={"value": [], "@odata.deltaLink": DELTA})
    exact(sign_in, DELTA, json={"value": [], "@odata.deltaLink": DELTA2})
    drain(pull(SETTINGS, None, ctx))
    drain(pull(SETTINGS, cursor(contacts=DELTA), ctx))
    urls = [c.request.url for c in sign_in.calls]
    assert sum("openid-configuration" in u for u in urls) == 1
    assert sum(u.endswith("/token") for u in urls) == 1


@pytest.mark.parametrize(
    ("status", "code"), [(410, "resyncRequired"), (400, "syncStateNotFound"), (400, "resyncRequired")]
)
def test_expired_delta_link_raises_cursor_expired(sign_in, ctx, status, code):
    exact(sign_in, DELTA, status=status, json={"error": {"code": code, "message": "The delta token is expired."}})
    items, error = drain(pull(SETTINGS, cursor(contacts=DELTA), ctx))
    assert items == [] and isinstance(error, CursorExpired)
    assert "a full sync is needed" in str(error)


def test_reset_during_a_full_round_is_not_cursor_expired(sign_in, ctx):
    exact(sign_in, FIRST, json={"value": [org("a")], "@odata.nextLink": NEXT})
    exact(sign_in, NEXT, status=410, json={"error": {"code": "resyncRequired", "message": "gone"}})
    items, error = drain(pull(SETTINGS, None, ctx))
    assert type(error) is SourceError and "start over on the next run" in str(error)
    assert not any(isinstance(i, SyncEnd) for i in items)


def test_throttling_honours_retry_after(sign_in, ctx, sleeps):
    exact(sign_in, FIRST, status=429, headers={"Retry-After": "11"}, json={"error": {"code": "TooManyRequests"}})
    exact(sign_in, FIRST, json={"value": [], "@odata.deltaLink": DELTA})
    _, error = drain(pull(SETTINGS, None, ctx))
    assert error is None and sleeps == [11.0]


def test_503_is_retried_then_gives_up_with_retry_later(sign_in, ctx, sleeps):
    exact(sign_in, FIRST, status=503)
    items, error = drain(pull(SETTINGS, None, ctx))
    assert isinstance(error, RetryLater) and items == []
    assert (
        str(error) == "Microsoft Graph: page 1 of /contacts/delta: 503 Service Unavailable (gave up after 3 attempts)"
    )
    assert sleeps == [1.0, 2.0]


def test_msal_error_is_reported_with_its_description(ctx):
    with responses.RequestsMock() as mock:
        mock.get(
            f"{LOGIN}/v2.0/.well-known/openid-configuration",
            json={
                "authorization_endpoint": f"{LOGIN}/oauth2/v2.0/authorize",
                "token_endpoint": f"{LOGIN}/oauth2/v2.0/token",
            },
        )
        mock.post(
            f"{LOGIN}/oauth2/v2.0/token",
            status=401,
            json={
                "error": "invalid_client",
                "error_description": "AADSTS7000215: Invalid client secret provided.\r\nTrace ID: 1",
            },
        )
        items, error = drain(pull(SETTINGS, None, ctx))
    assert items == []
    assert str(error) == (
        "Microsoft 365: token request failed: invalid_client: AADSTS7000215: Invalid client secret provided. "
        "(check Client ID / Client Secret / Tenant ID)"
    )


def test_unknown_tenant_is_reported(ctx):
    with responses.RequestsMock() as mock:
        mock.get(f"{LOGIN}/v2.0/.well-known/openid-configuration", status=400, json={"error": "invalid_tenant"})
        _, error = drain(pull(SETTINGS, None, ctx))
    assert isinstance(error, SourceError) and "does not know tenant 'contoso' (check Tenant ID)" in str(error)


def test_403_names_the_missing_permission(sign_in, ctx):
    denied = {"error": {"code": "Authorization_RequestDenied", "message": "Insufficient privileges."}}
    exact(sign_in, FIRST, status=403, json=denied)
    _, error = drain(pull(SETTINGS, None, ctx))
    assert str(error) == (
        "Microsoft Graph: page 1 of /contacts/delta: 403 Forbidden (Authorization_RequestDenied: Insufficient "
        "privileges.): the app needs the OrgContact.Read.All application permission (or Directory.Read.All) "
        "with admin consent"
    )


def test_401_mid_run_refreshes_the_token_once(ctx):
    expired = {"error": {"code": "InvalidAuthenticationToken", "message": "expired"}}
    with responses.RequestsMock(registry=responses.registries.OrderedRegistry) as mock:  # answers in call order
        mock.get(
            f"{LOGIN}/v2.0/.well-known/openid-configuration",
            json={
                "authorization_endpoint": f"{LOGIN}/oauth2/v2.0/authorize",
                "token_endpoint": f"{LOGIN}/oauth2/v2.0/token",
            },
        )
        mock.post(f"{LOGIN}/oauth2/v2.0/token", json={"access_token": "AT1", "expires_in": 3599})
        mock.get(FIRST, json={"value": [org("a")], "@odata.nextLink": NEXT})
        mock.get(NEXT, status=401, json=expired)
        mock.post(f"{LOGIN}/oauth2/v2.0/token", json={"access_token": "AT2", "expires_in": 3599})
        mock.get(NEXT, json={"value": [org("b")], "@odata.deltaLink": DELTA})
        items, error = drain(pull(SETTINGS, None, ctx))
        assert error is None
        assert [i.external_id for i in items[:-1]] == ["a", "b"]
        assert mock.calls[-1].request.headers["Authorization"] == "Bearer AT2"


def test_second_401_is_a_clear_error(sign_in, ctx):
    expired = {"error": {"code": "InvalidAuthenticationToken", "message": "expired"}}
    exact(sign_in, FIRST, status=401, json=expired)
    _, error = drain(pull(SETTINGS, None, ctx))
    assert (
        "401 Unauthorized (InvalidAuthenticationToken: expired): the access token is rejected even after a refresh"
        in (str(error))
    )
    assert sum(c.request.url.endswith("/token") for c in sign_in.calls) == 2


def test_truncated_json_is_a_clear_error(sign_in, ctx):
    exact(sign_in, FIRST, json={"value": [org("a")], "@odata.nextLink": NEXT})
    exact(sign_in, NEXT, body='{"value": [{"id": "b", "givenN')
    items, error = drain(pull(SETTINGS, None, ctx))
    assert str(error).startswith(
        f"Microsoft Graph: page 2 of /contacts/delta: truncated JSON from {GRAPH}/contacts/delta ("
    )
    assert "skiptoken" not in str(error)
    assert not any(isinstance(i, SyncEnd) for i in items)


def test_contacts_missing_phones_are_re_read(sign_in, ctx):
    exact(
        sign_in,
        FIRST,
        json={"value": [{"id": "a", "givenName": "Ann"}, {"id": "gone", "givenName": "G"}], "@odata.deltaLink": DELTA},
    )
    select = "id,displayName,givenName,surname,mail,companyName,department,jobTitle,phones"
    exact(
        sign_in,
        f"{GRAPH}/contacts/a?$select={select}",
        json={"id": "a", "givenName": "Ann", "surname": "Lee", "phones": [{"type": "mobile", "number": "+1 555"}]},
    )
    exact(sign_in, f"{GRAPH}/contacts/gone?$select={select}", status=404, json={"error": {"code": "NotFound"}})
    items, error = drain(pull(SETTINGS, None, ctx))
    assert error is None
    assert items[0].phones == (PhoneIn("+1 555", "mobile"),) and items[0].last_name == "Lee"
    assert items[1] == Deletion("gone")


def test_contact_mapping():
    record = contact_record(
        {
            "id": "x1",
            "displayName": "Ms Zoe Quinn",
            "givenName": None,
            "surname": None,
            "mail": "zoe@q.com",
            "companyName": "Q Ltd",
            "department": "Sales",
            "jobTitle": "Buyer",
            "phones": [
                {"type": "mobile", "number": "+44 7700 900123"},
                {"type": "business", "number": "0207"},
                {"type": "businessFax", "number": "0208"},
                {"type": "pager", "number": "9"},
                {"type": "home", "number": " "},
            ],
        },
        "",
    )
    assert record == ContactRecord(
        external_id="x1",
        first_name="Ms",
        last_name="Zoe Quinn",
        company="Q Ltd",
        org_department="Sales",
        title="Buyer",
        emails=(EmailIn("zoe@q.com", "business"),),
        phones=(
            PhoneIn("+44 7700 900123", "mobile"),
            PhoneIn("0207", "work"),
            PhoneIn("0208", "fax"),
            PhoneIn("9", "other"),
        ),
    )


def test_absent_properties_say_nothing_and_null_ones_are_empty():
    record = contact_record({"id": "x", "givenName": "A", "companyName": None, "mail": None}, "")
    assert (record.company, record.title, record.emails, record.phones) == ("", None, (), None)


def test_nameless_contact_is_skipped():
    assert contact_record({"id": "x", "mail": "a@b.c"}, "") == SkippedRecord(
        "x", "no givenName, surname or displayName"
    )


def test_user_mapping():
    record = user_record(
        {
            "id": "u1",
            "givenName": "Uma",
            "surname": "Roy",
            "businessPhones": ["+1 206 555 0100"],
            "mobilePhone": "+1 206 555 0199",
            "mail": "uma@c.com",
            "jobTitle": "CTO",
            "department": "IT",
        },
        "user:",
    )
    assert record.external_id == "user:u1"
    assert record.phones == (PhoneIn("+1 206 555 0100", "work"), PhoneIn("+1 206 555 0199", "mobile"))
    assert (record.title, record.org_department, record.emails) == ("CTO", "IT", (EmailIn("uma@c.com", "business"),))


def test_directory_users_are_a_second_stream_with_prefixed_ids(sign_in, ctx):
    exact(sign_in, FIRST, json={"value": [org("a")], "@odata.deltaLink": DELTA})
    users_first = (
        f"{GRAPH}/users/delta?$select=id,displayName,givenName,surname,mail,companyName,department,jobTitle,"
        "businessPhones,mobilePhone"
    )
    exact(
        sign_in,
        users_first,
        json={
            "value": [{"id": "a", "displayName": "Bob"}, {"id": "z", "@removed": {}}],
            "@odata.deltaLink": USERS_DELTA,
        },
    )
    items, error = drain(pull({**SETTINGS, "include_users": "true"}, None, ctx))
    assert error is None
    assert [getattr(i, "external_id", None) for i in items[:-1]] == ["a", "user:a", "user:z"]
    assert items[-1] == SyncEnd(cursor(contacts=DELTA, users=USERS_DELTA), full_snapshot=True)


def test_users_403_names_user_read_all(sign_in, ctx):
    exact(sign_in, DELTA, json={"value": [], "@odata.deltaLink": DELTA2})
    exact(sign_in, USERS_DELTA, status=403, json={"error": {"code": "Authorization_RequestDenied", "message": "No."}})
    _, error = drain(pull({**SETTINGS, "include_users": True}, cursor(contacts=DELTA, users=USERS_DELTA), ctx))
    assert "needs the User.Read.All application permission" in str(error)


@pytest.mark.parametrize(
    ("stored", "settings"),
    [
        (cursor(contacts=DELTA), {**SETTINGS, "include_users": True}),  # users switched on
        (cursor(contacts=DELTA, users=USERS_DELTA), SETTINGS),  # users switched off
        (json.dumps({"tenant": "other", "client_id": "app", "contacts": DELTA}), SETTINGS),
        (cursor(contacts="https://evil.example/v1.0/contacts/delta?$deltatoken=x"), SETTINGS),
        ("https://graph.microsoft.com/v1.0/contacts/delta?$deltatoken=legacy", SETTINGS),
    ],
)
def test_cursor_not_matching_the_settings_forces_a_full_sync(ctx, stored, settings):
    with pytest.raises(CursorExpired):
        next(pull(settings, stored, ctx))


def test_next_link_to_another_host_is_refused(sign_in, ctx):
    exact(sign_in, FIRST, json={"value": [], "@odata.nextLink": "https://evil.example/steal"})
    _, error = drain(pull(SETTINGS, None, ctx))
    assert "refusing to follow a link to another host (https://evil.example)" in str(error)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"tenant_id": " "}, "missing setting(s): Tenant ID"),
        ({"graph_url": "http://graph.local"}, "must be an https://"),
    ],
)
def test_invalid_settings(ctx, changes, message):
    with pytest.raises(SourceError, match=message.replace("(", r"\(").replace(")", r"\)")):
        next(pull({**SETTINGS, **changes}, None, ctx))
