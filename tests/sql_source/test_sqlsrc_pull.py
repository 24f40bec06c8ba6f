"""pull() against real MariaDB and PostgreSQL servers: mapping, ${MAP} and positional queries."""

from __future__ import annotations

import json

from plugin_host.records import ContactRecord, EmailIn, PhoneIn, PullContext, SkippedRecord, SyncEnd
from plugins.sql_source.source import pull

FULL_MAP = {
    "external_id": "id", "first_name": "first_name", "last_name": "last_name", "company": "company",
    "title": "job_title", "org_department": "dept", "notes": "notes", "phone:work": "phone",
    "mobile": "mobile", "fax": "fax", "email:business": "email",
}  # fmt: skip
CUSTOMERS = "SELECT ${MAP} FROM crm_people WHERE type = 'customer' ORDER BY id"


def _pull(db, ctx: PullContext, **settings) -> list:
    return list(pull(db.settings(**settings), None, ctx))


def _by_id(items: list) -> dict[str, ContactRecord]:
    return {i.external_id: i for i in items if isinstance(i, ContactRecord)}


def test_map_query_pulls_every_mapped_field(people, ctx: PullContext) -> None:
    items = _pull(people, ctx, query=CUSTOMERS, field_map=json.dumps(FULL_MAP))
    assert items[-1] == SyncEnd(cursor="1700000000", full_snapshot=True)
    assert sum(isinstance(i, SyncEnd) for i in items) == 1
    records = _by_id(items)
    assert set(records) == {"1", "2", "4"}  # 3 is a supplier; 5 has no name at all
    assert records["1"] == ContactRecord(
        first_name="Anna", last_name="Rossi", company="ACME", title="Buyer", org_department="Purchasing",
        notes="VIP", phones=(PhoneIn("+39 06 1234567", "work"), PhoneIn("+39 333 1234567", "mobile")),
        emails=(EmailIn("anna@acme.example", "business"),), external_id="1",
    )  # fmt: skip
    assert records["4"].company == "Solo Ltd" and records["4"].phones == (PhoneIn("+44 20 7946 0000", "work"),)
    (skipped,) = [i for i in items if isinstance(i, SkippedRecord)]
    assert skipped.external_id == "5" and "no name" in skipped.reason


def test_empty_and_null_values_are_sent_as_empty_so_the_engine_can_erase(people, ctx: PullContext) -> None:
    bob = _by_id(_pull(people, ctx, query=CUSTOMERS, field_map=json.dumps(FULL_MAP)))["2"]
    assert (bob.first_name, bob.last_name) == ("Bob", "Smith")
    assert (bob.company, bob.title, bob.org_department, bob.notes) == ("", "", "", "")
    assert bob.phones == () and bob.emails == ()
    assert bob.language is None and bob.custom is None  # not mapped: left alone


def test_display_name_alone_is_split(people, ctx: PullContext) -> None:
    fmap = {"external_id": "id", "display_name": "full_name"}
    records = _by_id(_pull(people, ctx, query=CUSTOMERS, field_map=json.dumps(fmap)))
    assert (records["1"].first_name, records["1"].last_name) == ("Anna", "Rossi")
    assert (records["2"].first_name, records["2"].last_name) == ("Bob", "Smith")  # "Smith, Bob"
    assert records["1"].phones is None and records["1"].company is None


def test_changed_rows_show_on_the_next_pull(people, ctx: PullContext) -> None:
    settings = {"query": CUSTOMERS, "field_map": json.dumps(FULL_MAP)}
    assert _by_id(_pull(people, ctx, **settings))["1"].title == "Buyer"
    people.execute(
        "UPDATE crm_people SET job_title = 'Head of Purchasing', phone = '+39 06 7654321' WHERE id = 1",
        "UPDATE crm_people SET type = 'customer' WHERE id = 3",
        "DELETE FROM crm_people WHERE id = 2",
    )
    records = _by_id(_pull(people, ctx, **settings))
    assert records["1"].title == "Head of Purchasing"
    assert records["1"].phones[0] == PhoneIn("+39 06 7654321", "work")
    assert set(records) == {"1", "3", "4"}  # 2 is absent: the engine removes it only if asked


def test_positional_query_like_the_sap_example(people, ctx: PullContext) -> None:
    query = (
        "select '' as empty, OCRD.CardCode, CardName, Name, Tel1, OCPR.Fax, Cellolar, E_MailL, Title "
        "from OCRD INNER JOIN OCPR ON OCRD.CardCode = OCPR.CardCode where CardType = 'S' order by Name"
    )
    fmap = ["-", "external_id", "company", "display_name", "phone:work", "fax", "mobile", "email", "title"]
    items = _pull(people, ctx, query=query, field_map=json.dumps(fmap), identity="external_id+name")
    records = _by_id(items)
    assert set(records) == {"S001|Dora Diaz", "S001|Eli Eng"}
    dora = records["S001|Dora Diaz"]
    assert (dora.first_name, dora.last_name, dora.company, dora.title) == ("Dora", "Diaz", "Parts Inc", "Sales")
    assert dora.phones == (
        PhoneIn("+1 212 555 0100", "work"), PhoneIn("+1 212 555 0101", "fax"), PhoneIn("+1 917 555 0102", "mobile"),
    )  # fmt: skip
    assert dora.emails == (EmailIn("dora@parts.example", "other"),)
    assert records["S001|Eli Eng"].emails == ()


def test_positional_query_with_an_object_map(people, ctx: PullContext) -> None:
    fmap = {"external_id": "id", "display_name": "whatever", "phone:work": "tel"}
    query = "SELECT id, full_name, phone FROM crm_people WHERE id = 1"
    (record, end) = _pull(people, ctx, query=query, field_map=json.dumps(fmap))
    assert (record.external_id, record.first_name, record.phones) == ("1", "Anna", (PhoneIn("+39 06 1234567", "work"),))
    assert end.full_snapshot


def test_literals_with_percent_colon_and_semicolon_reach_the_server_untouched(people, ctx: PullContext) -> None:
    query = "SELECT ${MAP} FROM crm_people WHERE email LIKE '%@acme.example' AND notes <> ':x;y'"
    records = _by_id(_pull(people, ctx, query=query, field_map='{"external_id": "id", "last_name": "last_name"}'))
    assert set(records) == {"1"}


def test_mixed_case_and_qualified_map_columns(people, ctx: PullContext) -> None:
    people.execute("DROP TABLE IF EXISTS quoted_people")
    q = "`" if people.backend == "mysql" else '"'
    people.execute(f"CREATE TABLE quoted_people ({q}Contact ID{q} INT, {q}Full Name{q} VARCHAR(50))")
    people.execute("INSERT INTO quoted_people VALUES (9, 'Zoe Zed')")
    fmap = {"external_id": "p.Contact ID", "display_name": "Full Name"}
    (record, _) = _pull(people, ctx, query="SELECT ${MAP} FROM quoted_people p", field_map=json.dumps(fmap))
    assert (record.external_id, record.last_name) == ("9", "Zed")
