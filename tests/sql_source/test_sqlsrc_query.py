"""Unit tests of the SQL source's template check, field map and row mapping (no server needed)."""

from __future__ import annotations

import pytest
from sqlalchemy.dialects import mysql, postgresql

import plugins.sql_source as plugin
from plugin_host.records import ContactRecord, EmailIn, PhoneIn, SkippedRecord, SourceError
from plugins.sql_source.mapping import (
    MapError,
    parse_field_map,
    parse_target,
    plan_by_name,
    plan_by_position,
    split_name,
    to_record,
)
from plugins.sql_source.query import QueryRejected, check_select, expand_map
from plugins.sql_source.reader import build_url

PG_QUOTE = postgresql.dialect().identifier_preparer.quote
MY_QUOTE = mysql.dialect().identifier_preparer.quote


@pytest.mark.parametrize("backend", ["mysql", "postgresql", "mssql"])
@pytest.mark.parametrize(
    "sql",
    [
        "SELECT id, name FROM crm_people WHERE type = 'customer'",
        "select id from t;",
        "SELECT id FROM t; -- trailing comment",
        "(SELECT id FROM t)",
        "WITH c AS (SELECT id FROM t) SELECT * FROM c",
        "SELECT 'a;b', 'it''s; fine' FROM t",
        "SELECT id /* ; DROP TABLE t */ FROM t",
        "SELECT REPLACE(phone, ' ', ''), TRUNCATE(1.5, 0), INSERT('abc', 1, 1, 'x') FROM t",
        "SELECT update_count, deleted, created_at FROM t",
        'SELECT "update" FROM t',
    ],
)
def test_read_only_selects_pass(sql: str, backend: str) -> None:
    checked = check_select(sql, backend)
    assert sql.startswith(checked) and not checked.endswith(";")


@pytest.mark.parametrize("backend", ["mysql", "postgresql", "mssql"])
@pytest.mark.parametrize(
    ("sql", "why"),
    [
        ("INSERT INTO t VALUES (1)", "only SELECT"),
        ("UPDATE t SET a = 1", "only SELECT"),
        ("DELETE FROM t", "only SELECT"),
        ("SELECT 1; DROP TABLE x", "only one statement"),
        ("SELECT 1;; SELECT 2", "only one statement"),
        ("SELECT 'x'; DELETE FROM t; --'", "only one statement|unterminated"),
        ("WITH d AS (DELETE FROM t RETURNING *) SELECT * FROM d", "DELETE is not allowed"),
        ("SELECT * INTO copy_of_t FROM t", "INTO is not allowed"),
        ("SELECT * FROM t FOR UPDATE", "UPDATE is not allowed"),
        ("SELECT 'unterminated FROM t", "unterminated"),
        ("SELECT 1 /* open comment", "unterminated"),
        ("", "only SELECT"),
        ("-- only a comment", "only SELECT"),
    ],
)
def test_writes_and_several_statements_are_refused(sql: str, why: str, backend: str) -> None:
    with pytest.raises(QueryRejected, match=why):
        check_select(sql, backend)


def test_backslash_quote_tricks_are_refused_whichever_way_the_server_reads_them() -> None:
    # With backslash escapes the string runs to the last quote; without them ';' is code.
    with pytest.raises(QueryRejected):
        check_select("SELECT 'a\\'; DROP TABLE t; --'", "postgresql")
    with pytest.raises(QueryRejected):
        check_select("SELECT 'a\\'; DROP TABLE t; --'", "mysql")


def test_mysql_lexical_rules() -> None:
    # MySQL reads "--1" as minus minus one, so the ';' after it is a real statement break.
    with pytest.raises(QueryRejected, match="one statement"):
        check_select("SELECT 1 --1; DROP TABLE t", "mysql")
    with pytest.raises(QueryRejected, match="executable comments"):
        check_select("SELECT 1 /*! ; DROP TABLE t */", "mysql")
    assert check_select("SELECT 1 # a comment; DROP TABLE t", "mysql")
    assert check_select("SELECT `a;b` FROM t", "mysql")


def test_postgres_lexical_rules() -> None:
    assert check_select("SELECT $$a; DROP TABLE t$$, $x$;$x$ FROM t", "postgresql")
    assert check_select("SELECT 1 /* outer /* inner; */ still comment; */ FROM t", "postgresql")
    with pytest.raises(QueryRejected, match="unterminated"):
        check_select("SELECT $tag$ never closed", "postgresql")


def test_mssql_brackets_are_identifiers() -> None:
    assert check_select("SELECT [a;b], [Name] FROM [dbo].[OCPR]", "mssql")


def test_map_expansion_quotes_columns_as_identifiers() -> None:
    sql = expand_map("SELECT ${MAP} FROM t", ["id", "Full Name", "OCPR.Fax", 'x"; DROP TABLE t; --'], PG_QUOTE)
    assert sql == 'SELECT id, "Full Name", "OCPR"."Fax", "x""; DROP TABLE t; --" FROM t'
    assert check_select(sql, "postgresql") == sql
    sql = expand_map("SELECT ${MAP} FROM t", ["a`b", "select"], MY_QUOTE)
    assert sql == "SELECT `a``b`, `select` FROM t"
    with pytest.raises(QueryRejected, match="exactly once"):
        expand_map("SELECT ${MAP}, ${MAP} FROM t", ["id"], PG_QUOTE)
    with pytest.raises(QueryRejected, match="invalid column"):
        expand_map("SELECT ${MAP} FROM t", ["t..x"], PG_QUOTE)


@pytest.mark.parametrize(
    ("key", "kind", "label"),
    [
        ("external_id", "external_id", ""),
        ("Display_Name", "display_name", ""),
        ("name", "display_name", ""),
        ("phone", "phone", "other"),
        ("phone:work", "phone", "work"),
        ("phone:work:2", "phone", "work"),
        ("mobile", "phone", "mobile"),
        ("fax", "phone", "fax"),
        ("email", "email", "other"),
        ("email:business", "email", "business"),
        ("custom:VIP level", "custom", "VIP level"),
        ("tags", "tags", ""),
    ],
)
def test_targets(key: str, kind: str, label: str) -> None:
    target = parse_target(key)
    assert (target.kind, target.label) == (kind, label)


@pytest.mark.parametrize("key", ["phone:pager", "email:work", "birthday", "custom:", "phone:work:x"])
def test_unknown_targets(key: str) -> None:
    with pytest.raises(ValueError, match="unknown target"):
        parse_target(key)


def test_field_map_object_and_problems() -> None:
    fm = parse_field_map('{"external_id": "id", "display_name": "name", "phone:work": "tel", "email": "tel"}')
    assert fm.problems == ()
    assert fm.columns() == ["id", "name", "tel"]
    assert [(t.key, i) for t, i in plan_by_name(fm)] == [
        ("external_id", 0), ("display_name", 1), ("phone:work", 2), ("email", 2),
    ]  # fmt: skip
    fm = parse_field_map('{"mobile": "a", "phone:mobile": "b", "pager": "c", "company": ""}')
    assert "phone:mobile appears twice in the field map" in fm.problems
    assert "unknown target 'pager' in the field map" in fm.problems
    assert any("needs external_id" in p for p in fm.problems)
    assert any("needs a name" in p for p in fm.problems)
    assert any("needs a column name" in p for p in fm.problems)


def test_field_map_array_is_positional() -> None:
    fm = parse_field_map('["-", "external_id", "company", "display_name", null, "phone:work"]')
    assert fm.positional and fm.problems == ()
    assert [(t.key, i) for t, i in plan_by_position(fm, 7)] == [
        ("external_id", 1), ("company", 2), ("display_name", 3), ("phone:work", 5),
    ]  # fmt: skip
    with pytest.raises(MapError, match="returns 4 columns but the field map lists 6"):
        plan_by_position(fm, 4)
    with pytest.raises(MapError, match="needs column names"):
        plan_by_name(fm)


@pytest.mark.parametrize("raw", ["{not json", "42", '"id"', None])
def test_field_map_that_is_not_a_json_object(raw: object) -> None:
    with pytest.raises(MapError):
        parse_field_map(raw)


def test_field_map_accepts_an_already_parsed_dict() -> None:
    assert parse_field_map({"external_id": "id", "last_name": "ln"}).columns() == ["id", "ln"]


@pytest.mark.parametrize(
    ("full", "first", "last"),
    [("Anna Rossi", "Anna", "Rossi"), ("Rossi, Anna", "Anna", "Rossi"), ("Anna Maria Rossi", "Anna Maria", "Rossi"),
     ("Cher", "Cher", ""), ("", "", "")],
)  # fmt: skip
def test_split_name(full: str, first: str, last: str) -> None:
    assert split_name(full) == (first, last)


def _plan(mapping: str) -> list:
    return plan_by_name(parse_field_map(mapping))


def test_row_to_record_full_and_empty_values() -> None:
    row_plan = _plan(
        '{"external_id": "id", "display_name": "n", "company": "co", "phone:work": "t", "mobile": "m",'
        ' "email:business": "e", "notes": "no", "custom:vip": "v", "tags": "tg", "contact_type": "ct"}'
    )
    rec = to_record([7, " Anna Rossi ", "ACME", 390612345.0, None, "a@x.it", "", "gold", "a; b,", "LEAD"], row_plan)
    assert rec == ContactRecord(
        first_name="Anna", last_name="Rossi", company="ACME", notes="", contact_type="lead",
        phones=(PhoneIn("390612345", "work"),), emails=(EmailIn("a@x.it", "business"),),
        custom={"vip": "gold"}, tags=("a", "b"), external_id="7",
    )  # fmt: skip
    empty = to_record([8, "Bob", None, "", "", None, None, None, "", ""], row_plan)
    assert isinstance(empty, ContactRecord)
    assert (empty.company, empty.notes, empty.phones, empty.emails) == ("", "", (), ())
    assert (empty.title, empty.org_department) == (None, None)  # not mapped: the source says nothing


def test_first_and_last_name_win_over_display_name() -> None:
    row_plan = _plan('{"external_id": "id", "first_name": "f", "last_name": "l", "display_name": "d"}')
    rec = to_record([1, "Anna", "Rossi", "Someone Else"], row_plan)
    assert (rec.first_name, rec.last_name) == ("Anna", "Rossi")
    rec = to_record([1, "", None, "Someone Else"], row_plan)
    assert (rec.first_name, rec.last_name) == ("Someone", "Else")


def test_rows_without_id_or_name_are_skipped() -> None:
    row_plan = _plan('{"external_id": "id", "display_name": "d", "company": "c"}')
    assert to_record([None, "Anna", ""], row_plan) == SkippedRecord(None, "the external ID column is empty")
    assert to_record([3, "", ""], row_plan) == SkippedRecord("3", "no name (the name columns are empty)")
    assert to_record([4, "", "Solo Ltd"], row_plan).company == "Solo Ltd"


def test_id_and_name_together_identify_when_asked() -> None:
    row_plan = _plan('{"external_id": "code", "display_name": "d"}')
    assert to_record(["S001", "Dora Diaz"], row_plan, id_with_name=True).external_id == "S001|Dora Diaz"
    assert to_record(["S001", "Dora Diaz"], row_plan).external_id == "S001"


def test_url_password_is_merged_from_the_secret_not_the_url() -> None:
    url = build_url("mysql://crm@db.example:3306/crm", "s3cr:t/@x")
    assert url.drivername == "mysql+pymysql" and url.password == "s3cr:t/@x"
    assert "s3cr" not in url.render_as_string(hide_password=True)
    assert build_url("postgresql://u@h/db", None).drivername == "postgresql+psycopg"
    with pytest.raises(SourceError, match="Password field"):
        build_url("mysql+pymysql://root:hunter2@h/db", None)
    with pytest.raises(SourceError, match="not valid"):
        build_url("not a url", None)
    with pytest.raises(SourceError, match="unsupported database 'sqlite'"):
        build_url("sqlite:////etc/passwd", None)
    with pytest.raises(SourceError, match="unsupported driver"):
        build_url("mysql+mysqldb://u@h/db", None)
    with pytest.raises(SourceError, match="init_command"):
        build_url("mysql+pymysql://u@h/db?init_command=DROP+TABLE+t", None)


def test_mssql_named_instance_url() -> None:
    url = build_url(r"mssql+pyodbc://sa@10.0.0.5\SQLEXPRESS/crm?driver=ODBC+Driver+18+for+SQL+Server", "pw")
    assert (url.host, url.port, url.database) == ("10.0.0.5\\SQLEXPRESS", None, "crm")
    assert url.query["driver"] == "ODBC Driver 18 for SQL Server"


def test_hook_registers_the_source_type() -> None:
    (source,) = plugin.contacts_hub_register_source_types()
    assert (source.name, source.label, source.full_snapshot_options) == ("sql", "SQL database", True)
    assert callable(source.pull) and callable(source.test)
    fields = {f.name: f for f in source.fields}
    assert list(fields) == ["url", "password", "connect_timeout", "query_timeout", "query", "identity", "field_map"]
    assert [f.name for f in source.fields if f.secret] == ["password"]
    assert "${MAP}" in fields["query"].help and "phone:work" in fields["field_map"].help
    assert "\\instance" in fields["url"].help


def test_mssql_without_the_extra_says_how_to_install_it() -> None:
    pytest.importorskip("sqlalchemy.dialects.mssql")
    try:
        import pyodbc  # noqa: F401
    except ImportError:
        pass
    else:
        pytest.skip("pyodbc is installed here")
    from plugin_host.records import PullContext
    from plugins.sql_source.source import pull

    settings = {"url": r"mssql+pyodbc://sa@db\SQLEXPRESS/crm?driver=x", "query": "SELECT [Id], [Name] FROM [People]",
                "field_map": '["external_id", "display_name"]'}  # fmt: skip
    with pytest.raises(SourceError, match=r"pip install 'contacts-hub\[mssql\]'"):
        next(pull(settings, None, PullContext(sleep=lambda s: None, now=lambda: 0.0)))
