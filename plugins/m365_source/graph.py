"""The "Microsoft 365" contact source: Microsoft Graph orgContact (and user) delta queries via msal."""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import quote, urlsplit

import requests

from plugin_host import (
    ContactRecord,
    CursorExpired,
    Deletion,
    EmailIn,
    PhoneIn,
    PullContext,
    RetryLater,
    SettingField,
    SkippedRecord,
    SourceError,
    SourceType,
    SyncEnd,
)
from plugin_host.sources_http import HttpError, get_json

LABEL = "Microsoft Graph"
SIGN_IN = "Microsoft 365"
DEFAULT_AUTHORITY = "https://login.microsoftonline.com"
DEFAULT_GRAPH = "https://graph.microsoft.com"
RESET_CODES = frozenset({"syncStateNotFound", "resyncRequired"})

# Graph phoneType -> our label; orgContacts carry only mobile, business and businessFax.
PHONE_TYPES = {
    "mobile": "mobile",
    "business": "work",
    "businessFax": "fax",
    "home": "home",
    "homeFax": "fax",
    "otherFax": "fax",
}

PERMISSIONS_HELP = (
    "In the Azure portal (App registrations -> your app -> API permissions) add Microsoft Graph "
    "Application permissions (not Delegated) and grant admin consent: OrgContact.Read.All for "
    'organisational contacts, plus User.Read.All when "Also sync directory users" is on. '
    "Directory.Read.All (or Directory.ReadWrite.All) covers both."
)

FIELDS = (
    SettingField("client_id", "Client ID", required=True, help="Azure application (client) ID."),
    SettingField(
        "client_secret",
        "Client Secret",
        type="password",
        required=True,
        secret=True,
        help="A client secret of that application.",
    ),
    SettingField("tenant_id", "Tenant ID", required=True, help="Microsoft 365 tenant (directory) ID or domain."),
    SettingField(
        "include_users",
        "Also sync directory users",
        type="bool",
        default=False,
        help="Besides organisational contacts, import the tenant's users (needs User.Read.All).",
    ),
    SettingField(
        "authority_url",
        "Sign-in authority",
        type="url",
        default=DEFAULT_AUTHORITY,
        help="Change only for national clouds, e.g. https://login.microsoftonline.us",
    ),
    SettingField(
        "graph_url",
        "Microsoft Graph URL",
        type="url",
        default=DEFAULT_GRAPH,
        help="Change only for national clouds, e.g. https://graph.microsoft.us",
    ),
)


@dataclass(frozen=True)
class GraphSettings:
    """Validated settings of one Microsoft 365 source."""

    client_id: str
    client_secret: str
    tenant_id: str
    include_users: bool
    authority_url: str
    graph_url: str

    @classmethod
    def from_mapping(cls, settings: Mapping[str, Any]) -> GraphSettings:
        """Read the settings form's values; a missing value is a clear ``SourceError``."""
        missing = [f.label for f in FIELDS if f.required and not str(settings.get(f.name) or "").strip()]
        if missing:
            raise SourceError(f"{SIGN_IN}: missing setting(s): {', '.join(missing)}")
        return cls(
            client_id=str(settings["client_id"]).strip(),
            client_secret=str(settings["client_secret"]),
            tenant_id=str(settings["tenant_id"]).strip(),
            include_users=_truthy(settings.get("include_users")),
            authority_url=_base_url(settings.get("authority_url"), DEFAULT_AUTHORITY),
            graph_url=_base_url(settings.get("graph_url"), DEFAULT_GRAPH),
        )

    @property
    def scope(self) -> str:
        """Client-credentials scope: every application permission granted on this Graph."""
        return f"{self.graph_url}/.default"


# ---------------------------------------------------------------- msal applications

# One msal application per credential set for the process lifetime, so its token cache
# (access tokens live ~1 hour) is reused across runs instead of signing in every run.
_APPS: dict[tuple[str, str, str, str], Any] = {}
_APPS_LOCK = threading.Lock()


def confidential_app(conf: GraphSettings, ctx: PullContext) -> Any:
    """The shared ``msal.ConfidentialClientApplication`` for these settings (built on first use)."""
    secret_hash = hashlib.sha256(conf.client_secret.encode()).hexdigest()
    key = (conf.authority_url, conf.tenant_id, conf.client_id, secret_hash)
    with _APPS_LOCK:
        app = _APPS.get(key)
    if app is None:
        app = _build_app(conf, ctx)  # network (tenant discovery): not under the lock
        with _APPS_LOCK:
            app = _APPS.setdefault(key, app)
    return app


def clear_app_cache() -> None:
    """Forget every msal application (tests; or after credentials were revoked)."""
    with _APPS_LOCK:
        _APPS.clear()


def _build_app(conf: GraphSettings, ctx: PullContext) -> Any:
    import msal  # heavy (cryptography, jwt): import when a sync actually runs

    authority = f"{conf.authority_url}/{quote(conf.tenant_id, safe='.-')}"
    try:
        # Client credentials against one specific tenant need no instance (alias) discovery.
        return msal.ConfidentialClientApplication(
            conf.client_id,
            client_credential=conf.client_secret,
            authority=authority,
            instance_discovery=False,
            timeout=ctx.http_timeout,
        )
    except ValueError as exc:
        raise SourceError(
            f"{SIGN_IN}: the sign-in authority does not know tenant {conf.tenant_id!r} "
            f"(check Tenant ID): {_first_line(str(exc))}"
        ) from exc
    except requests.RequestException as exc:
        raise RetryLater(f"{SIGN_IN}: cannot reach the sign-in authority {authority}: {_first_line(str(exc))}") from exc


def acquire_token(app: Any, conf: GraphSettings) -> str:
    """An app-only access token (from msal's cache while it is valid)."""
    try:
        result = app.acquire_token_for_client(scopes=[conf.scope])
    except requests.RequestException as exc:
        raise RetryLater(f"{SIGN_IN}: token request failed: {_first_line(str(exc))}") from exc
    if result and result.get("access_token"):
        return str(result["access_token"])
    result = result or {}
    reason = ": ".join(
        part
        for part in (
            str(result.get("error") or "unknown_error"),
            _first_line(str(result.get("error_description") or "")),
        )
        if part
    )
    raise SourceError(f"{SIGN_IN}: token request failed: {reason} (check Client ID / Client Secret / Tenant ID)")


# ---------------------------------------------------------------- Graph calls


class _SyncReset(SourceError):
    """Graph says the delta/skip token is no longer valid (410, syncStateNotFound, resyncRequired)."""


class GraphApi:
    """One run's Graph connection: bearer token from msal, one forced token refresh on 401."""

    def __init__(self, session: requests.Session, conf: GraphSettings, ctx: PullContext) -> None:
        self.session, self.conf, self.ctx = session, conf, ctx
        self.app = confidential_app(conf, ctx)

    def get(self, url: str, what: str, permission: str) -> dict[str, Any]:
        """GET a Graph URL (absolute, on the configured Graph host) and return its JSON object."""
        self._check_host(url, what)
        try:
            body = self._get(url, what)
        except HttpError as exc:
            if exc.status != 401:
                raise self._explain(exc, what, permission) from exc
            self.ctx.log(f"{what}: 401 Unauthorized, refreshing the access token")
            self.app.remove_tokens_for_client()  # else msal hands back the same cached token
            try:
                body = self._get(url, what)
            except HttpError as again:
                raise self._explain(again, what, permission) from again
        if not isinstance(body, dict):
            raise SourceError(f"{what}: expected a JSON object, got {type(body).__name__}")
        return body

    def _get(self, url: str, what: str) -> Any:
        headers = {"Authorization": f"Bearer {acquire_token(self.app, self.conf)}", "Accept": "application/json"}
        return get_json(self.session, url, ctx=self.ctx, headers=headers, what=what)

    def _explain(self, exc: HttpError, what: str, permission: str) -> SourceError:
        code = _error_code(exc.payload)
        if exc.status == 410 or code in RESET_CODES:
            return _SyncReset(str(exc))
        if exc.status == 403:
            return SourceError(
                f"{exc}: the app needs the {permission} application permission "
                "(or Directory.Read.All) with admin consent"
            )
        if exc.status == 401:
            return SourceError(f"{exc}: the access token is rejected even after a refresh (check Tenant ID)")
        return exc

    def _check_host(self, url: str, what: str) -> None:
        # Links come from Graph or from the stored cursor: never send the token elsewhere.
        if _origin(url) != _origin(self.conf.graph_url):
            raise SourceError(f"{what}: refusing to follow a link to another host ({_origin(url)})")


# ---------------------------------------------------------------- streams and pull


@dataclass(frozen=True)
class Stream:
    """One delta collection: orgContacts, or directory users."""

    key: str
    path: str
    select: str
    id_prefix: str
    permission: str
    to_record: Callable[[Mapping[str, Any], str], ContactRecord | SkippedRecord]

    def initial_url(self, conf: GraphSettings) -> str:
        """The first request of a full round; Graph folds ``$select`` into later links."""
        return f"{conf.graph_url}/v1.0/{self.path}/delta?$select={self.select}"


def pull(settings: Mapping[str, Any], cursor: str | None, ctx: PullContext) -> Iterator[Any]:
    """Full round of every stream when ``cursor`` is ``None``, else follow the stored deltaLinks."""
    conf = GraphSettings.from_mapping(settings)
    streams = [CONTACTS, USERS] if conf.include_users else [CONTACTS]
    links = read_cursor(cursor, conf, [s.key for s in streams])
    new_links: dict[str, str] = {}
    with requests.Session() as session:
        api = GraphApi(session, conf, ctx)
        for stream in streams:
            new_links[stream.key] = yield from pull_stream(api, stream, links.get(stream.key))
    yield SyncEnd(make_cursor(conf, new_links), full_snapshot=cursor is None)


def pull_stream(api: GraphApi, stream: Stream, delta_link: str | None) -> Iterator[Any]:
    """Follow ``@odata.nextLink`` pages until the ``@odata.deltaLink``, which is returned."""
    url, page = delta_link or stream.initial_url(api.conf), 1
    while True:
        what = f"{LABEL}: page {page} of /{stream.path}/delta"
        try:
            body = api.get(url, what, stream.permission)
        except _SyncReset as exc:
            if delta_link:
                raise CursorExpired(f"{exc} (the delta token expired; a full sync is needed)") from exc
            raise SourceError(f"{exc} (during a full sync; it will start over on the next run)") from exc
        yield from _page_items(api, stream, body.get("value"), what)
        if body.get("@odata.nextLink"):
            url, page = str(body["@odata.nextLink"]), page + 1
        elif body.get("@odata.deltaLink"):
            return str(body["@odata.deltaLink"])
        else:
            raise SourceError(f"{what}: the answer has neither @odata.nextLink nor @odata.deltaLink")


def _page_items(api: GraphApi, stream: Stream, items: Any, what: str) -> Iterator[Any]:
    if items is None:
        return
    if not isinstance(items, list):
        raise SourceError(f'{what}: "value" should be a list, got {type(items).__name__}')
    for item in items:
        if not isinstance(item, dict) or not item.get("id"):
            yield SkippedRecord(None, f"{what}: item without an id")
        elif "@removed" in item:
            yield Deletion(stream.id_prefix + str(item["id"]))
        elif stream is CONTACTS and "phones" not in item:
            yield _reread_contact(api, item, what)
        else:
            yield stream.to_record(item, stream.id_prefix)


def _reread_contact(api: GraphApi, item: Mapping[str, Any], what: str) -> ContactRecord | SkippedRecord | Deletion:
    """Re-read one orgContact whose delta item came without ``phones``.

    ``phones`` is in our ``$select``, and Graph normally returns every selected property on
    delta pages; but it has been reported to leave phones out of orgContact delta. Only when
    an item lacks the key do we fetch the contact itself, so a well-behaved tenant costs
    nothing extra.
    """
    contact_id = str(item["id"])
    url = f"{api.conf.graph_url}/v1.0/contacts/{quote(contact_id, safe='')}?$select={CONTACTS.select}"
    try:
        full = api.get(url, f"{what}: re-reading contact {contact_id}", CONTACTS.permission)
    except HttpError as exc:
        if exc.status == 404:  # deleted since the delta page was built
            return Deletion(contact_id)
        raise
    return contact_record({**item, **full}, "")


def read_cursor(cursor: str | None, conf: GraphSettings, keys: list[str]) -> dict[str, str]:
    """The stored deltaLinks by stream; a cursor that no longer fits the settings forces a full sync."""
    if cursor is None:
        return {}
    try:
        data = json.loads(cursor)
        links = {key: data[key] for key in keys}
    except (ValueError, TypeError, KeyError):
        raise CursorExpired(
            f"{SIGN_IN}: the stored delta cursor does not match the settings (e.g. directory users were "
            "switched on); a full sync is needed"
        ) from None
    if set(data) - {"tenant", "client_id", *keys} or (data.get("tenant"), data.get("client_id")) != (
        conf.tenant_id,
        conf.client_id,
    ):
        raise CursorExpired(f"{SIGN_IN}: the settings changed since the last sync; a full sync is needed")
    if any(not isinstance(link, str) or _origin(link) != _origin(conf.graph_url) for link in links.values()):
        raise CursorExpired(f"{SIGN_IN}: the stored delta links are not on {conf.graph_url}; a full sync is needed")
    return links


def make_cursor(conf: GraphSettings, links: Mapping[str, str]) -> str:
    """JSON holding one deltaLink per stream, tagged with the tenant and app they belong to."""
    return json.dumps({"tenant": conf.tenant_id, "client_id": conf.client_id, **links}, sort_keys=True)


# ---------------------------------------------------------------- mapping


def contact_record(item: Mapping[str, Any], prefix: str) -> ContactRecord | SkippedRecord:
    """Map an orgContact; an absent property is "not provided", a null one is empty."""
    ext_id = prefix + str(item["id"])
    first, last = _names(item)
    if not first and not last:
        return SkippedRecord(ext_id, "no givenName, surname or displayName")
    phones = None
    if "phones" in item:
        phones = tuple(
            PhoneIn(str(p["number"]).strip(), PHONE_TYPES.get(str(p.get("type")), "other"))
            for p in item["phones"] or ()
            if isinstance(p, dict) and str(p.get("number") or "").strip()
        )
    return ContactRecord(
        external_id=ext_id,
        first_name=first,
        last_name=last,
        company=_prop(item, "companyName"),
        org_department=_prop(item, "department"),
        title=_prop(item, "jobTitle"),
        emails=_mail(item),
        phones=phones,
    )


def user_record(item: Mapping[str, Any], prefix: str) -> ContactRecord | SkippedRecord:
    """Map a directory user: ``businessPhones`` are work numbers, ``mobilePhone`` the mobile."""
    record = contact_record({k: v for k, v in item.items() if k != "phones"}, prefix)
    if isinstance(record, SkippedRecord) or not ({"businessPhones", "mobilePhone"} & set(item)):
        return record
    numbers = [PhoneIn(str(n).strip(), "work") for n in item.get("businessPhones") or () if str(n or "").strip()]
    if str(item.get("mobilePhone") or "").strip():
        numbers.append(PhoneIn(str(item["mobilePhone"]).strip(), "mobile"))
    return replace(record, phones=tuple(numbers))


def _names(item: Mapping[str, Any]) -> tuple[str, str]:
    first, last = _text(item.get("givenName")), _text(item.get("surname"))
    if first or last:
        return first, last
    parts = _text(item.get("displayName")).split(None, 1)
    return (parts[0] if parts else ""), (parts[1] if len(parts) > 1 else "")


def _mail(item: Mapping[str, Any]) -> tuple[EmailIn, ...] | None:
    if "mail" not in item:
        return None
    mail = _text(item["mail"])
    return (EmailIn(mail, "business"),) if mail else ()


def _prop(item: Mapping[str, Any], key: str) -> str | None:
    return _text(item[key]) if key in item else None


def _text(value: Any) -> str:
    return "" if value is None else str(value).strip()


def _truthy(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in ("1", "true", "yes", "on")
    return bool(value)


def _base_url(value: Any, default: str) -> str:
    url = str(value or "").strip().rstrip("/") or default
    if not url.startswith("https://"):
        raise SourceError(f"{SIGN_IN}: {url!r} must be an https:// URL")
    return url


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower()


def _error_code(payload: Any) -> str | None:
    error = payload.get("error") if isinstance(payload, dict) else None
    return error.get("code") if isinstance(error, dict) else None


def _first_line(text: str) -> str:
    return text.strip().splitlines()[0][:300] if text.strip() else ""


CONTACTS = Stream(
    key="contacts",
    path="contacts",
    id_prefix="",
    permission="OrgContact.Read.All",
    to_record=contact_record,
    select="id,displayName,givenName,surname,mail,companyName,department,jobTitle,phones",
)
USERS = Stream(
    key="users",
    path="users",
    id_prefix="user:",
    permission="User.Read.All",
    to_record=user_record,
    select="id,displayName,givenName,surname,mail,companyName,department,jobTitle,businessPhones,mobilePhone",
)

SOURCE_TYPE = SourceType(
    name="m365",
    label="Microsoft 365",
    fields=FIELDS,
    pull=pull,
    description="Organisational contacts (and optionally users) of a Microsoft 365 tenant, via Microsoft Graph.",
    erase_warning=(
        "This action will delete all data related to Microsoft 365, including contacts and activities "
        "related to those contacts. Are you sure you want to continue with this action?"
    ),
    permissions_help=PERMISSIONS_HELP,
)
