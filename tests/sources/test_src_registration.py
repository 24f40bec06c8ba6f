"""Both source plugins load through the host's plugin manager like any other plugin."""

from __future__ import annotations

from plugin_host.pluginmanager import Registry, build_plugin_manager


def test_plugins_register_their_source_types():
    pm = build_plugin_manager(builtins=("plugins.custom_source", "plugins.m365_source"), entry_points=False)
    types = Registry.from_manager(pm).source_types
    assert {name: t.label for name, t in types.items()} == {"custom": "Custom", "m365": "Microsoft 365"}
    assert "OrgContact.Read.All" in types["m365"].permissions_help
