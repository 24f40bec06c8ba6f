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
    start_background = getattr(sys.modules.get("plugin_host.scheduler"), "start_in_process", None)
    if app.config["SCHEDULER"] and start_background:
        start_background(app)
    click.echo(f"Contacts Hub on http://{host}:{port}/  (API docs: http://{host}:{port}/api/docs)")
    serve(app, host=host, port=port, threads=threads, ident="contacts-hub")
