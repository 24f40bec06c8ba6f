"""SQLite: a large first import builds the secondary indexes once, at the end, inside its transaction."""

from __future__ import annotations

import shutil
from typing import Any

import pytest
from sqlalchemy import create_engine, func, select, update
from test_pipe_reader_process import pbx_file, snapshot

from plugin_host.importing import pipeline
from plugin_host.importing.pipeline import ImportOptions, run_import
from plugin_host.models import T
from plugin_host.repo.upsert import Upserter

C = T["contacts"]


def indexes(session: Any) -> list[tuple[str, str]]:
    marks = ", ".join(f"'{t}'" for t in pipeline.BULK_TABLES)
    return sorted(map(tuple, session.connection().exec_driver_sql(
        f"SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name IN ({marks})").all()))


def stats(session: Any) -> list[tuple[str, str, str]]:
    return sorted(map(tuple, session.connection().exec_driver_sql("SELECT tbl, idx, stat FROM sqlite_stat1").all()))


@pytest.fixture
def drops(monkeypatch):
    """Every index set aside by an import, in order; bulk mode from the first row on."""
    seen: list[list[str]] = []
    real = pipeline._SqliteBulkIndexes.consider

    def consider(self, *args: Any) -> None:
        real(self, *args)
        seen.append([n for n, _ in self.dropped])

    monkeypatch.setattr(pipeline, "BULK_INDEX_MIN_ROWS", 1)
    monkeypatch.setattr(pipeline._SqliteBulkIndexes, "consider", consider)
    return seen


@pytest.fixture
def database_url(sqlite_template, tmp_path):
    """SQLite only (PostgreSQL imports commit as they go and never drop an index)."""
    target = tmp_path / "contacts.db"
    shutil.copy(sqlite_template, target)
    return f"sqlite:///{target}"


def test_first_import_builds_indexes_once_and_stores_the_same(world, session, drops, monkeypatch):
    session.execute(update(T["tenants"]).where(T["tenants"].c.id == world.other_tenant).values(default_region="US"))
    session.connection().exec_driver_sql("ANALYZE")
    session.commit()
    before_ix, before_stats = indexes(session), stats(session)
    data = pbx_file(300)
    opts = ImportOptions(format_name="pbx_csv", batch_size=40)
    bulk = run_import(session, world.principal("admin"), data, opts)
    dropped = drops[0]
    assert "ix_contacts_name_walk" in dropped and "ix_phones_digits_rev" in dropped
    # what the import reads itself stays: matching on e-mail, the stored rows of matched contacts
    assert not {"ix_emails_key", "ix_contact_phones_contact_id", "ix_contact_emails_contact_id"} & set(dropped)
    assert not [n for n in dropped if n == "ix_contacts_tenant_sort"]  # a WHERE 0 stand-in costs nothing
    assert indexes(session) == before_ix and stats(session) == before_stats
    assert session.connection().exec_driver_sql("PRAGMA integrity_check").scalar() == "ok"
    # the same file with every index kept all along stores exactly the same
    monkeypatch.setattr(pipeline, "BULK_INDEX_MIN_ROWS", 10**9)
    one = run_import(session, world.principal("other_admin"), data, opts)
    assert drops[1] == []
    assert (bulk.imported, bulk.updated, bulk.errors) == (one.imported, one.updated, one.errors)
    assert bulk.imported > 100 and bulk.updated > 0
    assert snapshot(session, world.tenant) == snapshot(session, world.other_tenant)
    # and the walk index answers searches over the new rows
    walked = session.connection().exec_driver_sql(
        "SELECT count(*) FROM contacts INDEXED BY ix_contacts_name_walk WHERE tenant_id = ? AND sort_key >= ''",
        (world.tenant,)).scalar()
    assert walked == session.execute(select(func.count()).select_from(C).where(C.c.tenant_id == world.tenant)).scalar()


def test_other_connections_keep_the_indexes_while_the_import_runs(world, session, drops, monkeypatch):
    seen: list[list[str]] = []
    url = session.get_bind().url
    real = Upserter.apply_prepared

    def apply(self, records):
        out = real(self, records)
        other = create_engine(url)
        with other.connect() as conn:  # a reader outside the import's transaction
            seen.append([r[0] for r in conn.exec_driver_sql(
                "SELECT name FROM sqlite_master WHERE name = 'ix_contacts_name_walk'")])
        other.dispose()
        return out

    monkeypatch.setattr(Upserter, "apply_prepared", apply)
    run_import(session, world.principal("admin"), pbx_file(120), ImportOptions(format_name="pbx_csv", batch_size=40))
    assert drops[0] and len(seen) >= 3
    assert all(names == ["ix_contacts_name_walk"] for names in seen)


def test_a_failed_import_rolls_the_drop_back(world, session, drops, monkeypatch):
    before = indexes(session)
    calls = {"n": 0}
    real = Upserter.apply_prepared

    def failing(self, records):
        calls["n"] += 1
        if calls["n"] == 3:
            raise RuntimeError("disk on fire")
        return real(self, records)

    monkeypatch.setattr(Upserter, "apply_prepared", failing)
    with pytest.raises(RuntimeError, match="disk on fire"):
        run_import(session, world.principal("admin"), pbx_file(200), ImportOptions(format_name="pbx_csv",
                                                                                   batch_size=40))
    assert drops[0]  # the indexes were set aside ...
    assert indexes(session) == before  # ... and came back with the rollback
    assert session.execute(select(func.count()).select_from(C).where(C.c.tenant_id == world.tenant)).scalar() == 0
    job = session.execute(select(T["import_jobs"]).order_by(T["import_jobs"].c.id.desc())).mappings().first()
    assert job["status"] == "failed"


def test_reimport_and_dry_run_keep_the_indexes(world, session, drops, monkeypatch):
    p = world.principal("admin")
    data = pbx_file(200, unique=True)
    run_import(session, p, data, ImportOptions(format_name="pbx_csv", batch_size=40))
    assert drops[-1]
    # the same file again: nothing new, so the indexes stay (updates touch few indexed columns)
    monkeypatch.setattr(pipeline, "BULK_INDEX_MIN_ROWS", 100)
    again = run_import(session, p, data, ImportOptions(format_name="pbx_csv", batch_size=40))
    assert again.imported == 0 and drops[-1] == []
    monkeypatch.setattr(pipeline, "BULK_INDEX_MIN_ROWS", 1)
    n = len(drops)
    run_import(session, world.principal("other_admin"), data,
               ImportOptions(format_name="pbx_csv", batch_size=40, dry_run=True))
    assert len(drops) == n  # a dry run never considers it
