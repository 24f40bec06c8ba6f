"""The "m365" source's pull() against the real fake sign-in + Graph server (HTTPS on 127.0.0.1)."""

from __future__ import annotations

import json

import pytest

from plugin_host import ContactRecord, CursorExpired, Deletion, PhoneIn, RetryLater, SourceError, SyncEnd
from plugins.m365_source.graph import pull
from tests.fakes.fixtures import drain


def records(items) -> dict[str, ContactRecord]:
    return {i.external_id: i for i in items if isinstance(i, ContactRecord)}


def run(server, make_ctx, cursor=None, **settings):
    return drain(pull(server.settings(**settings), cursor, make_ctx.ctx()))


def test_full_sync_then_delta(graph_server, make_ctx):
    graph_server.page_size = 2
    ann = graph_server.add_contact(
        "Ann", "Lee", mail="ann@x.com", phones=[{"type": "business", "number": "+1 206 555 0100"}]
    )
    bob = graph_server.add_contact("Bob", "Ray", companyName="Ray Inc")
    cy = graph_server.add_contact(None, None, displayName="Cy Twombly", jobTitle="Painter")
    items, error = run(graph_server, make_ctx)
    assert error is None
    got = records(items)
    assert set(got) == {ann, bob, cy}
    assert got[ann].phones == (PhoneIn("+1 206 555 0100", "work"),)
    assert (got[cy].first_name, got[cy].last_name, got[cy].title) == ("Cy", "Twombly", "Painter")
    end = items[-1]
    assert isinstance(end, SyncEnd) and end.full_snapshot
    assert "$deltatoken=" in json.loads(end.cursor)["contacts"]
    assert len(graph_server.requests_to("/v1.0/contacts/delta")) == 2  # one nextLink followed

    graph_server.edit_contact(bob, companyName=None, department="Ops")
    graph_server.delete_contact(cy)
    dee = graph_server.add_contact("Dee", "Fox")
    items, error = run(graph_server, make_ctx, end.cursor)
    assert error is None
    got = records(items)
    assert set(got) == {bob, dee}
    assert (got[bob].company, got[bob].org_department) == ("", "Ops")
    assert Deletion(cy) in items
    assert items[-1].full_snapshot is False

    items, error = run(graph_server, make_ctx, items[-1].cursor)
    assert error is None and items == [items[-1]]  # nothing changed since
    assert graph_server.token_requests == 1  # msal's cache served the later runs


def test_directory_users(graph_server, make_ctx):
    graph_server.add_contact("Ann", "Lee")
    uma = graph_server.add_user("Uma", "Roy", businessPhones=["+1 425 555 0101"], mobilePhone="+1 425 555 0199")
    items, error = run(graph_server, make_ctx, include_users=True)
    assert error is None
    assert records(items)[f"user:{uma}"].phones == (
        PhoneIn("+1 425 555 0101", "work"),
        PhoneIn("+1 425 555 0199", "mobile"),
    )
    graph_server.delete_user(uma)
    more, error = run(graph_server, make_ctx, items[-1].cursor, include_users=True)
    assert error is None and more[:-1] == [Deletion(f"user:{uma}")]


@pytest.mark.parametrize("mode", ["410", "syncStateNotFound", "resyncRequired"])
def test_expired_delta_link_then_full_resync(graph_server, make_ctx, mode):
    graph_server.add_contact("Ann", "Lee")
    items, _ = run(graph_server, make_ctx)
    graph_server.expire_delta_links(mode)
    more, error = run(graph_server, make_ctx, items[-1].cursor)
    assert isinstance(error, CursorExpired) and more == []
    again, error = run(graph_server, make_ctx)  # what the engine does next
    assert error is None and again[-1].full_snapshot and len(records(again)) == 1


def test_revoked_token_is_refreshed_once(graph_server, make_ctx):
    graph_server.page_size = 1
    graph_server.add_contact("Ann", "Lee")
    graph_server.add_contact("Bob", "Ray")
    gen = pull(graph_server.settings(), None, make_ctx.ctx())
    first = next(gen)
    graph_server.revoke_tokens()
    rest, error = drain(gen)
    assert error is None and len(records([first, *rest])) == 2
    assert graph_server.token_requests == 2


def test_phones_missing_from_delta_are_re_read(graph_server, make_ctx):
    graph_server.omit_phones_in_delta = True
    ann = graph_server.add_contact("Ann", "Lee", phones=[{"type": "mobile", "number": "+44 7700 900123"}])
    items, error = run(graph_server, make_ctx)
    assert error is None and records(items)[ann].phones == (PhoneIn("+44 7700 900123", "mobile"),)
    assert len(graph_server.requests_to(f"/v1.0/contacts/{ann}")) == 1


def test_missing_permission(graph_server, make_ctx):
    graph_server.permissions = {"OrgContact.Read.All"}
    graph_server.add_contact("Ann", "Lee")
    items, error = run(graph_server, make_ctx, include_users=True)
    assert "/users/delta: 403 Forbidden" in str(error) and "User.Read.All application permission" in str(error)
    assert not any(isinstance(i, SyncEnd) for i in items)


def test_wrong_secret(graph_server, make_ctx):
    _, error = run(graph_server, make_ctx, client_secret="wrong")
    assert str(error) == (
        "Microsoft 365: token request failed: invalid_client: AADSTS7000215: Invalid client secret provided. "
        "(check Client ID / Client Secret / Tenant ID)"
    )


def test_unknown_tenant(graph_server, make_ctx):
    _, error = run(graph_server, make_ctx, tenant_id="nobody")
    assert isinstance(error, SourceError) and "does not know tenant 'nobody' (check Tenant ID)" in str(error)


def test_server_errors_never_end_the_run(graph_server, make_ctx):
    graph_server.page_size = 1
    graph_server.add_contact("Ann", "Lee")
    graph_server.add_contact("Bob", "Ray")
    graph_server.inject_fault("/v1.0/contacts/delta", after=1, status=502, times=None)
    items, error = drain(pull(graph_server.settings(), None, make_ctx.ctx(max_retries=2)))
    assert isinstance(error, RetryLater) and "page 2 of /contacts/delta: 502 Bad Gateway" in str(error)
    assert len(items) == 1 and make_ctx.sleeps == [1.0, 2.0]


def test_throttling_with_retry_after(graph_server, make_ctx):
    graph_server.add_contact("Ann", "Lee")
    graph_server.inject_fault("/v1.0/contacts/delta", status=429, headers={"Retry-After": "2"})
    items, error = run(graph_server, make_ctx)
    assert error is None and make_ctx.sleeps == [2.0] and len(records(items)) == 1


def test_truncated_page(graph_server, make_ctx):
    graph_server.add_contact("Ann", "Lee")
    graph_server.inject_fault("/v1.0/contacts/delta", truncate=True)
    items, error = run(graph_server, make_ctx)
    assert str(error).startswith("Microsoft Graph: page 1 of /contacts/delta: truncated JSON") and items == []
