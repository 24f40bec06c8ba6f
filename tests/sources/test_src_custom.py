"""The "custom" source plugin against a mocked server (responses): protocol, mapping, errors."""

from __future__ import annotations

import base64
import json

import pytest
import responses
from responses import matchers

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
from plugins import custom_source
from plugins.custom_source.client import SOURCE_TYPE, pull, to_record
from tests.fakes.fixtures import drain

BASE = "https://crm.example.test:5555"
NOW = 1_744_797_148
SETTINGS = {"name": "CRM", "client_id": "test_id", "client_secret": "test:secret", "url": BASE + "/", "page_size": 2}


@pytest.fixture
def sleeps() -> list[float]:
    return []


@pytest.fixture
def ctx(sleeps) -> PullContext:
    return PullContext(sleep=sleeps.append, now=lambda: NOW + 0.7, log=lambda _m: None, max_retries=2)


def contact(cid: str, first: str = "Ann", last: str = "Lee", **extra) -> dict:
    return {
        "id": cid,
        "first_name": first,
        "last_name": last,
        "company": "",
        "type": "customer",
        "phones": [],
        "emails": [],
        **extra,
    }


def token(value: str = "T1", status: int = 200) -> None:
    responses.get(f"{BASE}/token", json={"token": value} if status == 200 else None, status=status)


def page(path: str, number: int, body: dict, status: int = 200, **query) -> None:
    params = {"limit": "2", "page": str(number), **query}
    responses.get(f"{BASE}{path}", json=body, status=status, match=[matchers.query_param_matcher(params)])


def test_registered_source_type():
    [source] = custom_source.contacts_hub_register_source_types()
    assert (source.name, source.label) == ("custom", "Custom")
    assert [f.name for f in source.fields] == ["name", "client_id", "client_secret", "url", "page_size"]
    secret = {f.name: f.secret for f in source.fields}
    assert secret == {"name": False, "client_id": False, "client_secret": True, "url": False, "page_size": False}
    assert next(f for f in source.fields if f.name == "page_size").default == 100
    assert source is SOURCE_TYPE


@responses.activate
def test_full_sync_pages_until_has_more_is_false(ctx):
    token()
    page("/contacts", 1, {"contacts": [contact("1"), contact("2")], "has_more": True})
    page("/contacts", 2, {"contacts": [contact("3")], "has_more": False})
    items, error = drain(pull(SETTINGS, None, ctx))
    assert error is None
    assert [i.external_id for i in items[:-1]] == ["1", "2", "3"]
    assert items[-1] == SyncEnd(json.dumps({"timestamp": NOW}), full_snapshot=True)
    basic = responses.calls[0].request.headers["Authorization"]
    assert basic == "Basic " + base64.b64encode(b"test_id:test:secret").decode()
    assert all(c.request.headers["Authorization"] == "Bearer T1" for c in responses.calls[1:])


@responses.activate
def test_delta_sends_stored_timestamp_and_yields_updates_and_deletions(ctx):
    token()
    page("/contacts/delta", 1, {"updated": [contact("5")], "deleted": ["7", "8"], "has_more": True}, timestamp="1700")
    page("/contacts/delta", 2, {"updated": None, "deleted": ["9"], "has_more": False}, timestamp="1700")
    items, error = drain(pull(SETTINGS, json.dumps({"timestamp": 1700}), ctx))
    assert error is None
    assert items[:2] == [Deletion("7"), Deletion("8")]
    assert items[2].external_id == "5"
    assert items[3:] == [Deletion("9"), SyncEnd(json.dumps({"timestamp": NOW}), full_snapshot=False)]


@responses.activate
def test_null_arrays_everywhere_are_accepted(ctx):
    token()
    page("/contacts/delta", 1, {"updated": None, "deleted": None, "has_more": False}, timestamp="5")
    items, error = drain(pull(SETTINGS, '{"timestamp": 5}', ctx))
    assert error is None and items == [SyncEnd(json.dumps({"timestamp": NOW}), False)]


def test_mapping_labels_type_and_extras():
    record = to_record(
        contact(
            "42",
            " Noah ",
            "Bianchi",
            company="PulseNet",
            type="partner",
            fb_user_id="222000000000",
            phones=[
                {"number": "+1-912-582-7815x622", "label": "pager"},
                {"number": "506", "label": "WORK"},
                {"number": "", "label": "home"},
            ],
            emails=[{"email": "n@p.com", "label": "work"}, {"email": "b@p.com", "label": "private"}],
            updated_date_time=1744797148,
            something_new={"a": 1},
        )
    )
    assert record == ContactRecord(
        external_id="42",
        first_name="Noah",
        last_name="Bianchi",
        company="PulseNet",
        contact_type="customer",
        fb_user_id="222000000000",
        phones=(PhoneIn("+1-912-582-7815x622", "other"), PhoneIn("506", "work")),
        emails=(EmailIn("n@p.com", "other"), EmailIn("b@p.com", "private")),
    )


def test_lead_type_and_null_or_absent_arrays():
    record = to_record({"id": 7, "first_name": "A", "last_name": "B", "type": "lead", "phones": None})
    assert (record.external_id, record.contact_type, record.phones, record.emails) == ("7", "lead", (), None)
    assert record.company is None and record.fb_user_id is None


@pytest.mark.parametrize(
    ("item", "reason"),
    [
        ({"id": "1", "first_name": "", "last_name": "B"}, "missing first_name"),
        ({"id": "1", "first_name": "A", "last_name": None}, "missing last_name"),
        ({"id": "1", "first_name": "  "}, "missing first_name and last_name"),
    ],
)
def test_missing_names_are_skipped_with_a_reason(item, reason):
    assert to_record(item) == SkippedRecord("1", reason)


def test_records_without_id_or_not_objects_are_skipped():
    assert to_record({"first_name": "A", "last_name": "B"}) == SkippedRecord(None, "contact without an id")
    assert isinstance(to_record("junk"), SkippedRecord)


@responses.activate
def test_skipped_records_do_not_stop_the_run(ctx):
    token()
    page("/contacts", 1, {"contacts": [contact("1", first=""), contact("2")], "has_more": False})
    items, error = drain(pull(SETTINGS, None, ctx))
    assert error is None
    assert items[0] == SkippedRecord("1", "missing first_name") and items[1].external_id == "2"


@responses.activate
def test_token_401_is_a_clear_error(ctx):
    token(status=401)
    items, error = drain(pull(SETTINGS, None, ctx))
    assert items == []
    assert str(error) == "Custom source: token request failed: 401 Unauthorized (check Client ID / Client Secret)"


@responses.activate
def test_token_answer_without_token(ctx):
    responses.get(f"{BASE}/token", json={"access_token": "x"})
    _, error = drain(pull(SETTINGS, None, ctx))
    assert 'no "token" field' in str(error)


@responses.activate(registry=responses.registries.OrderedRegistry)
def test_401_mid_run_reauthenticates_once_and_continues(ctx):
    token("T1")
    page("/contacts", 1, {"contacts": [contact("1")], "has_more": True})
    page("/contacts", 2, {}, status=401)
    token("T2")
    page("/contacts", 2, {"contacts": [contact("2")], "has_more": False})
    items, error = drain(pull(SETTINGS, None, ctx))
    assert error is None
    assert [i.external_id for i in items[:-1]] == ["1", "2"]
    assert [c.request.url.split("?")[0] for c in responses.calls].count(f"{BASE}/token") == 2
    assert responses.calls[-1].request.headers["Authorization"] == "Bearer T2"


@responses.activate(registry=responses.registries.OrderedRegistry)
def test_second_401_in_a_row_is_a_clear_error(ctx):
    token("T1")
    page("/contacts", 1, {}, status=401)
    token("T2")
    page("/contacts", 1, {}, status=401)
    items, error = drain(pull(SETTINGS, None, ctx))
    assert items == []
    assert isinstance(error, SourceError)
    assert str(error) == (
        "Custom source: page 1 of /contacts: 401 Unauthorized even with a fresh token "
        "(the server rejects its own tokens)"
    )


@responses.activate
def test_truncated_json_names_the_page_and_never_ends_the_run(ctx):
    token()
    page("/contacts", 1, {"contacts": [contact("1")], "has_more": True})
    page("/contacts", 2, {"contacts": [contact("2")], "has_more": True})
    responses.get(
        f"{BASE}/contacts",
        body='{"contacts": [{"id": "3", "first_',
        match=[matchers.query_param_matcher({"limit": "2", "page": "3"})],
    )
    items, error = drain(pull(SETTINGS, None, ctx))
    assert [i.external_id for i in items] == ["1", "2"]
    assert not any(isinstance(i, SyncEnd) for i in items)
    assert str(error).startswith("Custom source: page 3 of /contacts: truncated JSON from " + BASE + "/contacts (")


@responses.activate(registry=responses.registries.OrderedRegistry)
def test_429_retry_after_is_honoured(ctx, sleeps):
    token()
    responses.get(f"{BASE}/contacts", status=429, headers={"Retry-After": "3"})
    page("/contacts", 1, {"contacts": [], "has_more": False})
    _items, error = drain(pull(SETTINGS, None, ctx))
    assert error is None and sleeps == [3.0]


@responses.activate(registry=responses.registries.OrderedRegistry)
def test_503_is_retried_with_backoff(ctx, sleeps):
    token()
    responses.get(f"{BASE}/contacts", status=503)
    page("/contacts", 1, {"contacts": [contact("1")], "has_more": False})
    items, error = drain(pull(SETTINGS, None, ctx))
    assert error is None and sleeps == [1.0] and len(items) == 2


@responses.activate
def test_persistent_500_raises_retry_later_without_sync_end(ctx):
    token()
    page("/contacts", 1, {"contacts": [contact("1")], "has_more": True})
    responses.get(
        f"{BASE}/contacts",
        status=500,
        body="Internal error",
        match=[matchers.query_param_matcher({"limit": "2", "page": "2"})],
    )
    items, error = drain(pull(SETTINGS, None, ctx))
    assert isinstance(error, RetryLater)
    assert "page 2 of /contacts: 500 Internal Server Error (gave up after 3 attempts)" in str(error)
    assert not any(isinstance(i, SyncEnd) for i in items)


@responses.activate
def test_has_more_with_an_empty_page_is_an_error(ctx):
    token()
    page("/contacts", 1, {"contacts": [], "has_more": True})
    _, error = drain(pull(SETTINGS, None, ctx))
    assert "has_more but sent an empty page" in str(error)


@pytest.mark.parametrize("cursor", ["not json", "{}", '{"timestamp": 0}', '{"timestamp": "12"}', "[1]"])
def test_unusable_cursor_asks_for_a_full_sync(ctx, cursor):
    with pytest.raises(CursorExpired, match="full sync is needed"):
        next(pull(SETTINGS, cursor, ctx))


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"client_secret": ""}, "missing setting(s): Client Secret"),
        ({"url": "example.com"}, "URL must start with http:// or https://"),
        ({"page_size": "many"}, "page size must be a whole number"),
        ({"page_size": -5}, "page size must be positive"),
    ],
)
def test_invalid_settings(ctx, changes, message):
    with pytest.raises(SourceError, match=message.replace("(", r"\(").replace(")", r"\)")):
        next(pull({**SETTINGS, **changes}, None, ctx))
