"""The plugin host: built-ins, entry points from an installed distribution, validation, docs."""

from __future__ import annotations

import inspect
import json
import re
import sys
from pathlib import Path

import pytest

from plugin_host import create_app, hookspecs
from plugin_host.app import hub
from plugin_host.pluginmanager import BUILTIN_PLUGINS, PluginError, build_plugin_manager, collect
from plugin_host.records import SourceType, UIPanel
from tests.conftest import base_config

DATA = Path(__file__).parent / "plugin_data"
SPECS = [name for name, _ in inspect.getmembers(hookspecs, inspect.isfunction) if name.startswith("contacts_hub_")]


@pytest.fixture
def fake_dist(monkeypatch):
    monkeypatch.syspath_prepend(str(DATA / "fake-dist"))
    yield
    sys.modules.pop("contacts_hub_fake_panel", None)


def test_builtins_register_like_third_parties():
    pm = build_plugin_manager(entry_points=False)
    names = {n for n, _ in pm.list_name_plugin()}
    assert {m.rsplit(".", 1)[-1] for m in BUILTIN_PLUGINS} <= names
    assert {"custom", "m365", "sql"} <= set(collect(pm, "contacts_hub_register_source_types", SourceType))


def test_entry_point_plugin_loads_from_installed_distribution(fake_dist, tmp_path):
    app = create_app(base_config(tmp_path, f"sqlite:///{tmp_path}/x.db"))
    assert "fake-notes" in hub(app).registry.panels
    info = {p["name"]: p for p in app.test_client().get("/-/plugins.json").get_json()}
    assert info["fake_panel"]["builtin"] is False
    assert info["fake_panel"]["version"] == "1.2.3"
    assert info["fake_panel"]["distribution"] == "contacts-hub-fake-panel"
    assert info["fake_panel"]["hooks"] == ["contacts_hub_on_contacts_changed", "contacts_hub_register_panels"]
    assert info["core"]["builtin"] is True


def test_plugin_disabled_by_config_and_env(fake_dist, tmp_path, monkeypatch):
    app = create_app({**base_config(tmp_path, f"sqlite:///{tmp_path}/x.db"), "DISABLED_PLUGINS": ["fake_panel"]})
    assert "fake-notes" not in hub(app).registry.panels
    monkeypatch.setenv("CONTACTS_HUB_DISABLED_PLUGINS", "m365_source, fake_panel")
    app = create_app(base_config(tmp_path, f"sqlite:///{tmp_path}/x.db"))
    assert "m365" not in hub(app).registry.source_types
    assert "custom" in hub(app).registry.source_types
    assert "fake-notes" not in hub(app).registry.panels


def test_misspelt_hook_fails_at_startup(monkeypatch, tmp_path):
    monkeypatch.syspath_prepend(str(DATA / "misspelt-dist"))
    with pytest.raises(PluginError, match="contacts_hub_register_panel"):
        create_app(base_config(tmp_path, f"sqlite:///{tmp_path}/x.db"))
    sys.modules.pop("contacts_hub_misspelt", None)


def test_duplicate_record_names_are_rejected():
    class Dup:
        from plugin_host import hookimpl

        @staticmethod
        @hookimpl
        def contacts_hub_register_panels():
            return [UIPanel("p", "s", "t-a", "/a.js"), UIPanel("p", "s", "t-b", "/b.js")]

    pm = build_plugin_manager(entry_points=False, builtins=(), extra=[Dup])
    with pytest.raises(PluginError, match="'p' registered by both"):
        collect(pm, "contacts_hub_register_panels", UIPanel)


def test_wrong_record_type_is_rejected():
    class Wrong:
        from plugin_host import hookimpl

        @staticmethod
        @hookimpl
        def contacts_hub_register_panels():
            return [{"name": "dict-not-record"}]

    pm = build_plugin_manager(entry_points=False, builtins=(), extra=[Wrong])
    with pytest.raises(PluginError, match="not UIPanel"):
        collect(pm, "contacts_hub_register_panels", UIPanel)


@pytest.mark.parametrize("name", SPECS)
def test_every_hookspec_is_documented(name):
    fn = getattr(hookspecs, name)
    doc = inspect.getdoc(fn) or ""
    assert len(doc) > 40, f"{name} needs a docstring"
    for param in inspect.signature(fn).parameters:
        assert f":param {param}:" in doc, f"{name} does not document {param}"
    if getattr(fn, "contacts_hub_spec", {}).get("firstresult"):
        assert "Stops at first non-None result" in doc
    assert "return" in str(inspect.signature(fn)) or inspect.signature(fn).return_annotation is not None
    docs = (Path(__file__).parents[1] / "docs" / "plugins.md").read_text()
    assert f"`{name}" in docs, f"docs/plugins.md does not describe {name}"


def test_every_hookspec_has_an_implementation_somewhere(fake_dist):
    pm = build_plugin_manager()
    implemented = {h.name for _, p in pm.list_name_plugin() if p for h in pm.get_hookcallers(p) or ()}
    missing = set(SPECS) - implemented - {"contacts_hub_register_blueprints", "contacts_hub_on_sync_finished",
                                          "contacts_hub_on_import_finished"}
    assert not missing, f"hooks nobody implements (add a built-in or test plugin): {missing}"


def test_cli_plugins_lists_versions_and_origin(fake_dist, tmp_path, monkeypatch):
    from plugin_host.cli import main

    monkeypatch.setenv("CONTACTS_HUB_DATABASE_URL", f"sqlite:///{tmp_path}/cli.db")
    monkeypatch.setenv("CONTACTS_HUB_INSTANCE_PATH", str(tmp_path))
    from click.testing import CliRunner

    res = CliRunner().invoke(main, ["plugins", "--json"])
    assert res.exit_code == 0, res.output
    data = {p["name"]: p for p in json.loads(res.output)}
    assert data["fake_panel"]["builtin"] is False and data["pbx_csv"]["builtin"] is True
    res = CliRunner().invoke(main, ["plugins"])
    assert re.search(r"fake_panel\s+1\.2\.3\s+external \(contacts-hub-fake-panel\)", res.output)
