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



def test_key_cover_migration_round_trip(world, session):
    """0007: the last-name and company indexes become covering (PostgreSQL: INCLUDE columns, partial, with
    statistics on the partial predicate's expression), its downgrade restores the plain indexes, and
    searches by last name and company find the same rows."""
    from flask_migrate import downgrade, upgrade
    from sqlalchemy import inspect, text

    from plugin_host.models import db
    from plugin_host.repo import ContactQuery, ContactRepository

    pg = db.engine.dialect.name == "postgresql"

    def indexes() -> dict[str, list[str]]:
        found = {i["name"]: i for i in inspect(db.engine).get_indexes("contacts")}
        return {n: [*i["column_names"], *(i.get("dialect_options", {}).get("postgresql_include") or [])]
                for n, i in found.items() if "_last" in n or "_company" in n}

    r = ContactRepository(session, world.principal("agent1"))
    for first, last, company in (("Ann", "Smith", "Acme"), ("Bob", "Smith", None), ("Cy", "Smithers", "Acme")):
        r.create({"first_name": first, "last_name": last, "company": company})
    session.commit()

    def found() -> list[list[str]]:
        return [[c["first_name"] for c in r.list(ContactQuery(q=q, limit=10))["items"]]
                for q in ("smith", "acme", "smith b")]

    expected = [["Ann", "Bob", "Cy"], ["Ann", "Cy"], ["Bob"]]
    assert found() == expected
    after = indexes()
    assert "ix_contacts_tenant_last" not in after and "ix_contacts_tenant_company" not in after
    assert after["ix_contacts_last_cover"][:4] == ["tenant_id", "last_key", "sort_key", "id"]
    if pg:
        assert after["ix_contacts_last_cover"][4:] == ["visibility", "department_id", "owner_id", "company_key"]
        assert after["ix_contacts_company_cover"][4:] == ["visibility", "department_id", "owner_id", "last_key"]
    def statistics() -> list[str]:
        if not pg:
            return []
        return list(session.execute(text("SELECT stxname FROM pg_statistic_ext WHERE stxname = 'contacts_key_bytes'"))
                    .scalars())

    assert statistics() == (["contacts_key_bytes"] if pg else [])
    session.rollback()
    session.close()
    downgrade(revision="0006")
    assert statistics() == []
    session.rollback()
    before = indexes()
    assert before["ix_contacts_tenant_last"] == ["tenant_id", "last_key", "sort_key", "id"]
    assert before["ix_contacts_tenant_company"] == ["tenant_id", "company_key", "sort_key", "id"]
    assert not any(n.endswith(("_cover", "_long")) and ("last" in n or "company" in n) for n in before)
    upgrade()
    assert indexes() == after
    assert statistics() == (["contacts_key_bytes"] if pg else [])
    session.rollback()
    assert found() == expected


def test_postgresql_sessions_are_planned_for_memory_resident_data(app, tmp_path):
    """PostgreSQL connections carry ``random_page_cost`` (default 1.1, ``PG_RANDOM_PAGE_COST``); a bad
    value is refused naming the setting; SQLite gets no connection options."""
    import pytest
    from sqlalchemy import text

    from plugin_host import create_app
    from plugin_host.config import ConfigError
    from plugin_host.models import db

    with app.app_context():
        if db.engine.dialect.name == "postgresql":
            assert db.session.execute(text("SHOW random_page_cost")).scalar() == "1.1"
        else:
            assert "connect_args" not in app.config["SQLALCHEMY_ENGINE_OPTIONS"]
    base = {"DATABASE_URL": "postgresql+psycopg://nobody@127.0.0.1:1/none", "INSTANCE_PATH": str(tmp_path)}
    with pytest.raises(ConfigError, match="CONTACTS_HUB_PG_RANDOM_PAGE_COST"):
        create_app({**base, "PG_RANDOM_PAGE_COST": "cheap"})
    kept = create_app({**base, "PG_RANDOM_PAGE_COST": ""})
    assert "connect_args" not in kept.config["SQLALCHEMY_ENGINE_OPTIONS"]
    tuned = create_app({**base, "PG_RANDOM_PAGE_COST": "2"})
    assert tuned.config["SQLALCHEMY_ENGINE_OPTIONS"]["connect_args"]["options"] == "-c random_page_cost=2"
