"""The Import test: sample rows, mapping problems and the available columns, without writing."""

from __future__ import annotations

import json

import pytest

from plugin_host.records import PullContext, SourceError
from plugins.sql_source.source import SAMPLE_ROWS, SOURCE_TYPE

MAP = {"external_id": "id", "display_name": "full_name", "phone:work": "phone", "email": "email"}


def _test(db, ctx: PullContext, **settings) -> dict:
    assert SOURCE_TYPE.test is not None
    return dict(SOURCE_TYPE.test(db.settings(**settings), ctx))


def test_sample_rows_are_mapped(people, ctx: PullContext) -> None:
    result = _test(people, ctx, query="SELECT ${MAP} FROM crm_people WHERE id IN (1, 2) ORDER BY id",
                   field_map=json.dumps(MAP))  # fmt: skip
    assert result["problems"] == []
    assert result["rows"] == [
        {"external_id": "1", "first_name": "Anna", "last_name": "Rossi",
         "phones": [{"number": "+39 06 1234567", "label": "work"}],
         "emails": [{"address": "anna@acme.example", "label": "other"}]},
        {"external_id": "2", "first_name": "Bob", "last_name": "Smith", "phones": [], "emails": []},
    ]  # fmt: skip
    assert "job_title" in result["columns"] and "notes" in result["columns"]  # what else could be mapped
    assert result["query"].startswith("SELECT id, full_name, phone, email FROM crm_people")


def test_unknown_column_is_a_problem_and_the_rest_still_shows(people, ctx: PullContext) -> None:
    fmap = {**MAP, "mobile": "cellphone"}
    result = _test(people, ctx, query="SELECT ${MAP} FROM crm_people ORDER BY id", field_map=json.dumps(fmap))
    assert result["problems"][0].startswith("unknown column 'cellphone' for phone:mobile in the field map")
    assert "available: id, type, first_name" in result["problems"][0]
    assert result["rows"][0]["first_name"] == "Anna"
    assert any("no name" in p for p in result["problems"])  # row 5 would be skipped


def test_map_without_id_or_name_is_reported(people, ctx: PullContext) -> None:
    result = _test(people, ctx, query="SELECT ${MAP} FROM crm_people", field_map='{"company": "company"}')
    assert any("needs external_id" in p for p in result["problems"])
    assert any("needs a name" in p for p in result["problems"])


def test_only_a_few_rows_are_read(db, ctx: PullContext) -> None:
    query = (
        "SELECT i, 'Person' FROM generate_series(1, 100000) AS i"
        if db.backend == "postgresql"
        else "SELECT seq, 'Person' FROM seq_1_to_100000"
    )
    result = _test(db, ctx, query=query, field_map='["external_id", "last_name"]')
    assert len(result["rows"]) == SAMPLE_ROWS


def test_positional_columns_out_of_order_get_a_hint(people, ctx: PullContext) -> None:
    fmap = {"external_id": "id", "display_name": "full_name", "phone:work": "phone"}
    result = _test(
        people, ctx, query="SELECT id, phone, full_name FROM crm_people WHERE id = 1", field_map=json.dumps(fmap)
    )
    assert "column 2 of the query is 'phone' but the field map expects 'full_name'" in result["problems"][0]
    assert result["columns"] == ["id", "phone", "full_name"]


def test_fatal_errors_still_raise(people, ctx: PullContext) -> None:
    with pytest.raises(SourceError, match="only SELECT"):
        _test(people, ctx, query="DELETE FROM crm_people", field_map=json.dumps(MAP))
    with pytest.raises(SourceError, match="syntax error"):
        _test(people, ctx, query="SELECT ${MAP} FROM crm_people WHERE", field_map=json.dumps(MAP))
    assert people.scalar("SELECT COUNT(*) FROM crm_people") == 5
