"""Import pipeline: the ``contacts-hub import`` command and saved import templates."""

from __future__ import annotations

import pytest
from pipe_support import PBX, contacts, count

from plugin_host.cli import main
from plugin_host.importing.maps import delete_map, get_map, list_maps, options_from_map, save_map, update_map
from plugin_host.importing.pipeline import ImportOptions
from plugin_host.repo import NotFound, PermissionDenied, ValidationError

BAD = b"first_name,last_name,email,status\nAnn,Able,ann@x.com,active\nBob,Bad,bob@x.com,bogus\n"


def _invoke(runner, *args):
    return runner.invoke(main, ["import", *map(str, args)], catch_exceptions=False)


def test_cli_import_prints_counts_and_row_errors(runner, world, session, tmp_path):
    out = _invoke(runner, PBX, "--tenant", "acme", "--user", "admin")
    assert out.exit_code == 0, out.output
    assert "5 rows (pbx_csv): imported 5, updated 0, skipped 0, errors 0" in out.output
    again = _invoke(runner, PBX, "--tenant", "acme", "--user", "admin", "--match-keys", "email,phone")
    assert "imported 0, updated 5" in again.output
    bad = tmp_path / "bad.csv"
    bad.write_bytes(BAD)
    out = _invoke(runner, bad, "--tenant", "acme", "--user", "admin", "--dry-run", "--on-duplicate", "skip")
    assert "dry run: 2 rows" in out.output and "errors 1" in out.output and "Row 3:" in out.output
    assert count(session, "contacts", tenant_id=world.tenant) == 5


def test_cli_scope_and_refusal(runner, world, session):
    out = runner.invoke(main, ["import", str(PBX), "--tenant", "acme", "--user", "agent1", "--scope", "global"])
    assert out.exit_code != 0 and "may not import into global" in out.output
    out = _invoke(runner, PBX, "--tenant", "acme", "--user", "agent1", "--scope", "private")
    assert out.exit_code == 0 and "imported 5" in out.output
    out = _invoke(runner, PBX, "--tenant", "acme", "--user", "dadmin", "--department", "Sales",
                  "--match-keys", "phone")
    assert "imported 5" in out.output
    scopes = {(c["visibility"], c["department_id"], c["owner_id"]) for c in contacts(session, world.tenant)}
    assert scopes == {("private", None, world.users["agent1"]), ("department", world.d1, None)}


def test_cli_file_level_error(runner, world, tmp_path):
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    out = runner.invoke(main, ["import", str(empty), "--tenant", "acme", "--user", "admin"])
    assert out.exit_code != 0 and "empty" in out.output.lower()


def test_map_crud_and_cli_map(runner, world, session, tmp_path):
    p = world.principal("admin")
    opts = ImportOptions(mapping={"Vorname": "first_name", "Nachname": "last_name", "Mail": "email"},
                         delimiter=";", on_duplicate="skip", dry_run=True)
    saved = save_map(session, p, "German", opts)
    session.commit()
    assert saved["mapping"]["Mail"] == "email" and saved["options"]["on_duplicate"] == "skip"
    assert "dry_run" not in saved["options"]
    with pytest.raises(ValidationError):
        save_map(session, p, "German", opts)
    assert [m["name"] for m in list_maps(session, p)] == ["German"]
    assert list_maps(session, world.principal("other_admin")) == []
    with pytest.raises(NotFound):
        get_map(session, world.principal("other_admin"), saved["id"])
    with pytest.raises(PermissionDenied):
        save_map(session, world.principal("noimport"), "x", opts)
    loaded = options_from_map(session, p, "German", on_duplicate="update")
    assert loaded.on_duplicate == "update" and loaded.delimiter == ";" and loaded.mapping["Vorname"] == "first_name"
    renamed = update_map(session, p, saved["id"], name="Deutsch")
    session.commit()
    assert renamed["name"] == "Deutsch"
    data = tmp_path / "de.csv"
    data.write_bytes(b"Vorname;Nachname;Mail\nAnna;Berg;anna@x.de\n")
    out = _invoke(runner, data, "--tenant", "acme", "--user", "admin", "--map", "Deutsch")
    assert out.exit_code == 0 and "imported 1" in out.output, out.output
    assert contacts(session, world.tenant)[0]["last_name"] == "Berg"
    delete_map(session, p, saved["id"])
    session.commit()
    assert list_maps(session, p) == []
