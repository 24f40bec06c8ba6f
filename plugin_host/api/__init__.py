"""The REST API under /api/v1: every route resolves the Principal first and uses the repository."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from apiflask import APIBlueprint, APIFlask
from flask import current_app
from flask_cors import CORS

from plugin_host.app import hub
from plugin_host.auth import current_principal
from plugin_host.models import db
from plugin_host.permissions import Principal

api = APIBlueprint("api", __name__, url_prefix="/api/v1", tag="Contacts")


@api.before_request
def authenticate() -> None:
    current_principal()


def repo(cls: type, **kw: Any) -> Any:
    """A repository class bound to this request's principal and the tenant's settings."""
    c = current_app.config
    return cls(db.session, current_principal(), region=c["DEFAULT_REGION"], suffix_digits=c["LOOKUP_SUFFIX_DIGITS"],
               page_max=c["PAGE_SIZE_MAX"], **kw)


def commit() -> None:
    """Commit, then fire the queued ``contacts_hub_on_contacts_changed`` notifications."""
    events = db.session.info.pop("contacts_hub_events", [])
    db.session.commit()
    for tenant_id, action, ids in events:
        hub().pm.hook.contacts_hub_on_contacts_changed(tenant_id=tenant_id, action=action, contact_ids=ids)


def principal() -> Principal:
    return current_principal()


def writes(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Run a write view and commit its transaction when it returns."""
    from functools import wraps

    @wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        result = fn(*args, **kwargs)
        commit()
        return result

    return wrapper


def register(app: APIFlask) -> None:
    # Route modules register their routes on the blueprint when imported.
    from plugin_host.api import admin, contacts, imports, lists, problems, sources  # noqa: F401

    app.config.setdefault("SECURITY_SCHEMES", {
        "bearerAuth": {"type": "http", "scheme": "bearer", "description": "API token (contacts-hub create-token)"},
        "cookieAuth": {"type": "apiKey", "in": "cookie", "name": "session",
                       "description": "browser session; writes need the X-CSRF-Token header"},
    })
    problems.register(app)
    app.register_blueprint(api)
    imports.register_aliases(app)
    for blueprint in app.blueprints.values():
        # Plain Flask blueprints (plugins' pages, login) are not API: keep them out of the OpenAPI
        # document; APIFlask otherwise fails on their before_request hooks when it builds the spec.
        if not hasattr(blueprint, "enable_openapi"):
            blueprint.enable_openapi = False
    origins = app.config["CORS_ORIGINS"]
    if origins:
        CORS(app, resources={r"/api/*": {"origins": origins}}, supports_credentials=False,
             allow_headers=["Authorization", "Content-Type", "If-Match", "X-CSRF-Token"],
             expose_headers=["ETag", "Location"], max_age=600)
