"""A fake Microsoft identity platform + Graph (orgContact and user delta) over HTTPS on 127.0.0.1."""

from __future__ import annotations

import itertools
import secrets
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from werkzeug.wrappers import Request, Response

from tests.fakes.base import FakeServer, json_response
from tests.fakes.tls import localhost_cert

COLLECTIONS = ("contacts", "users")
NEEDED = {"contacts": "OrgContact.Read.All", "users": "User.Read.All"}


@dataclass
class _Collection:
    objects: dict[str, dict[str, Any]] = field(default_factory=dict)
    versions: dict[str, int] = field(default_factory=dict)  # id -> change sequence number
    removed: dict[str, int] = field(default_factory=dict)


class FakeGraphServer(FakeServer):
    """Sign-in (openid discovery + client-credentials token) and Graph delta, in memory.

    Both the authority and Graph live at ``url`` (HTTPS with a self-signed certificate; point
    ``REQUESTS_CA_BUNDLE`` at ``ca_file``). Delta rounds page ``page_size`` items with
    ``@odata.nextLink`` and end with an ``@odata.deltaLink``; later rounds return changed
    objects and ``@removed`` tombstones. ``expire_delta_links()`` makes issued links fail
    (410 resyncRequired, or 400 syncStateNotFound), ``revoke_tokens()`` makes access tokens
    fail with 401, ``omit_phones_in_delta`` mimics Graph leaving phones out of delta pages.
    """

    scheme = "https"

    def __init__(
        self,
        *,
        tenant: str = "contoso-tenant",
        client_id: str = "graph-app-id",
        client_secret: str = "graph-app-secret",
        token_ttl: int = 3599,
        page_size: int = 100,
        permissions: tuple[str, ...] = ("OrgContact.Read.All", "User.Read.All"),
        clock: Callable[[], float] = time.time,
    ) -> None:
        super().__init__()
        self.tenant, self.client_id, self.client_secret = tenant, client_id, client_secret
        self.token_ttl, self.page_size, self.clock = token_ttl, page_size, clock
        self.permissions = set(permissions)
        self.omit_phones_in_delta = False
        self.expiry_mode = "410"
        self.token_requests = 0
        self.tokens: dict[str, float] = {}
        self.data = {name: _Collection() for name in COLLECTIONS}
        self._seq = itertools.count(1)
        self._generation = 0
        self._delta_tokens: dict[str, tuple[int, int, str]] = {}  # token -> (generation, seq, select)
        self._rounds: dict[str, tuple[int, list[dict[str, Any]], str, int]] = {}

    def ssl_context(self) -> Any:
        return localhost_cert()

    @property
    def ca_file(self) -> str:
        """The certificate to trust (``REQUESTS_CA_BUNDLE``)."""
        return localhost_cert()[0]

    def settings(self, **overrides: Any) -> dict[str, Any]:
        """Settings for the "m365" source type pointing at this server."""
        return {
            "client_id": self.client_id,
            "client_secret": self.client_secret,
            "tenant_id": self.tenant,
            "include_users": False,
            "authority_url": self.url,
            "graph_url": self.url,
            **overrides,
        }

    # -- data API (properties use Graph's names: givenName, surname, companyName, phones...)

    def add_contact(self, given_name: str | None = None, surname: str | None = None, **props: Any) -> str:
        """Add an orgContact, e.g. ``add_contact("Ann", "Lee", mail=..., phones=[{"type": "mobile", ...}])``."""
        props.setdefault("displayName", " ".join(p for p in (given_name, surname) if p) or None)
        return self._put("contacts", {"givenName": given_name, "surname": surname, "phones": [], **props})

    def add_user(self, given_name: str | None = None, surname: str | None = None, **props: Any) -> str:
        """Add a directory user (``businessPhones``, ``mobilePhone``, ``mail``, ``jobTitle``...)."""
        props.setdefault("displayName", " ".join(p for p in (given_name, surname) if p) or None)
        return self._put("users", {"givenName": given_name, "surname": surname, "businessPhones": [], **props})

    def edit_contact(self, object_id: str, **props: Any) -> None:
        """Change properties of an orgContact (a ``None`` value clears it)."""
        self._edit("contacts", object_id, props)

    def edit_user(self, object_id: str, **props: Any) -> None:
        """Change properties of a user."""
        self._edit("users", object_id, props)

    def delete_contact(self, object_id: str) -> None:
        """Delete an orgContact; later delta rounds report it ``@removed``."""
        self._delete("contacts", object_id)

    def delete_user(self, object_id: str) -> None:
        """Delete a user."""
        self._delete("users", object_id)

    def expire_delta_links(self, mode: str = "410") -> None:
        """Invalidate issued delta/skip tokens; ``mode``: ``410``, ``syncStateNotFound`` or ``resyncRequired``."""
        with self.lock:
            self._generation += 1
            self.expiry_mode = mode

    def revoke_tokens(self) -> None:
        """Access tokens issued so far now get 401 (msal still believes them valid)."""
        with self.lock:
            self.tokens.clear()

    # -- routing

    def handle(self, request: Request) -> Response:
        parts = request.path.strip("/").split("/")
        if parts[1:] == ["v2.0", ".well-known", "openid-configuration"]:
            return self._discovery(parts[0])
        if parts[1:] == ["oauth2", "v2.0", "token"] and request.method == "POST":
            return self._token(parts[0], request)
        if parts[:1] == ["v1.0"] and request.method == "GET":
            return self._graph(parts[1:], request)
        return _graph_error(404, "Request_ResourceNotFound", f"Resource not found: {request.path}")

    def _discovery(self, tenant: str) -> Response:
        if tenant != self.tenant:
            return json_response(
                {"error": "invalid_tenant", "error_description": f"AADSTS90002: Tenant '{tenant}' not found."}, 400
            )
        base = f"{self.url}/{tenant}"
        return json_response(
            {
                "authorization_endpoint": f"{base}/oauth2/v2.0/authorize",
                "token_endpoint": f"{base}/oauth2/v2.0/token",
                "issuer": f"{base}/v2.0",
            }
        )

    def _token(self, tenant: str, request: Request) -> Response:
        self.token_requests += 1
        form = request.form
        if tenant != self.tenant:
            return _oauth_error(400, "invalid_tenant", f"AADSTS90002: Tenant '{tenant}' not found.")
        if form.get("grant_type") != "client_credentials" or not form.get("scope", "").endswith("/.default"):
            return _oauth_error(400, "invalid_request", "AADSTS900144: bad grant_type or scope.")
        if form.get("client_id") != self.client_id:
            return _oauth_error(
                400,
                "unauthorized_client",
                f"AADSTS700016: Application with identifier '{form.get('client_id')}' was not found in the directory.",
            )
        if form.get("client_secret") != self.client_secret:
            return _oauth_error(401, "invalid_client", "AADSTS7000215: Invalid client secret provided.")
        token = secrets.token_urlsafe(24)
        self.tokens[token] = self.clock() + self.token_ttl
        return json_response(
            {
                "token_type": "Bearer",
                "expires_in": self.token_ttl,
                "ext_expires_in": self.token_ttl,
                "access_token": token,
            }
        )

    def _graph(self, parts: list[str], request: Request) -> Response:
        header = request.headers.get("Authorization", "")
        expires = self.tokens.get(header.removeprefix("Bearer ")) if header.startswith("Bearer ") else None
        if expires is None or self.clock() >= expires:
            return _graph_error(401, "InvalidAuthenticationToken", "Access token has expired or is not yet valid.")
        if not parts or parts[0] not in COLLECTIONS:
            return _graph_error(404, "Request_ResourceNotFound", "Resource not found.")
        name = parts[0]
        if not self.permissions & {NEEDED[name], "Directory.Read.All"}:
            return _graph_error(
                403, "Authorization_RequestDenied", "Insufficient privileges to complete the operation."
            )
        if parts[1:] == ["delta"]:
            return self._delta(name, request)
        if len(parts) == 2:
            return self._get_one(name, parts[1], request.args.get("$select", ""))
        return _graph_error(400, "BadRequest", "Unsupported request.")

    # -- delta

    def _delta(self, name: str, request: Request) -> Response:
        args = request.args
        if "$skiptoken" in args:
            return self._page(name, args["$skiptoken"])
        if "$deltatoken" in args:
            state = self._delta_tokens.get(args["$deltatoken"])
            if state is None or state[0] != self._generation:
                return self._expired(request)
            return self._start_round(name, since=state[1], select=state[2])
        return self._start_round(name, since=None, select=args.get("$select", ""))

    def _start_round(self, name: str, since: int | None, select: str) -> Response:
        col = self.data[name]
        ids = (
            sorted(col.objects, key=lambda i: col.versions[i])
            if since is None
            else [i for i in sorted(col.objects, key=lambda i: col.versions[i]) if col.versions[i] > since]
        )
        items = [self._render(col.objects[i], select, delta=True) for i in ids]
        if since is not None:
            items += [
                {"id": i, "@removed": {"reason": "deleted"}}
                for i, seq in col.removed.items()
                if seq > since and i not in col.objects
            ]
        round_id = secrets.token_urlsafe(8)
        self._rounds[round_id] = (self._generation, items, select, self._current_seq())
        return self._page(name, f"{round_id}.0")

    def _page(self, name: str, skiptoken: str) -> Response:
        round_id, _, offset_text = skiptoken.partition(".")
        state = self._rounds.get(round_id)
        if state is None or state[0] != self._generation or not offset_text.isdigit():
            return self._expired(None)
        _, items, select, end_seq = state
        offset = int(offset_text)
        body: dict[str, Any] = {"@odata.context": f"{self.url}/v1.0/$metadata#{name}"}
        body["value"] = items[offset : offset + self.page_size]
        if offset + self.page_size < len(items):
            body["@odata.nextLink"] = f"{self.url}/v1.0/{name}/delta?$skiptoken={round_id}.{offset + self.page_size}"
        else:
            token = secrets.token_urlsafe(12)
            self._delta_tokens[token] = (self._generation, end_seq, select)
            body["@odata.deltaLink"] = f"{self.url}/v1.0/{name}/delta?$deltatoken={token}"
        return json_response(body)

    def _expired(self, request: Request | None) -> Response:
        if self.expiry_mode == "410":
            location = f"{self.url}{request.path}?$deltatoken=" if request is not None else ""
            return _graph_error(410, "resyncRequired", "The delta token is no longer valid.", {"Location": location})
        if self.expiry_mode == "resyncRequired":
            return _graph_error(400, "resyncRequired", "The delta token is no longer valid.")
        return _graph_error(
            400,
            "syncStateNotFound",
            "The sync state generation is not found. The delta token is expired and data must be synchronized again.",
        )

    def _get_one(self, name: str, object_id: str, select: str) -> Response:
        obj = self.data[name].objects.get(object_id)
        if obj is None:
            return _graph_error(404, "Request_ResourceNotFound", f"Resource '{object_id}' does not exist.")
        return json_response(self._render(obj, select, delta=False))

    def _render(self, obj: dict[str, Any], select: str, *, delta: bool) -> dict[str, Any]:
        keys = [k for k in select.split(",") if k] or list(obj)
        out = {k: obj[k] for k in keys if k in obj}
        out["id"] = obj["id"]
        if delta and self.omit_phones_in_delta:
            out.pop("phones", None)
        return out

    # -- storage

    def _put(self, name: str, props: dict[str, Any]) -> str:
        with self.lock:
            object_id = str(props.pop("id", None) or uuid.uuid4())
            col = self.data[name]
            col.objects[object_id] = {"id": object_id, **props}
            col.versions[object_id] = next(self._seq)
            col.removed.pop(object_id, None)
            return object_id

    def _edit(self, name: str, object_id: str, props: dict[str, Any]) -> None:
        with self.lock:
            col = self.data[name]
            col.objects[object_id].update(props)
            col.versions[object_id] = next(self._seq)

    def _delete(self, name: str, object_id: str) -> None:
        with self.lock:
            col = self.data[name]
            del col.objects[object_id]
            col.removed[object_id] = next(self._seq)

    def _current_seq(self) -> int:
        latest = [v for col in self.data.values() for v in (*col.versions.values(), *col.removed.values())]
        return max(latest, default=0)


def _graph_error(status: int, code: str, message: str, headers: dict[str, str] | None = None) -> Response:
    body = {"error": {"code": code, "message": message, "innerError": {"request-id": str(uuid.uuid4())}}}
    return json_response(body, status, headers)


def _oauth_error(status: int, error: str, description: str) -> Response:
    return json_response(
        {"error": error, "error_description": f"{description}\r\nTrace ID: {uuid.uuid4()}", "error_codes": [0]}, status
    )
