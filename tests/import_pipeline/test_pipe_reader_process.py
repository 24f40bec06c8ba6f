"""The import's reading process: the same rows, outcomes, failed rows and stored data as one process."""

from __future__ import annotations

import csv
import io
from typing import Any

import pytest
from sqlalchemy import select, update

from plugin_host.importing import pipeline
from plugin_host.importing.pipeline import ImportOptions, error_rows, run_import
from plugin_host.models import T

C, PH, EM = T["contacts"], T["contact_phones"], T["contact_emails"]
HEADER = ("name", "last_name", "company", "contact_type", "phone", "phone_label", "email", "email_label",
          "fbUserId", "notes")
PHONES = ["(212) 555-0123", "212.555.0199 x12", "+49 30 1234567", "0033 1 42 68 53 00", "n/a", "123", ""]


def pbx_file(rows: int, *, unique: bool = False) -> bytes:
    """PBX rows with every kind of trouble: junk phones, bad e-mails, too-long names, ragged rows,
    continuation rows (folded into the row before), accents, duplicate e-mails in one file.
    ``unique``: instead, every contact has its own e-mail (a re-import matches each exactly once)."""
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\r\n")
    w.writerow(HEADER)
    for i in range(rows):
        first = ["Jürgen", "Zoë", "Ana", "X" * 250, "", "Sören"][i % 6]
        email = [f"p{i}@example.com", f"P{i}@Example.com ", "not-an-address",
                 f"r{i}@example.com" if unique else f"p{i % 7}@dup.example",
                 f"q{i}@example.com" if unique else ""][i % 5]
        if i % 23 == 0:
            w.writerow((first, "Only", "Three"))  # a ragged row
            continue
        w.writerow((first, ["Müller", "", "O'Brien"][i % 3], ["Acme", "", "Stark Inc"][i % 3],
                    ["customer", "lead", "", "weird"][i % 4], PHONES[i % len(PHONES)],
                    ["Mobile", "work", "", "Cell"][i % 4], email, ["business", "", "Home"][i % 3],
                    str(10**15 + i) if i % 4 == 0 else "", ["", "VIP", "a\r\nb"][i % 3]))
        if i % 11 == 0:  # a continuation row: same name/company/type, another phone
            w.writerow((first, ["Müller", "", "O'Brien"][i % 3], ["Acme", "", "Stark Inc"][i % 3],
                        ["customer", "lead", "", "weird"][i % 4], "+44 7911 123456", "home", "", "", "", ""))
    return out.getvalue().encode()


def snapshot(session: Any, tenant: int) -> list[tuple[Any, ...]]:
    skip = {"id", "tenant_id", "created_by", "updated_by", "created_at", "updated_at"}
    cols = [c for c in C.columns if c.name not in skip]
    out = []
    for row in session.execute(select(C.c.id, *cols).where(C.c.tenant_id == tenant)).all():
        phones = session.execute(select(PH.c.position, PH.c.label, PH.c.raw, PH.c.e164, PH.c.national,
                                        PH.c.extension, PH.c.kind, PH.c.digits_rev).where(
            PH.c.contact_id == row.id).order_by(PH.c.position)).all()
        emails = session.execute(select(EM.c.position, EM.c.label, EM.c.address, EM.c.address_key).where(
            EM.c.contact_id == row.id).order_by(EM.c.position)).all()
        out.append((tuple(row[1:]), tuple(map(tuple, phones)), tuple(map(tuple, emails))))
    return sorted(out, key=repr)


def children_ids(session: Any, tenant: int) -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
    return (sorted(map(tuple, session.execute(select(PH.c.id, PH.c.contact_id).where(PH.c.tenant_id == tenant)))),
            sorted(map(tuple, session.execute(select(EM.c.id, EM.c.contact_id).where(EM.c.tenant_id == tenant)))))


@pytest.fixture
def readers(monkeypatch):
    """Force the reading process for any file; collect the readers that ran."""
    started: list[Any] = []

    class Recorded(pipeline._Reader):
        def __init__(self, spec):
            super().__init__(spec)
            started.append(self)

    monkeypatch.setattr(pipeline, "ROW_WORKER_MIN_ROWS", 0)
    monkeypatch.setattr(pipeline, "_Reader", Recorded)
    return started


def outcome(res: Any) -> tuple[Any, ...]:
    return res.rows, res.imported, res.updated, res.skipped, res.errors, res.error_rows


def test_reading_process_stores_what_one_process_stores(world, session, tmp_path, monkeypatch, readers):
    data = pbx_file(300)
    path = tmp_path / "contacts.csv"
    path.write_bytes(data)
    session.execute(update(T["tenants"]).where(T["tenants"].c.id == world.other_tenant).values(default_region="US"))
    session.commit()
    opts = ImportOptions(format_name="pbx_csv", batch_size=40)
    two = run_import(session, world.principal("admin"), path, opts)
    assert len(readers) == 1 and readers[0].peak_rss_kb  # the reading process ran to its end
    monkeypatch.setattr(pipeline, "ROW_WORKER_MIN_ROWS", 10**9)
    one = run_import(session, world.principal("other_admin"), data, opts)
    assert len(readers) == 1
    assert outcome(two) == outcome(one)
    assert two.errors > 10 and two.updated > 0 and two.imported > 100
    assert snapshot(session, world.tenant) == snapshot(session, world.other_tenant)
    assert [(r["row_number"], r["cells"], r["error"]) for r in error_rows(session, two.job_id)] == [
        (r["row_number"], r["cells"], r["error"]) for r in error_rows(session, one.job_id)]
    job = session.execute(select(T["import_jobs"]).where(T["import_jobs"].c.id == two.job_id)).mappings().one()
    assert (job["status"], job["rows_done"]) == ("done", two.rows)


def test_reimport_keeps_unchanged_phone_and_email_rows(world, session, tmp_path, readers):
    path = tmp_path / "contacts.csv"
    path.write_bytes(pbx_file(120, unique=True))  # every contact has an e-mail: the re-import matches all
    p = world.principal("admin")
    first = run_import(session, p, path, ImportOptions(format_name="pbx_csv", batch_size=25))
    before, ids = snapshot(session, world.tenant), children_ids(session, world.tenant)
    again = run_import(session, p, path, ImportOptions(format_name="pbx_csv", batch_size=25))
    assert again.imported == 0 and again.updated == first.imported + first.updated
    strip = [(row[:-1], phones, emails) for row, phones, emails in before]  # all but version
    assert [(row[:-1], phones, emails) for row, phones, emails in snapshot(session, world.tenant)] == strip
    assert children_ids(session, world.tenant) == ids
    # a changed phone replaces that contact's phones, and only those
    changed = pbx_file(120, unique=True).replace(b"(212) 555-0123", b"(212) 555-0999")
    path.write_bytes(changed)
    run_import(session, p, path, ImportOptions(format_name="pbx_csv", batch_size=25))
    after = snapshot(session, world.tenant)
    assert any(ph[2] == "(212) 555-0999" for _, phones, _ in after for ph in phones)
    assert not any(ph[2] == "(212) 555-0123" for _, phones, _ in after for ph in phones)


def test_a_lost_reading_process_costs_only_speed(world, session, tmp_path, monkeypatch, readers):
    data = pbx_file(150)
    path = tmp_path / "contacts.csv"
    path.write_bytes(data)
    real_spec = pipeline._reader_spec

    def broken(*args: Any) -> dict[str, Any] | None:
        spec = real_spec(*args)
        assert spec is not None
        return {**spec, "source": str(tmp_path / "missing.csv")}  # the reading process fails at once

    monkeypatch.setattr(pipeline, "_reader_spec", broken)
    res = run_import(session, world.principal("admin"), path, ImportOptions(format_name="pbx_csv", batch_size=30))
    assert len(readers) == 1 and readers[0].peak_rss_kb is None
    monkeypatch.setattr(pipeline, "ROW_WORKER_MIN_ROWS", 10**9)
    dry = run_import(session, world.principal("admin"), data,
                     ImportOptions(format_name="pbx_csv", batch_size=30, dry_run=True))
    assert res.status == "done" and res.rows == dry.rows and res.errors == dry.errors
    assert res.imported + res.updated == dry.imported + dry.updated


@pytest.mark.parametrize("cells", [["a", "", "b\r\nc"], [""], ["", ""], ["x\x1fy", "z"], []])
def test_packed_cells_come_back_exactly(cells):
    assert pipeline._unpack(pipeline._pack(cells)) == cells


def test_collector_thresholds_come_back_after_an_import(world, session, tmp_path, readers):
    import gc

    before = gc.get_threshold()
    path = tmp_path / "contacts.csv"
    path.write_bytes(pbx_file(60))
    run_import(session, world.principal("admin"), path, ImportOptions(format_name="pbx_csv"))
    assert gc.get_threshold() == before
