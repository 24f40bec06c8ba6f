"""Clear errors and the read-only guarantees, against real MariaDB and PostgreSQL servers."""

from __future__ import annotations

import json

import pytest
from sqlalchemy.exc import DBAPIError

from plugin_host.records import PullContext, SourceError
from plugins.sql_source.reader import PLAIN, build_url, read_only
from plugins.sql_source.source import pull

MAP = json.dumps({"external_id": "id", "display_name": "full_name"})
POSITIONAL = json.dumps(["external_id", "display_name"])


def _fail(db, ctx: PullContext, **settings) -> str:
    with pytest.raises(SourceError) as info:
        list(pull(db.settings(**settings), None, ctx))
    message = str(info.value)
    assert message.startswith("SQL database: ")
    return message


def test_bad_url(people, ctx: PullContext) -> None:
    message = _fail(people, ctx, url="mysql+pymysql//nohost", query="SELECT 1", field_map=POSITIONAL)
    assert "connection URL is not valid" in message


def test_unreachable_server(people, ctx: PullContext) -> None:
    url = people.url.set(host="127.0.0.1", port=1, password=None).render_as_string(hide_password=False)
    message = _fail(people, ctx, url=url, query="SELECT 1", field_map=POSITIONAL)
    assert "cannot connect to 127.0.0.1:1 as" in message and "refused" in message


@pytest.mark.mariadb
def test_wrong_password_is_explained_and_never_echoed(mysql_db, ctx: PullContext) -> None:
    message = _fail(mysql_db, ctx, password="Wr0ngPassw0rd", query="SELECT 1", field_map=POSITIONAL)
    assert f"cannot connect to 127.0.0.1:{mysql_db.url.port or 3306} as 'root'" in message
    assert "Access denied" in message and "Wr0ngPassw0rd" not in message


@pytest.mark.pg
def test_unknown_role_and_database(pg_db, ctx: PullContext) -> None:
    url = pg_db.url.set(username="no_such_role", password=None).render_as_string(hide_password=False)
    message = _fail(pg_db, ctx, url=url, password="Wr0ngPassw0rd", query="SELECT 1", field_map=POSITIONAL)
    assert "as 'no_such_role'" in message and "Wr0ngPassw0rd" not in message
    url = pg_db.url.set(database="no_such_db", password=None).render_as_string(hide_password=False)
    assert 'database "no_such_db" does not exist' in _fail(pg_db, ctx, url=url, query="SELECT 1", field_map=POSITIONAL)


def test_syntax_error(people, ctx: PullContext) -> None:
    message = _fail(people, ctx, query="SELECT ${MAP} FROM crm_people WHERE id = = 1", field_map=MAP)
    assert "syntax error in query: " in message and "=" in message


def test_statement_timeout(people, ctx: PullContext) -> None:
    sleep = "SLEEP(5)" if people.backend == "mysql" else "pg_sleep(5)::text"
    message = _fail(people, ctx, query=f"SELECT {sleep} AS id, 'x' AS name", field_map=POSITIONAL, query_timeout=1)
    assert message == "SQL database: query timed out after 1 s"


def test_unknown_column_in_the_map(people, ctx: PullContext) -> None:
    fmap = json.dumps({"external_id": "id", "display_name": "full_name", "phone:work": "telephone"})
    message = _fail(people, ctx, query="SELECT ${MAP} FROM crm_people", field_map=fmap)
    assert "unknown column (column 'telephone' of the field map): " in message


def test_unknown_table(people, ctx: PullContext) -> None:
    assert "unknown table" in _fail(people, ctx, query="SELECT ${MAP} FROM no_such_table", field_map=MAP)


def test_map_problems_stop_the_pull(people, ctx: PullContext) -> None:
    message = _fail(people, ctx, query="SELECT ${MAP} FROM crm_people", field_map='{"display_name": "full_name"}')
    assert "needs external_id" in message
    message = _fail(people, ctx, query="SELECT id FROM crm_people", field_map=POSITIONAL)
    assert "returns 1 columns but the field map lists 2" in message
    assert "not valid JSON" in _fail(people, ctx, query="SELECT 1", field_map="{oops")


@pytest.mark.parametrize(
    "query",
    [
        "INSERT INTO crm_people (id) VALUES (99)",
        "UPDATE crm_people SET notes = 'x'",
        "DELETE FROM crm_people",
        "SELECT 1; DROP TABLE crm_people",
        "SELECT ${MAP} FROM crm_people; DELETE FROM crm_people",
        "WITH d AS (DELETE FROM crm_people RETURNING id) SELECT * FROM d",
    ],
)
def test_write_statements_are_refused_by_the_check(people, ctx: PullContext, query: str) -> None:
    message = _fail(people, ctx, query=query, field_map=MAP)
    assert "only" in message or "not allowed" in message
    assert people.scalar("SELECT COUNT(*) FROM crm_people") == 5


def _bypass(db, sql: str) -> None:
    """Run ``sql`` in the source's transaction without the statement check."""
    url = build_url(db.settings()["url"], db.url.password)
    with read_only(url, 5, 10) as session:
        session.conn.exec_driver_sql(sql, execution_options=PLAIN)


@pytest.mark.parametrize(
    "sql",
    [
        "INSERT INTO crm_people (id) VALUES (99)",
        "UPDATE crm_people SET notes = 'x'",
        "DELETE FROM crm_people",
        "DROP TABLE crm_people",
        "CREATE TABLE sneaky (a INT)",
    ],
)
def test_the_transaction_itself_refuses_writes_if_the_check_were_bypassed(people, sql: str) -> None:
    with pytest.raises(DBAPIError, match=r"(?i)read.only"):
        _bypass(people, sql)
    assert people.scalar("SELECT COUNT(*) FROM crm_people WHERE notes = 'x' OR id = 99") == 0


@pytest.mark.pg
def test_postgres_data_modifying_cte_is_refused_by_the_read_only_transaction(pg_people) -> None:
    people = pg_people
    with pytest.raises(DBAPIError, match="read-only transaction"):
        _bypass(people, "WITH d AS (DELETE FROM crm_people RETURNING id) SELECT * FROM d")
    with pytest.raises(DBAPIError, match="read-only transaction"):
        _bypass(people, "SELECT 1; DROP TABLE crm_people")  # psycopg would send both statements
    assert people.scalar("SELECT COUNT(*) FROM crm_people") == 5


def test_a_refused_write_reads_clearly_when_it_reaches_the_server(people) -> None:
    url = build_url(people.settings()["url"], people.url.password)
    # PostgreSQL refuses it already as a cursor (DECLARE ... FOR DELETE is no query).
    with read_only(url, 5, 10) as session, pytest.raises(SourceError, match=r"tried to change data|syntax"):
        session.run("DELETE FROM crm_people")
    assert people.scalar("SELECT COUNT(*) FROM crm_people") == 5
