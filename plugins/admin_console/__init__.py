"""Built-in plugin: the admin console under /admin (server-rendered pages + small ES modules)."""

from __future__ import annotations

from plugin_host import Blueprint, hookimpl


@hookimpl
def contacts_hub_register_blueprints() -> list[Blueprint]:
    """Contribute the /admin blueprint (built per app, so importing this module does nothing)."""
    from plugins.admin_console.views import make_blueprint

    return [Blueprint(name="admin_console", blueprint=make_blueprint())]
