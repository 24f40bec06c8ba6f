"""HTTP helpers for source plugins: JSON GETs with Retry-After, backoff and clear error messages."""

from __future__ import annotations

import email.utils
import json
from collections.abc import Mapping
from http import HTTPStatus
from typing import Any

import requests

from plugin_host.records import PullContext, RetryLater, SourceError

__all__ = [
    "RETRY_STATUSES",
    "THROTTLE_STATUSES",
    "HttpError",
    "backoff_delay",
    "get_json",
    "parse_retry_after",
]

THROTTLE_STATUSES = frozenset({429, 503})
"""Statuses whose ``Retry-After`` header we honour (the server tells us how long to wait)."""

RETRY_STATUSES = frozenset({500, 502, 504}) | THROTTLE_STATUSES
"""Statuses worth retrying within a run; any other 4xx/5xx is reported at once."""

MAX_BACKOFF = 60.0
MAX_WAIT = 300.0


class HttpError(SourceError):
    """A non-retryable HTTP status; plugins inspect ``status``/``payload`` to explain it."""

    def __init__(self, message: str, response: requests.Response) -> None:
        super().__init__(message)
        self.status: int = response.status_code
        self.reason: str = _reason(response)
        self.headers: Mapping[str, str] = response.headers
        self.text: str = response.text
        self.payload: Any = _try_json(response.text)


def get_json(
    session: requests.Session,
    url: str,
    *,
    ctx: PullContext,
    headers: Mapping[str, str] | None = None,
    params: Mapping[str, Any] | None = None,
    auth: Any = None,
    what: str = "request",
    max_wait: float = MAX_WAIT,
) -> Any:
    """GET ``url`` and return its decoded JSON body.

    Transient failures (connection errors, timeouts, 429/500/502/503/504) are retried up
    to ``ctx.max_retries`` times, sleeping through ``ctx.sleep``: ``Retry-After`` when the
    server sends one, else exponential backoff. When retries run out, or the server asks for
    a wait longer than ``max_wait`` seconds (better rescheduled than slept through), raises
    ``RetryLater``. Other HTTP errors raise ``HttpError``; an unreadable body raises
    ``SourceError``. ``what`` names the request in messages (e.g. ``"page 3 of /contacts"``).
    """
    attempt = 0
    while True:
        try:
            response = session.get(url, headers=dict(headers or {}), params=params, auth=auth, timeout=ctx.http_timeout)
        except (requests.ConnectionError, requests.Timeout, requests.exceptions.ChunkedEncodingError) as exc:
            problem, wait = _describe_network_error(exc, ctx), None
        else:
            if response.status_code < 400:
                return _decode(response, what)
            if response.status_code not in RETRY_STATUSES:
                raise HttpError(f"{what}: {_status_text(response)}{_error_detail(response)}", response)
            problem = _status_text(response)
            wait = parse_retry_after(response.headers.get("Retry-After"), ctx.now())
            if wait is not None and wait > max_wait:
                raise RetryLater(f"{what}: {problem}; the server asks to retry in {wait:.0f} s", wait)
        if attempt >= ctx.max_retries:
            raise RetryLater(f"{what}: {problem} (gave up after {attempt + 1} attempts)", wait)
        delay = wait if wait is not None else backoff_delay(attempt)
        ctx.log(f"{what}: {problem}; retrying in {delay:g} s")
        ctx.sleep(delay)
        attempt += 1


def parse_retry_after(value: str | None, now: float) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (delta-seconds or HTTP date), or ``None``."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:  # RFC 9110 dates are GMT; be lenient with servers that omit it
        return None
    return max(0.0, when.timestamp() - now)


def backoff_delay(attempt: int) -> float:
    """Exponential backoff for retry ``attempt`` (0-based): 1, 2, 4, ... capped at 60 seconds."""
    return min(MAX_BACKOFF, float(2**attempt))


def _decode(response: requests.Response, what: str) -> Any:
    try:
        return json.loads(response.content)
    except ValueError as exc:
        size = len(response.content)
        hint = "truncated" if _looks_truncated(response.content) else "invalid"
        raise SourceError(
            f"{what}: {hint} JSON from {_short_url(response.url)} ({exc} ; {size} bytes received)"
        ) from exc


def _looks_truncated(body: bytes) -> bool:
    text = body.strip()
    return bool(text) and text[:1] in (b"{", b"[") and text[-1:] not in (b"}", b"]")


def _describe_network_error(exc: Exception, ctx: PullContext) -> str:
    if isinstance(exc, requests.Timeout):
        return f"no answer within {ctx.http_timeout:g} s (timeout)"
    if isinstance(exc, requests.exceptions.ChunkedEncodingError):
        return "connection broken while reading the response"
    return f"connection failed ({type(exc).__name__}: {_first_line(exc)})"


def _status_text(response: requests.Response) -> str:
    return f"{response.status_code} {_reason(response)}".strip()


def _reason(response: requests.Response) -> str:
    # The standard phrase, not the server's spelling ("UNAUTHORIZED"), keeps messages uniform.
    try:
        return HTTPStatus(response.status_code).phrase
    except ValueError:
        return response.reason or ""


def _error_detail(response: requests.Response) -> str:
    """The server's own explanation, when it sends a short one (JSON error or plain text)."""
    payload = _try_json(response.text)
    if isinstance(payload, dict):
        error = payload.get("error")
        if isinstance(error, dict):  # Microsoft Graph / OData shape
            parts = [error.get("code"), error.get("message")]
            return " (" + ": ".join(str(p) for p in parts if p) + ")" if any(parts) else ""
        if error or payload.get("message"):  # OAuth2 / common shapes
            parts = [error, payload.get("error_description") or payload.get("message")]
            return " (" + ": ".join(str(p) for p in parts if p) + ")"
    text = response.text.strip()
    if text and len(text) <= 200 and "<" not in text:
        return f" ({text})"
    return ""


def _try_json(text: str) -> Any:
    try:
        return json.loads(text) if text else None
    except ValueError:
        return None


def _short_url(url: str | None) -> str:
    # Query strings can carry tokens (Graph skip/delta tokens): keep messages short and safe.
    return (url or "").split("?", 1)[0]


def _first_line(exc: Exception) -> str:
    text = str(exc).splitlines()[0] if str(exc) else ""
    return text[:200]
