"""The application factory: configuration, database, plugin manager and routes, per app."""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pluggy
from apiflask import APIFlask
from flask import Flask, current_app, jsonify, request
from flask_migrate import Migrate
from sqlalchemy import event

from plugin_host import __version__, config
from plugin_host.crypto import SecretBox
from plugin_host.models import db, end_transaction
from plugin_host.pluginmanager import Registry, build_plugin_manager, describe_plugins

ROOT = Path(__file__).resolve().parent.parent
MIGRATIONS_DIR = str(ROOT / "migrations")
WEB_STATIC = ROOT / "web" / "static"
#: The API docs page must work with no internet: its assets are served by the app itself.
LOCAL_DOCS_ASSETS = {
    "SWAGGER_UI_CSS": "/assets/vendor/swagger-ui/swagger-ui.css",
    "SWAGGER_UI_BUNDLE_JS": "/assets/vendor/swagger-ui/swagger-ui-bundle.js",
    "SWAGGER_UI_STANDALONE_PRESET_JS": "/assets/vendor/swagger-ui/swagger-ui-standalone-preset.js",
    "DOCS_FAVICON": "/assets/vendor/swagger-ui/favicon-32x32.png",
}
log = logging.getLogger(__name__)


@dataclass
class Hub:
    """Per-app state kept in ``app.extensions["contacts_hub"]`` (never a module global)."""

    pm: pluggy.PluginManager
    registry: Registry
    secrets: SecretBox


def hub(app: Flask | None = None) -> Hub:
    return (app or current_app).extensions["contacts_hub"]


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA busy_timeout=10000")
    cur.execute("PRAGMA cache_size=-65536")
    cur.close()


def create_app(overrides: dict[str, Any] | None = None) -> APIFlask:
    """Build an app: ``overrides`` beat environment variables, which beat ``instance/config.json``."""
    app = APIFlask(
        "plugin_host",
        title="Contacts Hub API",
        version=__version__,
        spec_path="/api/openapi.json",
        docs_path="/api/docs",
        instance_relative_config=True,
    )
    instance = (overrides or {}).get("INSTANCE_PATH") or os.environ.get("CONTACTS_HUB_INSTANCE_PATH")
    if instance:
        app.instance_path = str(instance)
    config.load(app, overrides)
    app.config.update(LOCAL_DOCS_ASSETS)
    db.init_app(app)

    @app.teardown_appcontext
    def end_request_transaction(exc: BaseException | None) -> None:
        # Runs before Flask-SQLAlchemy's session removal (teardowns run in reverse order), which would
        # roll back: a read-only request commits instead and keeps its prepared statements.
        if exc is None:
            end_transaction(db.session)

    Migrate(app, db, directory=MIGRATIONS_DIR, render_as_batch=True, compare_type=True)
    with app.app_context():
        if db.engine.dialect.name == "sqlite":
            event.listen(db.engine, "connect", _sqlite_pragmas)
    pm = build_plugin_manager(app.config["DISABLED_PLUGINS"], entry_points=app.config["LOAD_ENTRY_POINTS"])
    app.extensions["contacts_hub"] = Hub(pm=pm, registry=Registry.from_manager(pm),
                                         secrets=SecretBox(app.config["ENCRYPTION_KEY"]))
    _register_routes(app)
    return app


def _register_routes(app: APIFlask) -> None:
    from flask import Blueprint

    app.register_blueprint(Blueprint("assets", __name__, static_folder=str(WEB_STATIC), static_url_path="/assets"))

    @app.get("/-/plugins.json")
    @app.doc(tags=["System"], summary="Loaded plugins")
    def plugins_json() -> Any:
        return jsonify(describe_plugins(hub().pm))

    @app.get("/-/health")
    @app.doc(tags=["System"], summary="Liveness and database check")
    def health() -> Any:
        db.session.execute(db.text("SELECT 1"))
        return {"status": "ok", "version": __version__}

    for bp in hub(app).registry.blueprints.values():
        app.register_blueprint(bp.blueprint)

    @app.before_request
    def cors_preflight() -> Any:
        # A CORS preflight never carries credentials: answer it before authentication can refuse it
        # (Flask-CORS adds the allow-headers for allowed origins; other origins get none and are blocked).
        if request.method == "OPTIONS" and "Access-Control-Request-Method" in request.headers:
            return app.response_class(status=204)
        return None

    @app.after_request
    def static_cors(resp: Any) -> Any:
        # Module scripts are fetched in CORS mode: a host app on an allowed origin embeds the Customers tab
        # (web/static) and plugin panels (each plugin's static/) straight from the hub.
        origin = request.headers.get("Origin")
        if origin and (request.endpoint or "").endswith("static") and origin in app.config["CORS_ORIGINS"]:
            resp.headers["Access-Control-Allow-Origin"] = origin
            resp.vary.add("Origin")
        return resp
    from plugin_host import api, auth, web

    auth.register(app)
    api.register(app)
    web.register(app)
