"""Import pipeline: real files in, re-import, skip, dry run, list modes, permissions."""

from __future__ import annotations

import pytest
from pipe_support import PBX, REAL, contacts, count, run
from sqlalchemy import select

from plugin_host.importing.pipeline import ImportOptions, preview, run_import
from plugin_host.models import T
from plugin_host.repo import ContactRepository, PermissionDenied

PH = T["contact_phones"] if "contact_phones" in T else T["phones"]


def test_pbx_example_imports_five_contacts_with_e164_and_labels(world, session):
    seen = []
    res = run_import(session, world.principal("admin"), PBX, ImportOptions(batch_size=2),
                     progress=lambda done, total: seen.append((done, total)))
    assert (res.rows, res.imported, res.updated, res.skipped, res.errors) == (5, 5, 0, 0, 0)
    assert res.status == "done" and res.format == "pbx_csv"
    assert seen[-1] == (5, 5) and len(seen) >= 3
    repo = ContactRepository(session, world.principal("admin"))
    rows = contacts(session, world.tenant)
    noah = repo.get(rows[0]["id"])
    assert (noah["first_name"], noah["last_name"], noah["company"]) == ("Noah", "Bianchi", "PulseNet")
    assert [(p["e164"], p["label"]) for p in noah["phones"]] == [("+14085550101", "home")]
    assert [(e["address"], e["label"]) for e in noah["emails"]] == [("noah.bianchi@pulsenet.com", "private")]
    emma = repo.get(rows[2]["id"])
    assert emma["phones"][0]["label"] == "mobile" and emma["emails"][0]["label"] == "business"
    job = session.execute(select(T["import_jobs"]).where(T["import_jobs"].c.id == res.job_id)).mappings().one()
    assert (job["status"], job["imported"], job["rows_done"], job["total_rows"]) == ("done", 5, 5, 5)


def test_outlook_2007_german_and_vcards(world, session):
    p = world.principal("admin")
    res = run(session, p, REAL / "outlook_importer" / "outlook_2007_de.csv")
    assert (res.rows, res.imported, res.errors) == (1, 1, 0) and res.format == "outlook_csv"
    res = run(session, p, (REAL / "ez-vcard" / "gmail-list.vcf").read_bytes())
    assert (res.rows, res.imported, res.errors) == (3, 3, 0)
    names = {(c["first_name"], c["last_name"]) for c in contacts(session, world.tenant)}
    assert names == {("Robin", "Example"), ("Arnold", "Smith"), ("Chris", "Beatle"), ("Doug", "White")}


def test_reimport_updates_without_duplicates(world, session):
    p = world.principal("admin")
    run(session, p, PBX)
    again = run(session, p, PBX, match_keys=("email", "phone"))
    assert (again.imported, again.updated, again.skipped, again.errors) == (0, 5, 0, 0)
    assert count(session, "contacts", tenant_id=world.tenant) == 5


def test_skip_mode(world, session):
    p = world.principal("admin")
    run(session, p, PBX)
    res = run(session, p, PBX, on_duplicate="skip")
    assert (res.imported, res.updated, res.skipped, res.errors) == (0, 0, 5, 0)


def test_dry_run_writes_nothing_and_counts_in_file_duplicates(world, session):
    data = PBX.read_bytes() + PBX.read_bytes().split(b"\n", 2)[1] + b"\n"  # Noah twice
    res = run(session, world.principal("admin"), data, dry_run=True, batch_size=2, list_mode="new", list_name="L")
    assert (res.rows, res.imported, res.updated, res.skipped, res.errors) == (6, 5, 1, 0, 0)
    assert res.dry_run and res.list_id is None
    assert count(session, "contacts") == 0 and count(session, "lists") == 0
    skip = run(session, world.principal("admin"), data, dry_run=True, on_duplicate="skip")
    assert (skip.imported, skip.skipped) == (5, 1)


def test_list_mode_new_and_existing(world, session):
    p = world.principal("admin")
    res = run(session, p, PBX, list_mode="new", list_name="Trade show")
    assert res.list_id and count(session, "list_members", list_id=res.list_id) == 5
    again = run(session, p, PBX, list_mode="existing", list_id=res.list_id)
    assert again.updated == 5 and count(session, "list_members", list_id=res.list_id) == 5


def test_list_mode_per_row_uses_the_list_column(world, session):
    data = b"first_name,last_name,email,_list\nA,One,a@x.com,Alpha\nB,Two,b@x.com,Beta\nC,Three,c@x.com,Alpha\n"
    p = world.principal("admin")
    res = run(session, p, data, list_mode="per_row")
    assert res.imported == 3
    lists = dict(session.execute(select(T["lists"].c.name, T["lists"].c.id)).all())
    assert set(lists) == {"Alpha", "Beta"}
    assert count(session, "list_members", list_id=lists["Alpha"]) == 2
    run(session, p, data.replace(b"@x.com", b"@y.com"), list_mode="none")
    assert count(session, "list_members", list_id=lists["Alpha"]) == 2  # _list ignored outside per_row


def test_agent_import_global_refused_private_allowed(world, session):
    agent = world.principal("agent1")
    with pytest.raises(PermissionDenied):
        run(session, agent, PBX, visibility="global")
    assert count(session, "contacts") == 0 and count(session, "import_jobs") == 0
    res = run(session, agent, PBX, visibility="private", owner_id=world.users["agent1"])
    assert res.imported == 5
    assert {(c["visibility"], c["owner_id"]) for c in contacts(session, world.tenant)} == {
        ("private", world.users["agent1"])}


def test_mapping_by_header_and_preview(app, world, session):
    data = b"Vorname;Nachname;Mail\nAnna;Berg;anna@x.de\n"
    mapping = {"Vorname": "first_name", "Nachname": "last_name", "Mail": "email"}
    shown = preview(app, data, ImportOptions(mapping=mapping))
    assert [c["target"] for c in shown["columns"]] == ["first_name", "last_name", "email"]
    assert shown["delimiter"] == ";" and count(session, "import_jobs") == 0
    res = run(session, world.principal("admin"), data, mapping=mapping)
    assert res.imported == 1 and contacts(session, world.tenant)[0]["last_name"] == "Berg"
