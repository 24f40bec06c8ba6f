"""The ``contacts-hub`` command line: run, db upgrade, tenants, users, demo data, plugins."""

from __future__ import annotations

import json
import sys
from typing import Any

import click
from flask import Flask
from flask.cli import FlaskGroup, with_appcontext

from plugin_host.app import create_app, hub
from plugin_host.models import db
from plugin_host.pluginmanager import describe_plugins
from plugin_host.repo import RepositoryError


def _make_app(*_: Any) -> Flask:
    return create_app()


@click.group(cls=FlaskGroup, create_app=_make_app, add_default_commands=False, add_version_option=False)
def main() -> None:
    """Contacts Hub: permissioned contacts backend for PBX and contact-center apps."""


def _fail(exc: Exception) -> None:
    raise click.ClickException(str(exc))


def upgrade_db() -> None:
    from flask_migrate import upgrade

    upgrade()


@main.group("db")
def db_group() -> None:
    """Database schema (Alembic migrations)."""


@db_group.command("upgrade")
@with_appcontext
def db_upgrade() -> None:
    """Apply all migrations."""
    upgrade_db()
    click.echo("database is at the latest schema")


@main.command("create-tenant")
@click.argument("slug")
@click.argument("name")
@click.option("--region", default="US", show_default=True, help="Default phone region (two letters).")
@with_appcontext
def create_tenant_cmd(slug: str, name: str, region: str) -> None:
    """Create a tenant."""
    from plugin_host.directory import create_tenant

    try:
        tid = create_tenant(db.session, slug, name, region)
        db.session.commit()
    except RepositoryError as exc:
        _fail(exc)
    click.echo(f"tenant {slug} created (id {tid})")


@main.command("create-user")
@click.argument("username")
@click.option("--tenant", "tenant_slug", required=True, help="Tenant slug.")
@click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True)
@click.option("--admin", is_flag=True, help="Tenant administrator.")
@click.option("--extension", default=None)
@click.option("--name", "display_name", default="")
@click.option("--no-import", is_flag=True, help="Withhold the CSV import right.")
@with_appcontext
def create_user_cmd(username: str, tenant_slug: str, password: str, admin: bool, extension: str | None,
                    display_name: str, no_import: bool) -> None:
    """Create a user in a tenant."""
    from plugin_host.directory import create_user, tenant_id_for

    try:
        uid = create_user(db.session, tenant_id_for(db.session, tenant_slug), username, password, is_admin=admin,
                          extension=extension, display_name=display_name, can_import=not no_import)
        db.session.commit()
    except RepositoryError as exc:
        _fail(exc)
    click.echo(f"user {username} created (id {uid})")


@main.command("seed-demo")
@click.option("--tenant", "slug", default="demo", show_default=True)
@with_appcontext
def seed_demo_cmd(slug: str) -> None:
    """Create the demo tenant, users and contacts (once)."""
    from plugin_host.demo import seed_demo

    result = seed_demo(db.session, slug)
    db.session.commit()
    click.echo("demo data created" if result["created"] else "demo data already present")
    for user, password in result["logins"]:
        click.echo(f"  login: {user} / {password}")


@main.command("plugins")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@with_appcontext
def plugins_cmd(as_json: bool) -> None:
    """List loaded plugins with version, hooks and origin."""
    from flask import current_app

    info = describe_plugins(hub(current_app).pm)
    if as_json:
        click.echo(json.dumps(info, indent=2))
        return
    for p in info:
        origin = "built-in" if p["builtin"] else f"external ({p['distribution']})"
        click.echo(f"{p['name']:<16} {p['version']:<10} {origin}")
        click.echo(f"  hooks: {', '.join(p['hooks']) or '-'}")


@main.command("gen-key")
def gen_key() -> None:
    """Print a new encryption key for CONTACTS_HUB_ENCRYPTION_KEY."""
    from cryptography.fernet import Fernet

    click.echo(Fernet.generate_key().decode())


@main.command("run")
@click.option("--host", default=None, help="Address to bind (default from CONTACTS_HUB_HOST, 127.0.0.1).")
@click.option("--port", default=None, type=int, help="Port (default from CONTACTS_HUB_PORT, 8080).")
@click.option("--demo/--no-demo", default=True, show_default=True, help="Seed the demo tenant on first start.")
@click.option("--threads", default=8, show_default=True)
@with_appcontext
def run_cmd(host: str | None, port: int | None, demo: bool, threads: int) -> None:
    """Migrate, seed demo data on first start, and serve with a production WSGI server (waitress)."""
    from flask import current_app
    from waitress import serve

    app = current_app._get_current_object()  # type: ignore[attr-defined]
    upgrade_db()
    if demo:
        from plugin_host.demo import seed_demo

        result = seed_demo(db.session)
        db.session.commit()
        click.echo("Demo logins (password for each):")
        for user, password in result["logins"]:
            click.echo(f"  {user:<12} {password}")
    host = host or app.config["HOST"]
    port = port or app.config["PORT"]
    if app.config["SCHEDULER"]:
        from plugin_host.sync.scheduler import start_in_process

        start_in_process(app)
    click.echo(f"Contacts Hub on http://{host}:{port}/  (API docs: http://{host}:{port}/api/docs)")
    serve(app, host=host, port=port, threads=threads, ident="contacts-hub")


@main.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option("--tenant", "tenant_slug", required=True, help="Tenant slug.")
@click.option("--user", "username", required=True, help="Import as this user (permissions apply).")
@click.option("--format", "format_name", default=None, help="Format name (default: detect).")
@click.option("--delimiter", default=None, help="Delimiter: , ; tab | (default: detect).")
@click.option("--no-header", is_flag=True, default=None, help="The first row is data, not a header.")
@click.option("--map", "template", default=None, help="Load a saved import template by name.")
@click.option("--dry-run", is_flag=True, default=None, help="Parse and count, write no contacts.")
@click.option("--scope", type=click.Choice(["global", "department", "private"]), default=None)
@click.option("--department", "department_name", default=None, help="Department name (with --scope department).")
@click.option("--on-duplicate", type=click.Choice(["update", "skip"]), default=None)
@click.option("--match-keys", default=None, help="Comma-separated: email, phone, mobile, external_crm_id.")
@with_appcontext
def import_cmd(file: str, tenant_slug: str, username: str, format_name: str | None, delimiter: str | None,
               no_header: bool | None, template: str | None, dry_run: bool | None, scope: str | None,
               department_name: str | None, on_duplicate: str | None, match_keys: str | None) -> None:
    """Import contacts from a CSV or vCard file and print the counts."""
    from sqlalchemy import select

    from plugin_host.directory import principal_for, tenant_id_for
    from plugin_host.importing import ImportFileError
    from plugin_host.importing.maps import options_from_map
    from plugin_host.importing.pipeline import ImportOptions, run_import
    from plugin_host.models import T

    s = db.session
    try:
        tid = tenant_id_for(s, tenant_slug)
        uid = s.execute(select(T["users"].c.id).where(T["users"].c.tenant_id == tid,
                                                      T["users"].c.username == username)).scalar()
        if uid is None:
            raise click.ClickException(f"no user {username!r} in tenant {tenant_slug!r}")
        principal = principal_for(s, uid)
        overrides: dict[str, Any] = {
            "format_name": format_name, "delimiter": delimiter, "has_header": False if no_header else None,
            "dry_run": dry_run, "on_duplicate": on_duplicate, "visibility": scope,
            "match_keys": tuple(k.strip() for k in match_keys.split(",") if k.strip()) if match_keys else None,
        }
        if department_name:
            depts = T["departments"]
            dept = s.execute(select(depts.c.id).where(depts.c.tenant_id == tid,
                                                      depts.c.name == department_name)).scalar()
            if dept is None:
                raise click.ClickException(f"no department {department_name!r}")
            overrides.update(department_id=dept, visibility=scope or "department")
        if (scope or overrides["visibility"]) == "private":
            overrides["owner_id"] = uid
        if template:
            options = options_from_map(s, principal, template, **overrides)
        else:
            options = ImportOptions.from_dict({k: v for k, v in overrides.items() if v is not None})
        with click.progressbar(length=0, label="importing", file=sys.stderr) as bar:

            def progress(done: int, total: int | None) -> None:
                bar.length = max(total or 0, done)
                bar.update(done - bar.pos)

            result = run_import(s, principal, file, options, progress=progress)
    except (RepositoryError, ImportFileError) as exc:
        _fail(exc)
    prefix = "dry run: " if result.dry_run else ""
    click.echo(f"{prefix}{result.rows} rows ({result.format}): imported {result.imported}, updated "
               f"{result.updated}, skipped {result.skipped}, errors {result.errors}")
    for _row_number, error in result.error_rows[:20]:
        click.echo(f"  {error}")
    if result.errors > 20:
        click.echo(f"  ... and {result.errors - 20} more (job {result.job_id})")


@main.group("sources")
def sources_group() -> None:
    """Configured contact sources (sync)."""


@sources_group.command("list")
@with_appcontext
def sources_list() -> None:
    """List every source with its schedule and Status Message."""
    from plugin_host.models import T

    src = T["sources"]
    for r in db.session.execute(src.select().order_by(src.c.id)).mappings():
        state = "enabled" if r["enabled"] else "disabled"
        click.echo(f"{r['id']:>4}  tenant {r['tenant_id']:<4} {r['plugin']:<10} {r['name']:<24} {state:<8} "
                   f"every {r['interval_hours']}h  next {r['next_run_at'] or '-'}  {r['status_message']}")


@sources_group.command("sync")
@click.argument("source_id", type=int)
@with_appcontext
def sources_sync(source_id: int) -> None:
    """Run one sync of a source now (waits for a free lease)."""
    from flask import current_app

    from plugin_host.sync.engine import claim, run_source
    from plugin_host.sync.scheduler import worker_name

    worker = worker_name("cli")
    if not claim(db.session, source_id, worker):
        raise click.ClickException(f"source {source_id} is being synced by another worker (or does not exist)")
    try:
        run = run_source(db.session, current_app._get_current_object(), source_id, worker)  # type: ignore[attr-defined]
    except RepositoryError as exc:
        _fail(exc)
    click.echo(run["message"])
    if not run["ok"]:
        sys.exit(1)


@sources_group.command("erase")
@click.argument("source_id", type=int)
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@with_appcontext
def sources_erase(source_id: int, yes: bool) -> None:
    """Erase Data: the source's contacts, their activities, its runs and its configuration."""
    from flask import current_app

    from plugin_host.models import T
    from plugin_host.sync.engine import SourceService
    from plugin_host.sync.runner import system_principal

    tenant = db.session.execute(T["sources"].select().where(T["sources"].c.id == source_id)).mappings().first()
    if tenant is None:
        raise click.ClickException(f"source {source_id} not found")
    if not yes:
        click.confirm(f"Erase source {source_id} and all of its contacts?", abort=True)
    try:
        svc = SourceService(db.session, system_principal(db.session, tenant["tenant_id"]),
                            current_app._get_current_object())  # type: ignore[attr-defined]
        done = svc.erase(source_id)
        db.session.commit()
    except Exception as exc:
        _fail(exc)
    click.echo(f"source {source_id} erased ({done['contacts']} contacts, {done['runs']} runs)")


@main.command("worker")
@click.option("--once", is_flag=True, help="Run the due sources once and exit.")
@click.option("--poll", default=60.0, show_default=True, help="Seconds between looks for due sources.")
@with_appcontext
def worker_cmd(once: bool, poll: float) -> None:
    """Sync worker: claim due sources with a database lease and run them (run as many as you like)."""
    import threading

    from flask import current_app

    from plugin_host.sync.scheduler import loop, run_due, worker_name

    app = current_app._get_current_object()  # type: ignore[attr-defined]
    worker = worker_name()
    if once:
        click.echo(f"{run_due(app, worker)} source(s) synced")
        return
    click.echo(f"worker {worker} polling every {poll:g} s")
    loop(app, worker, threading.Event(), poll)


@main.command("create-token")
@click.argument("username")
@click.option("--name", default="cli", show_default=True, help="A label to recognise the token by.")
@click.option("--scopes", default="read", show_default=True, help="Comma-separated: read, write, import, admin.")
@click.option("--expires-days", type=int, default=None, help="Expire after this many days (default: never).")
@with_appcontext
def create_token_cmd(username: str, name: str, scopes: str, expires_days: int | None) -> None:
    """Create an API token for a user; the secret is printed once and stored only as a hash."""
    from sqlalchemy import select

    from plugin_host import tokens
    from plugin_host.models import T

    users = T["users"]
    row = db.session.execute(select(users.c.id, users.c.tenant_id).where(users.c.username == username)).first()
    if row is None:
        raise click.ClickException(f"user {username!r} not found")
    try:
        secret, token_id = tokens.issue(db.session, row.tenant_id, row.id, name,
                                        [s.strip() for s in scopes.split(",") if s.strip()], expires_days)
        db.session.commit()
    except RepositoryError as exc:
        _fail(exc)
    click.echo(f"token {token_id} for {username} ({scopes}); copy it now, it is not shown again:")
    click.echo(secret)
