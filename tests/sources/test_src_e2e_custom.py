"""The "custom" source's pull() against a real fake server on 127.0.0.1."""

from __future__ import annotations

import json

from plugin_host import ContactRecord, Deletion, RetryLater, SkippedRecord, SourceError, SyncEnd
from plugins.custom_source.client import pull
from tests.fakes.custom_server import CustomContactsServer
from tests.fakes.fixtures import FakeClock, RecordingContext, drain


def records(items) -> dict[str, ContactRecord]:
    return {i.external_id: i for i in items if isinstance(i, ContactRecord)}


def test_full_sync_then_delta_with_edits_and_deletions(make_ctx):
    clock = FakeClock()
    with CustomContactsServer(clock=clock) as custom_server:
        check_full_then_delta(custom_server, clock, make_ctx)


def check_full_then_delta(custom_server, clock, make_ctx):
    ids = custom_server.add_many(5)
    custom_server.add_contact("No", "", id="bad")
    clock.advance(10)
    items, error = drain(pull(custom_server.settings(page_size=2), None, make_ctx.ctx(now=clock)))
    assert error is None
    assert sorted(records(items)) == sorted(ids)
    assert SkippedRecord("bad", "missing last_name") in items
    end = items[-1]
    assert isinstance(end, SyncEnd) and end.full_snapshot
    assert [r.args["page"] for r in custom_server.requests_to("/contacts")] == ["1", "2", "3"]

    clock.advance(60)
    custom_server.edit_contact(ids[0], company="NewCo", phones=None)
    custom_server.delete_contact(ids[1])
    custom_server.delete_contact(ids[2])
    added = custom_server.add_contact("Zed", "Zulu", type="lead", emails=[{"email": "z@z.z", "label": "home"}])
    clock.advance(5)
    items, error = drain(pull(custom_server.settings(page_size=1), end.cursor, make_ctx.ctx(now=clock)))
    assert error is None
    changed = records(items)
    assert set(changed) == {ids[0], added}
    assert changed[ids[0]].company == "NewCo" and changed[ids[0]].phones == ()
    assert changed[added].contact_type == "lead" and changed[added].emails[0].label == "other"
    assert [i for i in items if isinstance(i, Deletion)] == [Deletion(ids[1]), Deletion(ids[2])]
    [delta] = {r.args["timestamp"] for r in custom_server.requests_to("/contacts/delta")}
    assert int(delta) == json.loads(end.cursor)["timestamp"]
    assert items[-1].full_snapshot is False

    # Tombstones were consumed: the next delta reports no deletion again.
    clock.advance(60)
    items, _ = drain(pull(custom_server.settings(), items[-1].cursor, make_ctx.ctx(now=clock)))
    assert not any(isinstance(i, Deletion) for i in items) and records(items) == {}


def test_token_expiring_mid_run_is_renewed():
    with CustomContactsServer(token_ttl=0.3) as server:
        server.add_many(4)
        server.inject_fault("/contacts", page=2, delay=0.6)  # the token expires while page 2 is "slow"
        items, error = drain(pull(server.settings(page_size=1), None, RecordingContext().ctx()))
    assert error is None and len(records(items)) == 4
    assert server.token_requests == 2


def test_expired_tokens_mid_run(custom_server, make_ctx):
    custom_server.add_many(3)
    gen = pull(custom_server.settings(page_size=1), None, make_ctx.ctx())
    first = next(gen)
    custom_server.expire_tokens()
    items, error = drain(gen)
    assert error is None and len(records([first, *items])) == 3
    assert custom_server.token_requests == 2


def test_repeated_401_is_a_clear_error_without_sync_end(custom_server, make_ctx):
    custom_server.add_many(3)
    custom_server.inject_fault("/contacts", page=2, status=401, times=2)
    items, error = drain(pull(custom_server.settings(page_size=1), None, make_ctx.ctx()))
    assert isinstance(error, SourceError) and "page 2 of /contacts: 401 Unauthorized even with a fresh token" in str(
        error
    )
    assert not any(isinstance(i, SyncEnd) for i in items)


def test_wrong_secret(custom_server, make_ctx):
    _, error = drain(pull(custom_server.settings(client_secret="nope"), None, make_ctx.ctx()))
    assert str(error) == "Custom source: token request failed: 401 Unauthorized (check Client ID / Client Secret)"


def test_secret_with_colons_is_sent_intact(make_ctx):
    with CustomContactsServer(client_secret="a:b:c") as server:
        server.add_many(1)
        items, error = drain(pull(server.settings(), None, make_ctx.ctx()))
    assert error is None and len(items) == 2


def test_transient_500_is_retried(custom_server, make_ctx):
    custom_server.add_many(3)
    custom_server.inject_fault("/contacts", page=2, status=500, body="Internal error")
    items, error = drain(pull(custom_server.settings(page_size=1), None, make_ctx.ctx()))
    assert error is None and len(records(items)) == 3
    assert make_ctx.sleeps == [1.0]


def test_persistent_500_never_ends_the_run(custom_server, make_ctx):
    custom_server.add_many(3)
    custom_server.inject_fault("/contacts", page=2, status=500, body="Internal error", times=None)
    items, error = drain(pull(custom_server.settings(page_size=1), None, make_ctx.ctx(max_retries=2)))
    assert isinstance(error, RetryLater)
    assert str(error) == ("Custom source: page 2 of /contacts: 500 Internal Server Error (gave up after 3 attempts)")
    assert len(items) == 1 and not any(isinstance(i, SyncEnd) for i in items)


def test_slow_server_times_out(custom_server, make_ctx):
    custom_server.add_many(2)
    custom_server.inject_fault("/contacts", page=1, delay=2.0, times=None)
    items, error = drain(pull(custom_server.settings(), None, make_ctx.ctx(http_timeout=0.2, max_retries=1)))
    assert isinstance(error, RetryLater) and items == []
    assert "page 1 of /contacts: no answer within 0.2 s (timeout)" in str(error)


def test_truncated_json(custom_server, make_ctx):
    custom_server.add_many(3)
    custom_server.inject_fault("/contacts", page=3, truncate=True)
    items, error = drain(pull(custom_server.settings(page_size=1), None, make_ctx.ctx()))
    assert f"Custom source: page 3 of /contacts: truncated JSON from {custom_server.url}/contacts (" in str(error)
    assert len(items) == 2


def test_throttled_with_retry_after(custom_server, make_ctx):
    custom_server.add_many(1)
    custom_server.inject_fault("/contacts/delta", status=429, headers={"Retry-After": "4"})
    items, error = drain(pull(custom_server.settings(), json.dumps({"timestamp": 1}), make_ctx.ctx()))
    assert error is None and make_ctx.sleeps == [4.0]
    assert len(records(items)) == 1
