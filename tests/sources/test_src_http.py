"""plugin_host.sources_http: retries, Retry-After, backoff and error messages."""

from __future__ import annotations

import email.utils

import pytest
import requests
import responses

from plugin_host import PullContext, RetryLater, SourceError
from plugin_host.sources_http import HttpError, backoff_delay, get_json, parse_retry_after

URL = "https://api.example.test/contacts"
NOW = 1_700_000_000.0


@pytest.fixture
def sleeps() -> list[float]:
    return []


@pytest.fixture
def ctx(sleeps: list[float]) -> PullContext:
    return PullContext(sleep=sleeps.append, now=lambda: NOW, log=lambda _m: None, http_timeout=2.5, max_retries=3)


@pytest.fixture
def session() -> requests.Session:
    return requests.Session()


@responses.activate
def test_returns_decoded_json_and_passes_timeout(session, ctx):
    responses.get(URL, json={"ok": True})
    assert get_json(session, URL, ctx=ctx, params={"page": 1}) == {"ok": True}
    assert responses.calls[0].request.req_kwargs["timeout"] == 2.5
    assert responses.calls[0].request.url == URL + "?page=1"


@responses.activate(registry=responses.registries.OrderedRegistry)
@pytest.mark.parametrize("status", [429, 503])
def test_retry_after_seconds_is_slept_through_ctx(session, ctx, sleeps, status):
    responses.get(URL, status=status, headers={"Retry-After": "7"})
    responses.get(URL, json=[1])
    assert get_json(session, URL, ctx=ctx) == [1]
    assert sleeps == [7.0]


@responses.activate(registry=responses.registries.OrderedRegistry)
def test_retry_after_http_date(session, ctx, sleeps):
    responses.get(URL, status=503, headers={"Retry-After": email.utils.formatdate(NOW + 42, usegmt=True)})
    responses.get(URL, json={})
    get_json(session, URL, ctx=ctx)
    assert sleeps == [42.0]


@responses.activate(registry=responses.registries.OrderedRegistry)
def test_transient_statuses_back_off_exponentially(session, ctx, sleeps):
    for status in (500, 502, 504):
        responses.get(URL, status=status)
    responses.get(URL, json={"done": 1})
    assert get_json(session, URL, ctx=ctx) == {"done": 1}
    assert sleeps == [1.0, 2.0, 4.0]


@responses.activate
def test_gives_up_with_retry_later_after_max_retries(session, ctx, sleeps):
    responses.get(URL, status=500, body="Internal error")
    with pytest.raises(RetryLater, match=r"page 2: 500 Internal Server Error \(gave up after 4 attempts\)"):
        get_json(session, URL, ctx=ctx, what="page 2")
    assert len(responses.calls) == 4
    assert sleeps == [1.0, 2.0, 4.0]


@responses.activate
def test_throttled_to_the_end_keeps_retry_after(session, ctx):
    responses.get(URL, status=429, headers={"Retry-After": "5"})
    with pytest.raises(RetryLater) as caught:
        get_json(session, URL, ctx=ctx)
    assert caught.value.retry_after == 5.0


@responses.activate
def test_very_long_retry_after_is_left_to_the_scheduler(session, ctx, sleeps):
    responses.get(URL, status=429, headers={"Retry-After": "3600"})
    with pytest.raises(RetryLater, match="retry in 3600 s") as caught:
        get_json(session, URL, ctx=ctx)
    assert caught.value.retry_after == 3600.0
    assert sleeps == []


@responses.activate(registry=responses.registries.OrderedRegistry)
def test_connection_errors_and_timeouts_are_retried(session, ctx, sleeps):
    responses.get(URL, body=requests.ConnectionError("refused"))
    responses.get(URL, body=requests.ReadTimeout("slow"))
    responses.get(URL, json={"x": 1})
    assert get_json(session, URL, ctx=ctx) == {"x": 1}
    assert sleeps == [1.0, 2.0]


@responses.activate
def test_timeout_message_names_the_limit(session, ctx):
    responses.get(URL, body=requests.ReadTimeout("slow"))
    with pytest.raises(RetryLater, match=r"page 1: no answer within 2.5 s \(timeout\)"):
        get_json(session, URL, ctx=ctx, what="page 1")


@responses.activate
def test_other_http_errors_are_not_retried(session, ctx, sleeps):
    responses.get(URL, status=403, json={"error": {"code": "Authorization_RequestDenied", "message": "Nope."}})
    with pytest.raises(HttpError, match=r"403 Forbidden \(Authorization_RequestDenied: Nope.\)") as caught:
        get_json(session, URL, ctx=ctx, what="Graph")
    assert caught.value.status == 403
    assert caught.value.payload["error"]["code"] == "Authorization_RequestDenied"
    assert sleeps == []


@responses.activate
def test_truncated_json_names_url_without_query(session, ctx):
    responses.get(URL, body='{"contacts": [{"id": "1", "first_na')
    with pytest.raises(
        SourceError, match=r"page 3 of /contacts: truncated JSON from https://api.example.test/contacts \("
    ):
        get_json(session, URL, ctx=ctx, params={"secret": "x"}, what="page 3 of /contacts")


@responses.activate
def test_invalid_json(session, ctx):
    responses.get(URL, body="<html>maintenance</html>")
    with pytest.raises(SourceError, match="invalid JSON"):
        get_json(session, URL, ctx=ctx)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, None),
        ("", None),
        ("12", 12.0),
        ("1.5", 1.5),
        ("-3", 0.0),
        (email.utils.formatdate(NOW + 30, usegmt=True), 30.0),
        (email.utils.formatdate(NOW - 30, usegmt=True), 0.0),
        ("soon", None),
    ],
)
def test_parse_retry_after(value, expected):
    assert parse_retry_after(value, NOW) == expected


def test_backoff_is_capped():
    assert [backoff_delay(n) for n in range(8)] == [1, 2, 4, 8, 16, 32, 60, 60]
