"""The "Custom" contact source: a client for the PBX vendor's custom contacts HTTP protocol."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import requests

from plugin_host import (
    ContactRecord,
    CursorExpired,
    Deletion,
    EmailIn,
    PhoneIn,
    PullContext,
    SettingField,
    SkippedRecord,
    SourceError,
    SourceType,
    SyncEnd,
)
from plugin_host.records import contact_type, email_label, phone_label
from plugin_host.sources_http import HttpError, get_json

LABEL = "Custom source"
DEFAULT_PAGE_SIZE = 100

FIELDS = (
    SettingField("name", "Name", required=True, help="A label for this custom source."),
    SettingField("client_id", "Client ID", required=True, help="Login ID for the custom contact service."),
    SettingField(
        "client_secret",
        "Client Secret",
        type="password",
        required=True,
        secret=True,
        help="Secret (password) paired with the Client ID.",
    ),
    SettingField(
        "url",
        "URL",
        type="url",
        required=True,
        help="Base URL of the custom contact server, e.g. https://example.com:5555",
    ),
    SettingField(
        "page_size",
        "Page size",
        type="int",
        default=DEFAULT_PAGE_SIZE,
        help="Contacts requested per page (the limit parameter).",
    ),
)


@dataclass(frozen=True)
class CustomSettings:
    """Validated settings of one custom source."""

    base_url: str
    client_id: str
    client_secret: str
    page_size: int

    @classmethod
    def from_mapping(cls, settings: Mapping[str, Any]) -> CustomSettings:
        """Read the settings form's values; a missing value is a clear ``SourceError``."""
        missing = [f.label for f in FIELDS if f.required and not str(settings.get(f.name) or "").strip()]
        if missing:
            raise SourceError(f"{LABEL}: missing setting(s): {', '.join(missing)}")
        url = str(settings["url"]).strip().rstrip("/")
        if not url.startswith(("http://", "https://")):
            raise SourceError(f"{LABEL}: URL must start with http:// or https:// (got {url!r})")
        try:
            page_size = int(settings.get("page_size") or DEFAULT_PAGE_SIZE)
        except (TypeError, ValueError):
            raise SourceError(f"{LABEL}: page size must be a whole number") from None
        if page_size <= 0:
            raise SourceError(f"{LABEL}: page size must be positive")
        return cls(url, str(settings["client_id"]).strip(), str(settings["client_secret"]), page_size)


class CustomApi:
    """One run's connection: holds the bearer token and re-authenticates once per 401."""

    def __init__(self, session: requests.Session, conf: CustomSettings, ctx: PullContext) -> None:
        self.session, self.conf, self.ctx = session, conf, ctx
        self.token: str | None = None
        self.token_requests = 0

    def authenticate(self) -> None:
        """``GET {URL}/token`` with HTTP Basic; the answer is ``{"token": "..."}``."""
        self.token_requests += 1
        auth = requests.auth.HTTPBasicAuth(self.conf.client_id, self.conf.client_secret)
        try:
            body = get_json(self.session, self._url("/token"), ctx=self.ctx, auth=auth, what=f"{LABEL}: token request")
        except HttpError as exc:
            hint = " (check Client ID / Client Secret)" if exc.status in (401, 403) else ""
            raise SourceError(f"{LABEL}: token request failed: {exc.status} {exc.reason}{hint}".rstrip()) from exc
        token = body.get("token") if isinstance(body, dict) else None
        if not isinstance(token, str) or not token:
            raise SourceError(f'{LABEL}: token request failed: the answer has no "token" field')
        self.token = token

    def get(self, path: str, params: Mapping[str, Any], what: str) -> dict[str, Any]:
        """An authenticated GET; tokens live ~2 minutes, so a 401 gets one fresh token and a retry."""
        if self.token is None:
            self.authenticate()
        try:
            body = self._get(path, params, what)
        except HttpError as exc:
            if exc.status != 401:
                raise
            self.ctx.log(f"{what}: 401 Unauthorized, requesting a new token")
            self.authenticate()
            try:
                body = self._get(path, params, what)
            except HttpError as again:
                if again.status == 401:
                    raise SourceError(
                        f"{what}: 401 Unauthorized even with a fresh token (the server rejects its own tokens)"
                    ) from again
                raise
        if not isinstance(body, dict):
            raise SourceError(f"{what}: expected a JSON object, got {type(body).__name__}")
        return body

    def _get(self, path: str, params: Mapping[str, Any], what: str) -> Any:
        headers = {"Authorization": f"Bearer {self.token}", "Accept": "application/json"}
        return get_json(self.session, self._url(path), ctx=self.ctx, headers=headers, params=params, what=what)

    def _url(self, path: str) -> str:
        return self.conf.base_url + path


def pull(settings: Mapping[str, Any], cursor: str | None, ctx: PullContext) -> Iterator[Any]:
    """Full sync when ``cursor`` is ``None``, else a delta since the cursor's timestamp."""
    conf = CustomSettings.from_mapping(settings)
    since = read_cursor(cursor)
    # The next delta starts at this run's start: the server compares with >=, so overlap is harmless.
    started = max(1, int(ctx.now()))
    with requests.Session() as session:
        api = CustomApi(session, conf, ctx)
        if since is None:
            yield from pull_full(api)
        else:
            yield from pull_delta(api, since)
    yield SyncEnd(make_cursor(started), full_snapshot=since is None)


def pull_full(api: CustomApi) -> Iterator[ContactRecord | SkippedRecord]:
    """``GET /contacts?limit=&page=`` from page 1 until ``has_more`` is false."""
    page = 1
    while True:
        what = f"{LABEL}: page {page} of /contacts"
        body = api.get("/contacts", {"limit": api.conf.page_size, "page": page}, what)
        contacts = _list(body, "contacts", what)
        for item in contacts:
            yield to_record(item)
        if not _has_more(body, not contacts, what):
            return
        page += 1


def pull_delta(api: CustomApi, since: int) -> Iterator[ContactRecord | SkippedRecord | Deletion]:
    """``GET /contacts/delta?limit=&page=&timestamp=``: ``updated`` and ``deleted`` paged together.

    The reference server consumes tombstones as it serves them, so deletions are yielded as
    soon as each page arrives; a page's deletions come before its updates so that an id
    deleted and then re-created ends up present.
    """
    page = 1
    while True:
        what = f"{LABEL}: page {page} of /contacts/delta"
        params = {"limit": api.conf.page_size, "page": page, "timestamp": since}
        body = api.get("/contacts/delta", params, what)
        updated, deleted = _list(body, "updated", what), _list(body, "deleted", what)
        for ext_id in deleted:
            if isinstance(ext_id, str | int) and str(ext_id):
                yield Deletion(str(ext_id))
        for item in updated:
            yield to_record(item)
        if not _has_more(body, not (updated or deleted), what):
            return
        page += 1


def to_record(item: Any) -> ContactRecord | SkippedRecord:
    """Map one wire contact; one without ``first_name``/``last_name`` is skipped, not fatal."""
    if not isinstance(item, dict):
        return SkippedRecord(None, f"contact is not a JSON object: {str(item)[:80]}")
    ext_id = item.get("id")
    if ext_id is None or str(ext_id).strip() == "":
        return SkippedRecord(None, "contact without an id")
    ext_id = str(ext_id)
    missing = [key for key in ("first_name", "last_name") if not _text(item.get(key))]
    if missing:
        return SkippedRecord(ext_id, f"missing {' and '.join(missing)}")
    return ContactRecord(
        external_id=ext_id,
        first_name=_text(item.get("first_name")),
        last_name=_text(item.get("last_name")),
        company=_text(item.get("company")) if "company" in item else None,
        contact_type=contact_type(_text(item.get("type"))),
        fb_user_id=_text(item.get("fb_user_id")) or None,
        phones=_phones(item["phones"]) if "phones" in item else None,
        emails=_emails(item["emails"]) if "emails" in item else None,
    )


def read_cursor(cursor: str | None) -> int | None:
    """The stored ``{"timestamp": <unix seconds>}``; an unreadable one forces a full sync."""
    if cursor is None:
        return None
    try:
        value = json.loads(cursor)["timestamp"]
    except (ValueError, TypeError, KeyError):
        raise CursorExpired(f"{LABEL}: the stored sync cursor is unreadable; a full sync is needed") from None
    if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
        # The server rejects timestamp <= 0 with 400: only a full sync can recover.
        raise CursorExpired(f"{LABEL}: the stored sync timestamp {value!r} is invalid; a full sync is needed")
    return value


def make_cursor(started: int) -> str:
    """The cursor stored after a successful run: the run's start time in Unix seconds."""
    return json.dumps({"timestamp": started})


def _phones(value: Any) -> tuple[PhoneIn, ...]:
    return tuple(
        PhoneIn(_text(p.get("number")), phone_label(_text(p.get("label"))))
        for p in value or ()
        if isinstance(p, dict) and _text(p.get("number"))
    )


def _emails(value: Any) -> tuple[EmailIn, ...]:
    return tuple(
        EmailIn(_text(e.get("email")), email_label(_text(e.get("label"))))
        for e in value or ()
        if isinstance(e, dict) and _text(e.get("email"))
    )


def _text(value: Any) -> str:
    if value is None or isinstance(value, dict | list):
        return ""
    return str(value).strip()


def _list(body: Mapping[str, Any], key: str, what: str) -> list[Any]:
    value = body.get(key)
    if value is None:  # Go encodes an empty slice as null
        return []
    if not isinstance(value, list):
        raise SourceError(f'{what}: "{key}" should be a list, got {type(value).__name__}')
    return value


def _has_more(body: Mapping[str, Any], empty: bool, what: str) -> bool:
    more = body.get("has_more") is True
    if more and empty:
        # Following it would loop forever: a server bug, better reported than hidden.
        raise SourceError(f"{what}: the server says has_more but sent an empty page")
    return more


SOURCE_TYPE = SourceType(
    name="custom",
    label="Custom",
    fields=FIELDS,
    pull=pull,
    description=(
        "A third-party or self-hosted contact service speaking the custom contacts protocol "
        "(GET /token with Basic auth, then /contacts and /contacts/delta with a bearer token)."
    ),
    erase_warning=(
        "This action will delete all data related to this custom contact source, including contacts "
        "and activities related to those contacts. Are you sure you want to continue with this action?"
    ),
)
