"""Authentication: browser sessions (Flask-Login), bearer API tokens, CSRF, login rate limiting.

The tenant always comes from the authenticated principal, never from the request.
"""

from __future__ import annotations

import hmac
import secrets
import time
from collections import defaultdict, deque
from typing import Any

from flask import Blueprint, Flask, current_app, redirect, render_template, request, session, url_for
from flask_login import LoginManager, UserMixin, current_user, login_user, logout_user
from sqlalchemy import select, update
from werkzeug.security import check_password_hash

from plugin_host import tokens
from plugin_host.directory import principal_for
from plugin_host.models import T, db, utcnow
from plugin_host.permissions import Principal
from plugin_host.repo.errors import NotFound

USERS = T["users"]
SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}
CSRF_HEADER = "X-CSRF-Token"
# Cached per request (not on ``g``, which outlives a request when an app context is already pushed).
PRINCIPAL_KEY, AUTH_KIND_KEY = "contacts_hub.principal", "contacts_hub.auth_kind"
bp = Blueprint("auth", __name__, template_folder="templates")


class SessionUser(UserMixin):
    def __init__(self, user_id: int) -> None:
        self.id = user_id


class Unauthenticated(Exception):
    """No valid session or token (401)."""


class CsrfFailed(Exception):
    """A cookie-authenticated write without the session's CSRF token (403)."""


def csrf_token() -> str:
    if "csrf" not in session:
        session["csrf"] = secrets.token_urlsafe(32)
    return session["csrf"]


def check_csrf() -> None:
    sent = request.headers.get(CSRF_HEADER) or request.form.get("csrf_token") or ""
    if not hmac.compare_digest(sent, session.get("csrf", "")) or not sent:
        raise CsrfFailed("missing or wrong CSRF token: send the X-CSRF-Token header from GET /api/v1/me")


def current_principal() -> Principal:
    """The acting principal for this request (bearer token first, then the session cookie)."""
    cached = request.environ.get(PRINCIPAL_KEY)
    if cached is not None:
        return cached
    header = request.headers.get("Authorization", "")
    if header.lower().startswith("bearer "):
        # One statement: the token (revocation and expiry checked on every request) with its user and departments.
        try:
            found = tokens.authenticate_principal(db.session, header[7:].strip())
        except tokens.UserDisabled:
            raise Unauthenticated("the user is disabled or gone") from None
        if found is None:
            raise Unauthenticated("the API token is unknown, revoked or expired")
        request.environ[AUTH_KIND_KEY] = "token"
        principal = found
    elif current_user.is_authenticated:
        request.environ[AUTH_KIND_KEY] = "session"
        if request.method not in SAFE_METHODS:
            check_csrf()
        principal = _load(int(current_user.id), None)
    else:
        raise Unauthenticated("sign in or send Authorization: Bearer <token>")
    request.environ[PRINCIPAL_KEY] = principal
    return principal


def auth_kind() -> str | None:
    """``token`` or ``session`` once the request's principal is resolved."""
    return request.environ.get(AUTH_KIND_KEY)


def _load(user_id: int, scopes: frozenset[str] | None) -> Principal:
    try:
        return principal_for(db.session, user_id, scopes)
    except NotFound:
        raise Unauthenticated("the user is disabled or gone") from None


class LoginLimiter:
    """Failed logins per (username, address) in a sliding window; per process."""

    def __init__(self, limit: int, window: float = 300.0) -> None:
        self.limit, self.window = limit, window
        self.failures: dict[tuple[str, str], deque[float]] = defaultdict(deque)

    def blocked_for(self, key: tuple[str, str]) -> float:
        q, now = self.failures[key], time.monotonic()
        while q and now - q[0] > self.window:
            q.popleft()
        return self.window - (now - q[0]) if len(q) >= self.limit else 0.0

    def fail(self, key: tuple[str, str]) -> None:
        self.failures[key].append(time.monotonic())

    def reset(self, key: tuple[str, str]) -> None:
        self.failures.pop(key, None)


@bp.route("/login", methods=["GET", "POST"])
def login() -> Any:
    error, status = None, 200
    if request.method == "POST":
        check_csrf()
        username = (request.form.get("username") or "").strip()
        key = (username.lower(), request.remote_addr or "")
        limiter: LoginLimiter = current_app.extensions["contacts_hub_login_limiter"]
        wait = limiter.blocked_for(key)
        if wait:
            error, status = f"Too many failed sign-ins. Try again in {int(wait) + 1} seconds.", 429
        else:
            row = db.session.execute(select(USERS).where(USERS.c.username == username)).mappings().first()
            if row and row["is_active"] and row["password_hash"] and check_password_hash(
                    row["password_hash"], request.form.get("password") or ""):
                limiter.reset(key)
                session.clear()
                login_user(SessionUser(row["id"]))
                db.session.execute(update(USERS).where(USERS.c.id == row["id"]).values(last_login_at=utcnow()))
                db.session.commit()
                target = request.args.get("next") or "/"
                return redirect(target if target.startswith("/") and not target.startswith("//") else "/")
            limiter.fail(key)
            error, status = "Wrong username or password.", 401
    return render_template("login.html", error=error), status


@bp.post("/logout")
def logout() -> Any:
    check_csrf()
    logout_user()
    session.clear()
    return redirect(url_for("auth.login"))


def register(app: Flask) -> None:
    manager = LoginManager()
    manager.login_view = "auth.login"
    manager.session_protection = "strong"

    @manager.user_loader
    def load_user(user_id: str) -> SessionUser | None:
        row = db.session.execute(select(USERS.c.id, USERS.c.is_active).where(USERS.c.id == int(user_id))).first()
        return SessionUser(row.id) if row and row.is_active else None

    manager.init_app(app)
    app.extensions["contacts_hub_login_limiter"] = LoginLimiter(int(app.config["LOGIN_RATE_LIMIT"]))
    app.jinja_env.globals["csrf_token"] = csrf_token

    @app.before_request
    def secure_cookie_over_https() -> None:
        if request.is_secure:
            app.config["SESSION_COOKIE_SECURE"] = True

    app.register_blueprint(bp)
