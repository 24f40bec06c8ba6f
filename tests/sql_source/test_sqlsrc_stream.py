"""Rows are streamed from a server-side cursor: a huge table syncs in flat memory."""

from __future__ import annotations

import json
import tracemalloc

import pytest

from plugin_host.records import ContactRecord, PullContext, SourceError, SyncEnd
from plugins.sql_source.source import pull

ROWS = 200_000
POSITIONAL = json.dumps(["external_id", "display_name", "phone:work"])


def _query(backend: str, boom: bool = False) -> str:
    if backend == "postgresql":
        # The last row divides by zero: a materialising reader would fail before the first record.
        last = f", 1 / ({ROWS} - i)" if boom else ""
        return f"SELECT i, 'Person ' || i, '+1 555 ' || i{last} FROM generate_series(1, {ROWS}) AS i"
    return f"SELECT seq, CONCAT('Person ', seq), CONCAT('+1 555 ', seq) FROM seq_1_to_{ROWS}"


def test_a_large_result_streams_in_flat_memory(db, ctx: PullContext) -> None:
    items = pull(db.settings(query=_query(db.backend), field_map=POSITIONAL, query_timeout=300), None, ctx)
    tracemalloc.start()
    try:
        count, last = 0, None
        for item in items:
            count += isinstance(item, ContactRecord)
            last = item
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert count == ROWS and isinstance(last, SyncEnd)
    # 200k records held at once would take well over 100 MB; a 1000-row window takes a few.
    assert peak < 25_000_000, f"peak {peak / 1e6:.1f} MB"


@pytest.mark.pg
def test_postgres_yields_before_the_whole_result_exists(pg_db, ctx: PullContext) -> None:
    items = pull(pg_db.settings(query=_query("postgresql", boom=True), field_map=POSITIONAL), None, ctx)
    first = next(items)
    assert isinstance(first, ContactRecord) and first.external_id == "1"
    with pytest.raises(SourceError, match="division by zero"):
        for _ in items:
            pass


@pytest.mark.mariadb
def test_mariadb_yields_while_the_query_is_still_running(mysql_db, ctx: PullContext) -> None:
    items = pull(mysql_db.settings(query=_query("mysql"), field_map=POSITIONAL), None, ctx)
    assert next(items).external_id == "1"
    running = mysql_db.scalar(
        "SELECT COUNT(*) FROM information_schema.PROCESSLIST "
        f"WHERE INFO LIKE '%seq_1_to_{ROWS}%' AND ID <> CONNECTION_ID()"
    )
    assert running == 1  # the server is still sending rows: nothing was read ahead in full
    items.close()  # an abandoned sync drops the connection instead of reading 200k rows


def test_the_generator_does_nothing_until_iterated(db, ctx: PullContext) -> None:
    url = db.url.set(port=1, password=None).render_as_string(hide_password=False)
    items = pull(db.settings(url=url, query=_query(db.backend), field_map=POSITIONAL), None, ctx)
    with pytest.raises(SourceError, match="cannot connect"):  # the connection is made only now
        next(items)
