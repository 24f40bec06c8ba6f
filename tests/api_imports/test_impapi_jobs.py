"""Import API: background jobs with progress, crash re-runs without duplicates, failed-rows downloads."""

from __future__ import annotations

import shutil
from datetime import timedelta

from impapi_support import PBX, count_contacts, eventually, poll, upload
from sqlalchemy import select, update

from plugin_host.directory import principal_for
from plugin_host.importing import jobs
from plugin_host.importing.pipeline import ImportOptions, create_job, run_import
from plugin_host.models import T, db, utcnow

JOBS = T["import_jobs"]
BAD = b"first_name,last_name,email,status\nAnn,Able,ann@x.com,active\nBob,Bad,bob@x.com,bogus\n=cmd,Evil,e@x.com,nope\n"


def test_background_job_with_progress(app, world, as_user):
    app.config["IMPORT_BACKGROUND_ROWS"] = 2
    admin = as_user("admin")
    resp = upload(admin, "/api/v1/imports", PBX.read_bytes(), "pbx.csv")
    assert resp.status_code == 202, resp.text
    body = resp.get_json()
    assert body["status"] in ("queued", "running", "done") and body["total_rows"] == 5
    assert resp.headers["Location"] == f"/api/v1/imports/{body['id']}"
    done = poll(admin, resp.headers["Location"])
    assert done["status"] == "done", done
    assert (done["rows_done"], done["total_rows"], done["imported"]) == (5, 5, 5)
    assert {"rows_done", "total_rows", "status"} <= set(done)
    assert count_contacts(app, world.tenant) == 5
    with app.app_context():
        job = db.session.execute(select(JOBS).where(JOBS.c.id == body["id"])).mappings().one()
        assert job["lease_owner"] is None and not (app.instance_path and job["file_path"] and
                                                   __import__("os").path.exists(job["file_path"]))
    # another user of the tenant does not see it; the other tenant neither
    assert as_user("agent1").get(resp.headers["Location"]).status_code == 404
    assert as_user("other_admin").get(resp.headers["Location"]).status_code == 404


def test_background_job_row_errors_and_download(app, world, as_user):
    app.config["IMPORT_BACKGROUND_ROWS"] = 1
    admin = as_user("admin")
    resp = upload(admin, "/api/v1/imports", BAD, "bad.csv")
    assert resp.status_code == 202, resp.text
    done = poll(admin, resp.headers["Location"])
    assert done["status"] == "done" and done["errors"] == 2 and done["imported"] == 1
    csv = admin.get(done["errors_url"])
    assert csv.status_code == 200 and csv.mimetype == "text/csv"
    lines = csv.text.splitlines()
    assert lines[0] == "first_name,last_name,email,status,errors" and len(lines) == 3


def test_job_rerun_after_crash_creates_no_duplicates(app, world, as_user, tmp_path):
    admin = as_user("admin")
    saved = tmp_path / "saved.upload"
    shutil.copy(PBX, saved)
    with app.app_context():
        s = db.session
        p = principal_for(s, world.users["admin"])
        options = ImportOptions(match_keys=("email", "phone"))
        job_id = create_job(s, p, options, filename="pbx.csv", file_path=str(saved))
        s.commit()
        # the first worker got through the file (contacts committed) and then died holding the lease
        run_import(s, p, str(saved), options, job_id=job_id)
        s.execute(update(JOBS).where(JOBS.c.id == job_id).values(
            status="running", rows_done=3, lease_owner="dead-host:1:x",
            lease_expires_at=utcnow() - timedelta(minutes=1), finished_at=None))
        s.commit()
        assert jobs.stale_jobs(s) == [job_id]
        s.rollback()
    assert count_contacts(app, world.tenant) == 5
    # a live lease is respected
    with app.app_context():
        assert jobs.claim(db.session, job_id, "someone-else", 60) is True
        assert jobs.claim(db.session, job_id, "third", 60) is False
        db.session.execute(update(JOBS).where(JOBS.c.id == job_id).values(
            lease_expires_at=utcnow() - timedelta(seconds=1)))
        db.session.commit()
    # polling finds the expired lease and runs the job again: matched by keys, nothing is created twice
    done = poll(admin, f"/api/v1/imports/{job_id}")
    assert done["status"] == "done", done
    assert (done["rows"], done["imported"], done["updated"], done["errors"]) == (5, 0, 5, 0)
    assert count_contacts(app, world.tenant) == 5
    # the worker deletes the saved upload right after it reports "done" (never before: a crash
    # in between must leave the file for the next run)
    assert eventually(lambda: not saved.exists()), "the saved upload was not deleted"
    # running it once more is refused (finished)
    assert jobs.run_job(app, job_id) == "not-claimed"


def test_errors_csv_token_wrong_and_expired(app, world, as_user):
    admin = as_user("admin")
    resp = upload(admin, "/api/v1/imports", BAD, "bad.csv")
    body = resp.get_json()
    assert resp.status_code == 201 and body["errors"] == 2 and body["errors_url"]
    url = body["errors_url"]
    ok = admin.get(url)
    assert ok.status_code == 200 and "errors" in ok.text.splitlines()[0]
    assert "bogus" in ok.text and "Row 3" in ok.text
    wrong = admin.get(f"/api/v1/imports/{body['id']}/errors.csv?token=nope")
    assert wrong.status_code == 404 and wrong.mimetype == "application/problem+json"
    assert admin.get(f"/api/v1/imports/{body['id']}/errors.csv").status_code == 404
    assert as_user("other_admin").get(url).status_code == 404
    with app.app_context():
        db.session.execute(update(JOBS).where(JOBS.c.id == body["id"]).values(
            error_token_expires_at=utcnow() - timedelta(seconds=1)))
        db.session.commit()
    gone = admin.get(url)
    assert gone.status_code == 410 and gone.mimetype == "application/problem+json"
    assert "expired" in gone.get_json()["detail"]
    # the job's page hands out a fresh link
    fresh = admin.get(f"/api/v1/imports/{body['id']}").get_json()["errors_url"]
    assert fresh != url and admin.get(fresh).status_code == 200
