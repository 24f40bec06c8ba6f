"""Configuration: defaults, the instance config file, then ``CONTACTS_HUB_*`` environment variables."""

from __future__ import annotations

import json
import os
import secrets
from pathlib import Path
from typing import Any

from flask import Flask

PREFIX = "CONTACTS_HUB_"

DEFAULTS: dict[str, Any] = {
    "DATABASE_URL": None,  # None -> SQLite in the instance folder
    "SECRET_KEY": None,  # None -> generated once and kept in the instance folder
    "ENCRYPTION_KEY": None,  # Fernet key(s), comma-separated; None -> generated in the instance folder
    "DISABLED_PLUGINS": [],
    "LOAD_ENTRY_POINTS": True,
    "DEFAULT_REGION": "US",
    "CORS_ORIGINS": [],
    "MAX_UPLOAD_MB": 50,
    "IMPORT_BACKGROUND_ROWS": 5000,
    "IMPORT_ERRORS_TTL_MINUTES": 60,
    "LEGACY_CODEPAGE": "cp1252",
    "LOOKUP_SUFFIX_DIGITS": 7,
    "PAGE_SIZE_MAX": 200,
    "LOGIN_RATE_LIMIT": 10,  # failed attempts per 5 minutes per username + address
    "SCHEDULER": True,  # run due syncs inside `contacts-hub run`
    "SYNC_LEASE_SECONDS": 900,
    "HOST": "127.0.0.1",
    "PORT": 8080,
    "PASSWORD_HASH_METHOD": "scrypt",
    # PostgreSQL: the planner's cost of a random page read for this app's sessions. The server's default
    # (4) models spinning disks; contacts live in RAM or on SSD, where 1.1 is the usual setting, and at
    # 4 a search walk reads name order through the table instead of its covering index (2x slower).
    # Empty: the server's own setting.
    "PG_RANDOM_PAGE_COST": "1.1",
}

_LISTS = {"DISABLED_PLUGINS", "CORS_ORIGINS"}
_INTS = {"MAX_UPLOAD_MB", "IMPORT_BACKGROUND_ROWS", "IMPORT_ERRORS_TTL_MINUTES", "LOOKUP_SUFFIX_DIGITS",
         "PAGE_SIZE_MAX", "LOGIN_RATE_LIMIT", "SYNC_LEASE_SECONDS", "PORT"}
_BOOLS = {"LOAD_ENTRY_POINTS", "SCHEDULER"}


class ConfigError(ValueError):
    """A setting has a value we cannot use; the message names the setting."""


def _parse(key: str, raw: str) -> Any:
    if key in _LISTS:
        return [p.strip() for p in raw.split(",") if p.strip()]
    if key in _INTS:
        try:
            return int(raw)
        except ValueError:
            raise ConfigError(f"{PREFIX}{key} must be a whole number, got {raw!r}") from None
    if key in _BOOLS:
        if raw.lower() not in {"1", "0", "true", "false", "yes", "no", "on", "off"}:
            raise ConfigError(f"{PREFIX}{key} must be true or false, got {raw!r}")
        return raw.lower() in {"1", "true", "yes", "on"}
    return raw


def from_environ(environ: dict[str, str] | os._Environ[str] = os.environ) -> dict[str, Any]:
    """Every ``CONTACTS_HUB_<KEY>`` variable, parsed to the type of its default."""
    out: dict[str, Any] = {}
    for name, raw in environ.items():
        if name.startswith(PREFIX) and not name.startswith(PREFIX + "TEST_"):
            key = name[len(PREFIX):]
            out[key] = _parse(key, raw)
    return out


def _instance_secret(app: Flask, filename: str, make: Any) -> str:
    path = Path(app.instance_path) / filename
    if path.exists():
        return path.read_text().strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    value = make()
    path.write_text(value)
    path.chmod(0o600)
    return value


def _pg_session_options(c: Any) -> None:
    """PostgreSQL connections start with the session settings the app's queries are planned for."""
    cost = str(c.get("PG_RANDOM_PAGE_COST") or "").strip()
    if not cost or not str(c["DATABASE_URL"]).startswith("postgresql"):
        return
    try:
        if float(cost) <= 0:
            raise ValueError
    except ValueError:
        raise ConfigError(f"{PREFIX}PG_RANDOM_PAGE_COST must be a positive number, got {cost!r}") from None
    options = c["SQLALCHEMY_ENGINE_OPTIONS"] = dict(c["SQLALCHEMY_ENGINE_OPTIONS"])
    args = options["connect_args"] = dict(options.get("connect_args") or {})
    args["options"] = f"{args.get('options', '')} -c random_page_cost={cost}".strip()


def load(app: Flask, overrides: dict[str, Any] | None) -> None:
    """Fill ``app.config``: defaults < ``instance/config.json`` < environment < ``overrides``."""
    app.config.update(DEFAULTS)
    cfg_file = Path(app.instance_path) / "config.json"
    if cfg_file.exists():
        try:
            app.config.update(json.loads(cfg_file.read_text()))
        except json.JSONDecodeError as exc:
            raise ConfigError(f"{cfg_file}: not valid JSON ({exc})") from None
    app.config.update(from_environ())
    app.config.update(overrides or {})
    c = app.config
    if not c["DATABASE_URL"]:
        Path(app.instance_path).mkdir(parents=True, exist_ok=True)
        c["DATABASE_URL"] = f"sqlite:///{Path(app.instance_path) / 'contacts_hub.db'}"
    c["SQLALCHEMY_DATABASE_URI"] = c["DATABASE_URL"]
    c.setdefault("SQLALCHEMY_ENGINE_OPTIONS", {"pool_pre_ping": True})
    _pg_session_options(c)
    if not c["SECRET_KEY"]:
        c["SECRET_KEY"] = _instance_secret(app, "secret_key", lambda: secrets.token_urlsafe(48))
    if not c["ENCRYPTION_KEY"]:
        from cryptography.fernet import Fernet

        c["ENCRYPTION_KEY"] = _instance_secret(app, "encryption.key", lambda: Fernet.generate_key().decode())
    c["MAX_CONTENT_LENGTH"] = int(c["MAX_UPLOAD_MB"]) * 1024 * 1024
    c["SESSION_COOKIE_HTTPONLY"] = True
    c["SESSION_COOKIE_SAMESITE"] = "Lax"
    c.setdefault("SESSION_COOKIE_SECURE", False)
    region = str(c["DEFAULT_REGION"]).upper()
    from plugin_host.phones import is_valid_region

    if not is_valid_region(region):
        raise ConfigError(f"{PREFIX}DEFAULT_REGION: {region!r} is not a known two-letter region (e.g. US, DE, GB)")
    c["DEFAULT_REGION"] = region
