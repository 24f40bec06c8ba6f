"""Schema only through migrations (no drift from the models), and the CLI commands."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from click.testing import CliRunner
from sqlalchemy import inspect, select

from plugin_host.cli import main
from plugin_host.models import T, db


def include_object(obj, name, type_, reflected, compare_to):
    return not (type_ == "table" and name.startswith("contacts_fts"))  # SQLite FTS5, outside the models


def test_upgraded_database_matches_models(app):
    """The template was built by `upgrade` from empty; autogenerate must find nothing to do."""
    with app.app_context():
        with db.engine.connect() as conn:
            ctx = MigrationContext.configure(conn, opts={"compare_type": True, "include_object": include_object})
            diff = compare_metadata(ctx, db.metadata)
        assert diff == [], f"models and migrations disagree: {diff}"
        tables = set(inspect(db.engine).get_table_names())
        assert set(db.metadata.tables) <= tables
        assert "alembic_version" in tables


def _env(monkeypatch, tmp_path):
    monkeypatch.setenv("CONTACTS_HUB_DATABASE_URL", f"sqlite:///{tmp_path}/cli.db")
    monkeypatch.setenv("CONTACTS_HUB_INSTANCE_PATH", str(tmp_path))
    monkeypatch.setenv("CONTACTS_HUB_PASSWORD_HASH_METHOD", "pbkdf2:sha256:1000")


def test_cli_upgrade_tenant_user_and_demo(monkeypatch, tmp_path):
    _env(monkeypatch, tmp_path)
    r = CliRunner()
    assert r.invoke(main, ["db", "upgrade"]).exit_code == 0
    res = r.invoke(main, ["create-tenant", "acme", "Acme Ltd", "--region", "DE"])
    assert res.exit_code == 0 and "tenant acme created" in res.output
    res = r.invoke(main, ["create-tenant", "acme", "Again"])
    assert res.exit_code != 0 and "already exists" in res.output
    res = r.invoke(main, ["create-user", "alice", "--tenant", "acme", "--password", "s3cret-pass", "--admin"])
    assert res.exit_code == 0, res.output
    res = r.invoke(main, ["create-user", "bob", "--tenant", "nope", "--password", "s3cret-pass"])
    assert res.exit_code != 0 and "tenant 'nope' not found" in res.output
    res = r.invoke(main, ["create-user", "carol", "--tenant", "acme", "--password", "short"])
    assert res.exit_code != 0 and "password" in res.output
    res = r.invoke(main, ["seed-demo"])
    assert res.exit_code == 0 and "admin / contacts-demo" in res.output
    res = r.invoke(main, ["seed-demo"])
    assert "already present" in res.output
    from plugin_host import create_app

    app = create_app()
    with app.app_context():
        n = db.session.execute(select(db.func.count()).select_from(T["contacts"])).scalar_one()
        scopes = set(db.session.execute(select(T["contacts"].c.visibility).distinct()).scalars())
        acts = db.session.execute(select(db.func.count()).select_from(T["activities"])).scalar_one()
        lists = db.session.execute(select(db.func.count()).select_from(T["lists"])).scalar_one()
    assert 150 <= n <= 250
    assert scopes == {"global", "department", "private"}
    assert acts > 0 and lists >= 2


def test_bad_config_names_the_setting(monkeypatch, tmp_path):
    _env(monkeypatch, tmp_path)
    monkeypatch.setenv("CONTACTS_HUB_DEFAULT_REGION", "XX")
    res = CliRunner().invoke(main, ["plugins"])
    assert res.exit_code != 0
    assert "CONTACTS_HUB_DEFAULT_REGION" in str(res.exception)


def test_cli_create_token_prints_secret_once_and_it_works(monkeypatch, tmp_path):
    _env(monkeypatch, tmp_path)
    r = CliRunner()
    assert r.invoke(main, ["db", "upgrade"]).exit_code == 0
    r.invoke(main, ["create-tenant", "acme", "Acme"])
    r.invoke(main, ["create-user", "pbx", "--tenant", "acme", "--password", "s3cret-pass"])
    res = r.invoke(main, ["create-token", "pbx", "--name", "PBX lookup", "--scopes", "read"])
    assert res.exit_code == 0, res.output
    secret = res.output.strip().splitlines()[-1]
    assert secret.startswith("chub_")
    from plugin_host import create_app

    client = create_app().test_client()
    assert client.get("/api/v1/lookup?number=%2B14085550101", headers={"Authorization": f"Bearer {secret}"}
                      ).status_code == 200
    assert r.invoke(main, ["create-token", "pbx", "--scopes", "root"]).exit_code != 0
    assert "not found" in r.invoke(main, ["create-token", "ghost"]).output


def test_landing_page_requires_sign_in(client):
    resp = client.get("/")
    assert resp.status_code == 302 and resp.headers["Location"].endswith("/login")


def test_contacts_fillfactor_migration_round_trip(app):
    """0006: on PostgreSQL contacts pages keep room for HOT updates; its downgrade takes it back."""
    from flask_migrate import downgrade, upgrade
    from sqlalchemy import text

    from plugin_host.models import db

    def options() -> list[str]:
        if db.engine.dialect.name != "postgresql":
            return []
        return db.session.execute(text("SELECT reloptions FROM pg_class WHERE relname = 'contacts'")).scalar() or []

    with app.app_context():
        pg = db.engine.dialect.name == "postgresql"
        assert options() == (["fillfactor=85"] if pg else [])
        db.session.rollback()
        downgrade(revision="0005")
        assert options() == []
        db.session.rollback()
        upgrade()
        assert options() == (["fillfactor=85"] if pg else [])
        db.session.rollback()
