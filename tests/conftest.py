"""Fixtures: a fresh app per test on SQLite and (when configured) a real PostgreSQL server."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, settings
from sqlalchemy import create_engine, text

from plugin_host import create_app
from plugin_host.models import db

settings.register_profile("ci", max_examples=500, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
settings.register_profile("dev", max_examples=60, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "dev"))

PG_URL = os.environ.get("CONTACTS_HUB_TEST_PG_URL")
IN_CI = bool(os.environ.get("CI"))
BACKENDS = ["sqlite", *(["pg"] if PG_URL else [])]
SHARED = Path(__file__).resolve().parents[1].parent / "shared"


def pytest_sessionstart(session: pytest.Session) -> None:
    if IN_CI and not PG_URL:
        raise pytest.UsageError("CI must set CONTACTS_HUB_TEST_PG_URL: the PostgreSQL tests cannot be skipped in CI")


def base_config(tmp: Path, url: str) -> dict[str, Any]:
    return {"DATABASE_URL": url, "INSTANCE_PATH": str(tmp / "instance"), "TESTING": True,
            "SECRET_KEY": "test-secret", "ENCRYPTION_KEY": "x6nLnJ0tuEVPYDAoZzDt0GaIeqdU-CrTWXqkNP5mbjk=",
            "SCHEDULER": False, "LOGIN_RATE_LIMIT": 1000,
            "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000"}


def _migrate(url: str, tmp: Path) -> None:
    from flask_migrate import upgrade

    app = create_app(base_config(tmp, url))
    with app.app_context():
        upgrade()
        db.engine.dispose()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tmp = tmp_path_factory.mktemp("template")
    path = tmp / "template.db"
    _migrate(f"sqlite:///{path}", tmp)
    return path


@pytest.fixture(scope="session")
def pg_database(tmp_path_factory: pytest.TempPathFactory) -> str:
    assert PG_URL
    engine = create_engine(PG_URL)
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    engine.dispose()
    _migrate(PG_URL, tmp_path_factory.mktemp("pg"))
    return PG_URL


def reset_database() -> None:
    """Empty every table (inside an app context), children first."""
    tables = [t for t in reversed(db.metadata.sorted_tables)]
    if db.engine.dialect.name == "postgresql":
        names = ", ".join(t.name for t in tables)
        db.session.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
    else:
        for t in tables:
            db.session.execute(t.delete())
    db.session.commit()


@pytest.fixture(params=BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        target = tmp_path / "contacts.db"
        shutil.copy(request.getfixturevalue("sqlite_template"), target)
        return f"sqlite:///{target}"
    url = request.getfixturevalue("pg_database")
    engine = create_engine(url)
    with engine.begin() as conn:
        names = ", ".join(t.name for t in reversed(db.metadata.sorted_tables))
        conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
    engine.dispose()
    return url


@pytest.fixture
def app(database_url: str, tmp_path: Path) -> Iterator[Any]:
    app = create_app(base_config(tmp_path, database_url))
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def client(app: Any) -> Any:
    return app.test_client()


@pytest.fixture
def runner(app: Any) -> Any:
    return app.test_cli_runner()


@pytest.fixture
def session(app: Any) -> Iterator[Any]:
    with app.app_context():
        yield db.session
        db.session.rollback()


@dataclass
class World:
    """Two tenants; tenant A has departments D1, D2 and one user per role."""

    tenant: int
    other_tenant: int
    d1: int
    d2: int
    users: dict[str, int]

    def principal(self, name: str, scopes: frozenset[str] | None = None) -> Any:
        from plugin_host.directory import principal_for

        return principal_for(db.session, self.users[name], scopes)


@pytest.fixture
def world(session: Any) -> World:
    from plugin_host.directory import create_department, create_tenant, create_user, set_membership

    a = create_tenant(session, "acme", "Acme", "US")
    b = create_tenant(session, "globex", "Globex", "DE")
    users = {
        "admin": create_user(session, a, "admin", "password1", is_admin=True),
        "dadmin": create_user(session, a, "dadmin", "password1", extension="101"),
        "agent1": create_user(session, a, "agent1", "password1", extension="201"),
        "agent2": create_user(session, a, "agent2", "password1", extension="202"),
        "noimport": create_user(session, a, "noimport", "password1", can_import=False),
        "other_admin": create_user(session, b, "other_admin", "password1", is_admin=True),
    }
    d1, d2 = create_department(session, a, "Sales"), create_department(session, a, "Support")
    set_membership(session, d1, users["dadmin"], is_admin=True)
    set_membership(session, d1, users["agent1"])
    set_membership(session, d2, users["agent2"])
    set_membership(session, d1, users["noimport"])
    session.commit()
    return World(a, b, d1, d2, users)
