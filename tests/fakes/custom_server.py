"""A fake custom contact server speaking the PBX vendor's protocol (/token, /contacts, /contacts/delta)."""

from __future__ import annotations

import itertools
import secrets
import time
from collections.abc import Callable
from typing import Any

from werkzeug.wrappers import Request, Response

from tests.fakes.base import FakeServer, json_response


class CustomContactsServer(FakeServer):
    """The reference integrator's behaviour, in memory.

    - ``GET /token`` with Basic auth (split on the first colon) -> ``{"token"}``; tokens expire
      after ``token_ttl`` seconds of ``clock``; wrong credentials -> 401 with an empty body.
    - ``GET /contacts?limit&page`` and ``/contacts/delta?limit&page&timestamp``, ordered by id,
      400 ``Bad request`` on invalid parameters, 401 with an empty body on a bad bearer token.
    - Each contact carries ``updated_date_time`` (Unix seconds of ``clock``); delta returns those
      with ``updated_date_time >= timestamp``. Tombstones are consumed once the page holding the
      last of them is served, as in the reference.

    Mutate between runs with ``add_contact``/``put_raw``/``edit_contact``/``delete_contact``;
    provoke failures with ``inject_fault`` and ``expire_tokens``.
    """

    def __init__(
        self,
        *,
        client_id: str = "test_id",
        client_secret: str = "test_secret",
        token_ttl: float = 120.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        super().__init__()
        self.client_id, self.client_secret = client_id, client_secret
        self.token_ttl, self.clock = token_ttl, clock
        self.contacts: dict[str, dict[str, Any]] = {}
        self.tombstones: list[str] = []
        self.tokens: dict[str, float] = {}
        self.token_requests = 0
        self._ids = itertools.count(100)

    # -- data API

    def settings(self, **overrides: Any) -> dict[str, Any]:
        """Settings for the "custom" source type pointing at this server."""
        return {
            "name": "Fake CRM",
            "client_id": self.client_id,
            "client_secret": self.client_secret,
            "url": self.url,
            "page_size": 100,
            **overrides,
        }

    def add_contact(
        self,
        first_name: str | None = "",
        last_name: str | None = "",
        *,
        id: str | None = None,
        company: str = "",
        type: str = "customer",
        phones: list[dict[str, str]] | None = None,
        emails: list[dict[str, str]] | None = None,
        **extra: Any,
    ) -> str:
        """Add a contact (``phones``/``emails`` of ``None`` are sent as JSON null); returns its id."""
        contact = {
            "first_name": first_name,
            "last_name": last_name,
            "company": company,
            "type": type,
            "phones": phones,
            "emails": emails,
            **extra,
        }
        return self.put_raw({"id": id, **contact})

    def add_many(self, count: int, prefix: str = "Person") -> list[str]:
        """Add ``count`` simple valid contacts; returns their ids."""
        return [
            self.add_contact(
                f"{prefix}{n}",
                f"Test{n}",
                company="Acme",
                phones=[{"number": f"+1555{n:07d}", "label": "work"}],
                emails=[{"email": f"{prefix.lower()}{n}@example.com", "label": "business"}],
            )
            for n in range(count)
        ]

    def put_raw(self, contact: dict[str, Any]) -> str:
        """Store a contact exactly as given (any keys, even invalid ones); returns its id."""
        with self.lock:
            contact = dict(contact)
            contact["id"] = str(contact.get("id") or next(self._ids))
            contact.setdefault("updated_date_time", int(self.clock()))
            self.contacts[contact["id"]] = contact
            return contact["id"]

    def edit_contact(self, contact_id: str, **changes: Any) -> None:
        """Change fields of a contact and bump its ``updated_date_time``."""
        with self.lock:
            self.contacts[contact_id].update(changes, updated_date_time=int(self.clock()))

    def delete_contact(self, contact_id: str) -> None:
        """Delete a contact, leaving a tombstone (the reference's trigger)."""
        with self.lock:
            del self.contacts[contact_id]
            self.tombstones.append(contact_id)

    def expire_tokens(self) -> None:
        """Make every issued token invalid now, as if its 2 minutes had passed."""
        with self.lock:
            self.tokens.clear()

    # -- protocol

    def handle(self, request: Request) -> Response:
        if request.method != "GET":
            return Response("Method not allowed", status=405)
        path = request.path.rstrip("/")
        if path == "":
            return Response("welcome", mimetype="text/plain")
        if path == "/token":
            return self._token(request)
        if path not in ("/contacts", "/contacts/delta"):
            return Response("404 page not found", status=404, mimetype="text/plain")
        if not self._authorised(request):
            return Response(b"", status=401)
        return self._delta(request) if path == "/contacts/delta" else self._full(request)

    def _token(self, request: Request) -> Response:
        self.token_requests += 1
        auth = request.authorization
        if (
            auth is None
            or auth.type != "basic"
            or (auth.username, auth.password)
            != (
                self.client_id,
                self.client_secret,
            )
        ):
            return Response(b"", status=401)
        token = secrets.token_urlsafe(24)
        self.tokens[token] = self.clock() + self.token_ttl
        return json_response({"token": token})

    def _authorised(self, request: Request) -> bool:
        header = request.headers.get("Authorization", "")
        if not header.startswith("Bearer "):
            return False
        expires = self.tokens.get(header[len("Bearer ") :])
        return expires is not None and self.clock() < expires

    def _full(self, request: Request) -> Response:
        params = _int_params(request, ("limit", "page"))
        if params is None:
            return _bad_request()
        limit, page = params
        rows = self._ordered()
        start = limit * (page - 1)
        return json_response(
            {"contacts": [_wire(c) for c in rows[start : start + limit]], "has_more": len(rows) > start + limit}
        )

    def _delta(self, request: Request) -> Response:
        params = _int_params(request, ("limit", "page", "timestamp"))
        if params is None:
            return _bad_request()
        limit, page, timestamp = params
        start, end = limit * (page - 1), limit * page
        updated = [c for c in self._ordered() if c["updated_date_time"] >= timestamp]
        deleted = self.tombstones[start:end]
        more_deleted = len(self.tombstones) > end
        if not more_deleted:
            self.tombstones = []  # consumed on read, like the reference's DELETE FROM deleted_contacts
        body = {
            "updated": [_wire(c) for c in updated[start:end]] or None,
            "deleted": deleted or None,
            "has_more": len(updated) > end or more_deleted,
        }
        return json_response(body)

    def _ordered(self) -> list[dict[str, Any]]:
        return sorted(self.contacts.values(), key=lambda c: (not c["id"].isdigit(), len(c["id"]), c["id"]))


def _wire(contact: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in contact.items() if k != "updated_date_time"}


def _int_params(request: Request, names: tuple[str, ...]) -> list[int] | None:
    values = []
    for name in names:
        raw = request.args.get(name, "20" if name == "limit" else None)
        try:
            value = int(raw) if raw is not None else 0
        except ValueError:
            return None
        if value <= 0:
            return None
        values.append(value)
    return values


def _bad_request() -> Response:
    return Response("Bad request\n", status=400, mimetype="text/plain")
