"""Import pipeline: bad rows, the failed-rows CSV and its token, file-level errors."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

import pytest
from pipe_support import count, run
from sqlalchemy import update

from plugin_host.importing import ImportFileError
from plugin_host.importing.pipeline import (
    ImportOptions,
    errors_csv,
    issue_errors_token,
    job_for_errors_token,
    run_import,
)
from plugin_host.models import T, utcnow

BAD = (
    b"first_name,last_name,email,status\n"
    b"Ann,Able,ann@x.com,active\n"
    b"Bob,Bad,bob@x.com,bogus-status\n"
    b"Cid,Ragged,cid@x.com,active,extra,cells\n"
    b"Dee,Dup,ann@x.com,active\n"
    b",,,\n"
    b"Eve,Ok,eve@x.com,inactive\n"
)


def test_counts_add_up_and_errors_csv_has_original_columns(world, session):
    res = run(session, world.principal("admin"), BAD, batch_size=2)
    assert res.rows == 6
    assert res.imported + res.updated + res.skipped + res.errors == res.rows
    assert (res.imported, res.updated, res.errors) == (2, 1, 3)
    assert [n for n, _ in res.error_rows] == [3, 4, 6]
    assert count(session, "import_error_rows", job_id=res.job_id) == 3
    table = list(csv.reader(io.StringIO(errors_csv(session, res.job_id))))
    assert table[0] == ["first_name", "last_name", "email", "status", "errors"]
    bob = table[1]
    assert bob[:4] == ["Bob", "Bad", "bob@x.com", "bogus-status"] and "Row 3" in bob[-1]
    assert table[2][:4] == ["Cid", "Ragged", "cid@x.com", "active"] and table[2][5:] == ["extra", "cells"]
    assert "cells but the header has 4 columns" in table[2][4]


def test_errors_token_is_hashed_and_expires(world, session):
    res = run(session, world.principal("admin"), BAD)
    token = issue_errors_token(session, res.job_id, ttl_minutes=30)
    jobs = T["import_jobs"]
    stored = session.execute(jobs.select().where(jobs.c.id == res.job_id)).mappings().one()
    assert stored["error_token_hash"] and token not in stored["error_token_hash"]
    assert job_for_errors_token(session, world.tenant, token) == res.job_id
    assert job_for_errors_token(session, world.other_tenant, token) is None
    assert job_for_errors_token(session, world.tenant, token + "x") is None
    session.execute(update(jobs).where(jobs.c.id == res.job_id).values(
        error_token_expires_at=utcnow() - timedelta(seconds=1)))
    session.commit()
    assert job_for_errors_token(session, world.tenant, token) is None


@pytest.mark.parametrize(("data", "words"), [
    (b"", "empty"),
    (b"   \n\n", "empty"),
    (bytes(range(256)) * 20, "binary"),
])
def test_file_level_errors_write_nothing(world, session, data, words):
    with pytest.raises(ImportFileError) as info:
        run(session, world.principal("admin"), data)
    assert words in str(info.value).lower()
    assert count(session, "contacts") == 0 and count(session, "import_jobs") == 0


def test_file_level_error_marks_an_existing_job_failed(world, session):
    from plugin_host.importing.pipeline import create_job, get_job

    p = world.principal("admin")
    job_id = create_job(session, p, ImportOptions())
    session.commit()
    with pytest.raises(ImportFileError):
        run_import(session, p, b"", ImportOptions(), job_id=job_id)
    job = get_job(session, world.tenant, job_id)
    assert job["status"] == "failed" and "empty" in job["message"].lower()


def test_unmappable_header_is_a_file_level_error(world, session):
    with pytest.raises(ImportFileError, match="Map the columns"):
        run(session, world.principal("admin"), b"foo,bar\n1,2\n")
    assert count(session, "contacts") == 0
