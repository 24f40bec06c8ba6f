"""Fixtures for the SQL database source: a fresh MariaDB and PostgreSQL database per test session."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import URL, Engine

from plugin_host.records import PullContext

PG_VAR, MYSQL_VAR = "CONTACTS_HUB_TEST_PG_URL", "CONTACTS_HUB_TEST_MYSQL_URL"
PG_DEFAULT = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
MYSQL_DEFAULT = "mysql+pymysql://root@127.0.0.1:3306/"

PEOPLE_DDL = """CREATE TABLE crm_people (
    id INT PRIMARY KEY, type VARCHAR(20), first_name VARCHAR(80), last_name VARCHAR(80),
    full_name VARCHAR(160), company VARCHAR(120), job_title VARCHAR(80), dept VARCHAR(80),
    phone VARCHAR(40), mobile VARCHAR(40), fax VARCHAR(40), email VARCHAR(120), notes VARCHAR(400))"""
PEOPLE_ROWS = [
    (1, "customer", "Anna", "Rossi", "Anna Rossi", "ACME", "Buyer", "Purchasing",
     "+39 06 1234567", "+39 333 1234567", None, "anna@acme.example", "VIP"),
    (2, "customer", "Bob", "Smith", "Smith, Bob", "", "", "", "", None, "", "", ""),
    (3, "supplier", "Carl", "Supplier", "Carl Supplier", "Parts Inc", "", "", "1", "", "", "", ""),
    (4, "customer", "", "", "", "Solo Ltd", "", "", "+44 20 7946 0000", "", "", "", ""),
    (5, "customer", None, None, None, None, None, None, "555", None, None, None, None),
]  # fmt: skip
SAP_DDL = (
    "CREATE TABLE OCRD (CardCode VARCHAR(20), CardName VARCHAR(100), CardType CHAR(1))",
    "CREATE TABLE OCPR (CardCode VARCHAR(20), Name VARCHAR(100), Tel1 VARCHAR(40), Fax VARCHAR(40),"
    " Cellolar VARCHAR(40), E_MailL VARCHAR(100), Title VARCHAR(40))",
    "INSERT INTO OCRD VALUES ('S001', 'Parts Inc', 'S'), ('C001', 'Customer Co', 'C')",
    "INSERT INTO OCPR VALUES ('S001', 'Dora Diaz', '+1 212 555 0100', '+1 212 555 0101',"
    " '+1 917 555 0102', 'dora@parts.example', 'Sales'), ('S001', 'Eli Eng', '+1 212 555 0200', '',"
    " '', '', ''), ('C001', 'Not Me', '1', '', '', '', '')",
)


@dataclass
class ExternalDb:
    """A throw-away database on a real server: ``admin`` seeds it, ``settings()`` points the source at it."""

    backend: str
    url: URL
    admin: Engine
    extra: dict[str, Any] = field(default_factory=dict)

    def settings(self, **overrides: Any) -> dict[str, Any]:
        """Source settings as the engine passes them: URL without password, the secret apart."""
        base = {
            "url": self.url.set(password=None).render_as_string(hide_password=False),
            "password": self.url.password,
            "connect_timeout": 5,
            "query_timeout": 30,
        }
        return {**base, **overrides}

    def execute(self, *statements: str) -> None:
        with self.admin.begin() as conn:
            for sql in statements:
                conn.exec_driver_sql(sql, execution_options={"no_parameters": True})

    def scalar(self, sql: str) -> Any:
        with self.admin.connect() as conn:
            return conn.exec_driver_sql(sql, execution_options={"no_parameters": True}).scalar()


def _unavailable(name: str, var: str, url: URL, exc: Exception) -> None:
    msg = f"{name} not reachable at {url.render_as_string(hide_password=True)} (set {var}): {exc}"
    if os.environ.get("CI"):
        pytest.fail(f"CI is set, so {name} is required: {msg}")
    pytest.skip(msg)


def _server(name: str, var: str, default: str) -> tuple[URL, Engine]:
    url = sa.make_url(os.environ.get(var) or default)
    engine = sa.create_engine(url, isolation_level="AUTOCOMMIT", poolclass=sa.pool.NullPool)
    try:
        with engine.connect() as conn:
            conn.exec_driver_sql("SELECT 1")
    except sa.exc.DBAPIError as exc:
        _unavailable(name, var, url, exc)
    return url, engine


@pytest.fixture(scope="session")
def pg_db() -> Iterator[ExternalDb]:
    url, server = _server("PostgreSQL", PG_VAR, PG_DEFAULT)
    name = f"chub_sqlsrc_{uuid.uuid4().hex[:10]}"
    with server.connect() as conn:
        conn.exec_driver_sql(f"CREATE DATABASE {name}")
    db_url = url.set(database=name)
    admin = sa.create_engine(db_url, poolclass=sa.pool.NullPool)
    try:
        yield ExternalDb("postgresql", db_url, admin)
    finally:
        admin.dispose()
        with server.connect() as conn:
            conn.exec_driver_sql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@pytest.fixture(scope="session")
def mysql_db() -> Iterator[ExternalDb]:
    url, server = _server("MariaDB/MySQL", MYSQL_VAR, MYSQL_DEFAULT)
    name = f"chub_sqlsrc_{uuid.uuid4().hex[:10]}"
    with server.connect() as conn:
        conn.exec_driver_sql(f"CREATE DATABASE {name} CHARACTER SET utf8mb4")
    db_url = url.set(database=name)
    admin = sa.create_engine(db_url, poolclass=sa.pool.NullPool)
    try:
        yield ExternalDb("mysql", db_url, admin)
    finally:
        admin.dispose()
        with server.connect() as conn:
            conn.exec_driver_sql(f"DROP DATABASE IF EXISTS {name}")


@pytest.fixture(
    params=[pytest.param("mysql", marks=pytest.mark.mariadb), pytest.param("postgresql", marks=pytest.mark.pg)]
)
def db(request: pytest.FixtureRequest) -> ExternalDb:
    """Each test that takes ``db`` runs once on MariaDB and once on PostgreSQL."""
    return request.getfixturevalue("mysql_db" if request.param == "mysql" else "pg_db")


@pytest.fixture
def people(db: ExternalDb) -> ExternalDb:
    """``crm_people`` (and the SAP-like OCRD/OCPR tables) recreated with known rows."""
    return seed(db)


@pytest.fixture
def pg_people(pg_db: ExternalDb) -> ExternalDb:
    """``people`` on PostgreSQL only, for PostgreSQL-specific behaviour."""
    return seed(pg_db)


def seed(db: ExternalDb) -> ExternalDb:
    """(Re)create ``crm_people``, OCRD and OCPR with the rows above."""
    db.execute("DROP TABLE IF EXISTS crm_people", "DROP TABLE IF EXISTS OCRD", "DROP TABLE IF EXISTS OCPR")
    db.execute(PEOPLE_DDL, *SAP_DDL)
    with db.admin.begin() as conn:
        conn.execute(
            sa.text(
                "INSERT INTO crm_people VALUES (:id, :type, :fn, :ln, :full, :co, :title, :dept,"
                " :phone, :mobile, :fax, :email, :notes)"
            ),
            [dict(zip(("id", "type", "fn", "ln", "full", "co", "title", "dept", "phone", "mobile",
                       "fax", "email", "notes"), row, strict=True)) for row in PEOPLE_ROWS],
        )  # fmt: skip
    return db


@pytest.fixture
def ctx() -> PullContext:
    logs: list[str] = []
    return PullContext(sleep=lambda s: None, now=lambda: 1_700_000_000.0, log=logs.append)
