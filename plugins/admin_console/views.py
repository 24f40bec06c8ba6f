"""The /admin blueprint: page shells (data comes from /api/v1 in the browser) and the plugins config route."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from flask import Blueprint, abort, current_app, jsonify, redirect, render_template, request, url_for
from flask_login import current_user

from plugin_host.auth import Unauthenticated, check_csrf, current_principal
from plugin_host.permissions import Role, may
from plugin_host.pluginmanager import BUILTIN_PLUGINS, describe_plugins
from plugins.admin_console.pages import BY_SLUG, PAGES, PROTECTED_PLUGINS, Page


def _principal() -> Any:
    try:
        return current_principal()
    except Unauthenticated:
        return None


def _visible_pages(p: Any) -> list[Page]:
    return [pg for pg in PAGES if pg.capability is None or may(p, pg.capability)]


def make_blueprint() -> Blueprint:
    """Build the blueprint (one per app)."""
    bp = Blueprint("admin_console", __name__, url_prefix="/admin", template_folder="templates",
                   static_folder="static", static_url_path="/static")

    @bp.before_request
    def guard() -> Any:
        if request.endpoint == "admin_console.static":
            return None
        if not current_user.is_authenticated:
            return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))
        p = _principal()
        if p is None:
            return redirect(url_for("auth.login"))
        if p.role is Role.AGENT:
            abort(403)
        return None

    def render(page: Page, **extra: Any) -> Any:
        p = current_principal()
        if page.capability and not may(p, page.capability):
            abort(403)
        return render_template("admin_console/page.html", page=page, pages=_visible_pages(p), me=p,
                               role=p.role.value, **extra)

    @bp.get("/")
    def home() -> Any:
        return redirect(url_for("admin_console.page", slug="contacts"))

    @bp.get("/<slug>")
    def page(slug: str) -> Any:
        if slug not in BY_SLUG:
            abort(404)
        return render(BY_SLUG[slug])

    @bp.get("/contacts/new")
    def new_contact() -> Any:
        return render(Page("contacts", "New contact", "contact-form.js"), contact_id="")

    @bp.get("/contacts/<int:contact_id>")
    def edit_contact(contact_id: int) -> Any:
        return render(Page("contacts", "Edit contact", "contact-form.js"), contact_id=contact_id)

    @bp.get("/-/plugins")
    def plugins_state() -> Any:
        _need_plugins_admin()
        return jsonify(_plugin_state())

    @bp.put("/-/plugins")
    def plugins_update() -> Any:
        _need_plugins_admin()
        check_csrf()
        body = request.get_json(silent=True) or {}
        wanted = body.get("disabled")
        if not isinstance(wanted, list) or not all(isinstance(n, str) and n for n in wanted):
            return jsonify(title="disabled must be a list of plugin names", status=400), 400
        blocked = sorted(set(wanted) & PROTECTED_PLUGINS)
        if blocked:
            return jsonify(title=f"cannot disable {', '.join(blocked)} from the console", status=400), 400
        _write_disabled(sorted(set(wanted)))
        return jsonify(_plugin_state())

    @bp.errorhandler(403)
    def forbidden(_exc: Any) -> Any:
        return render_template("admin_console/forbidden.html"), 403

    return bp


def _need_plugins_admin() -> None:
    if not may(current_principal(), "plugins:manage"):
        abort(403)


def _config_file() -> Path:
    return Path(current_app.instance_path) / "config.json"


def _configured_disabled() -> list[str]:
    f = _config_file()
    if not f.exists():
        return []
    try:
        return list(json.loads(f.read_text()).get("DISABLED_PLUGINS") or [])
    except (json.JSONDecodeError, AttributeError):
        return []


def _write_disabled(names: list[str]) -> None:
    f = _config_file()
    data: dict[str, Any] = {}
    if f.exists():
        try:
            data = json.loads(f.read_text())
        except json.JSONDecodeError:
            data = {}
    data["DISABLED_PLUGINS"] = names
    f.parent.mkdir(parents=True, exist_ok=True)
    tmp = f.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(data, indent=2) + "\n")
    os.replace(tmp, f)  # atomic: a crash never leaves a half-written config


def _plugin_state() -> dict[str, Any]:
    from plugin_host.app import hub

    running = set(current_app.config.get("DISABLED_PLUGINS") or [])
    configured = _configured_disabled()
    loaded = {d["name"]: d for d in describe_plugins(hub().pm)}
    builtin_names = [m.rsplit(".", 1)[-1] for m in BUILTIN_PLUGINS]
    names = list(builtin_names) + [n for n in loaded if n not in builtin_names]
    names += [n for n in sorted(running | set(configured)) if n not in names]
    rows = []
    for name in names:
        info = loaded.get(name, {})
        rows.append({"name": name, "loaded": name in loaded, "builtin": name in builtin_names,
                     "version": info.get("version"), "hooks": info.get("hooks", []),
                     "distribution": info.get("distribution"), "protected": name in PROTECTED_PLUGINS,
                     "disabled_after_restart": name in configured})
    return {"plugins": rows, "configured_disabled": configured, "running_disabled": sorted(running),
            "restart_required": sorted(running) != sorted(configured),
            "env_override": bool(os.environ.get("CONTACTS_HUB_DISABLED_PLUGINS"))}
