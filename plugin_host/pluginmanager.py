"""The per-app plugin manager: built-ins from an explicit list, third parties by entry point."""

from __future__ import annotations

import importlib
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

import pluggy

from plugin_host import PROJECT, __version__, hookspecs
from plugin_host.records import Blueprint, ImportFormat, SourceType, UIPanel

log = logging.getLogger(__name__)

#: Built-in plugins, registered exactly like third-party ones. Order is display order.
BUILTIN_PLUGINS: tuple[str, ...] = (
    "plugins.core",
    "plugins.pbx_csv",
    "plugins.generic_csv",
    "plugins.outlook_csv",
    "plugins.google_csv",
    "plugins.vcard",
    "plugins.m365_source",
    "plugins.custom_source",
    "plugins.sql_source",
    "plugins.admin_console",
    "plugins.customers_tab",
)


class PluginError(RuntimeError):
    """A plugin broke the contract (misspelt hook, duplicate name, wrong record type)."""


def build_plugin_manager(
    disabled: Iterable[str] = (),
    *,
    builtins: Sequence[str] = BUILTIN_PLUGINS,
    entry_points: bool = True,
    extra: Iterable[Any] = (),
) -> pluggy.PluginManager:
    """Create a fresh manager: hookspecs, built-ins, entry points, then ``check_pending()``.

    ``disabled`` holds plugin names (a built-in's short name such as ``m365_source``, or an
    entry-point name); they are blocked, so neither a built-in nor an entry point loads them.
    """
    pm = pluggy.PluginManager(PROJECT)
    pm.add_hookspecs(hookspecs)
    for name in disabled:
        pm.set_blocked(name)
    for modname in builtins:
        short = modname.rsplit(".", 1)[-1]
        if pm.is_blocked(short):
            log.info("built-in plugin %s disabled by configuration", short)
            continue
        pm.register(importlib.import_module(modname), name=short)
    for plugin in extra:
        pm.register(plugin)
    if entry_points:
        pm.load_setuptools_entrypoints(PROJECT)
    try:
        pm.check_pending()
    except pluggy.PluginValidationError as exc:
        raise PluginError(f"plugin {exc.plugin!r} implements an unknown hook: {exc}") from exc
    log.info("plugins loaded: %s", ", ".join(n for n, _ in pm.list_name_plugin()))
    return pm


R = TypeVar("R")


def collect(pm: pluggy.PluginManager, hook: str, kind: type[R]) -> dict[str, R]:
    """Call a ``register`` hook, check record types, and de-duplicate by ``name``."""
    found: dict[str, R] = {}
    owners: dict[str, str] = {}
    caller = getattr(pm.hook, hook)
    for impl in reversed(caller.get_hookimpls()):
        records = impl.function() or ()
        for rec in records:
            if not isinstance(rec, kind):
                raise PluginError(f"{impl.plugin_name}: {hook} returned {type(rec).__name__}, not {kind.__name__}")
            name = rec.name  # type: ignore[attr-defined]
            if name in found:
                raise PluginError(f"{hook}: name {name!r} registered by both {owners[name]} and {impl.plugin_name}")
            found[name] = rec
            owners[name] = impl.plugin_name
    return found


@dataclass
class Registry:
    """What the plugins contributed, validated once per app."""

    source_types: dict[str, SourceType] = field(default_factory=dict)
    import_formats: dict[str, ImportFormat] = field(default_factory=dict)
    panels: dict[str, UIPanel] = field(default_factory=dict)
    blueprints: dict[str, Blueprint] = field(default_factory=dict)

    @classmethod
    def from_manager(cls, pm: pluggy.PluginManager) -> Registry:
        return cls(
            source_types=collect(pm, "contacts_hub_register_source_types", SourceType),
            import_formats=collect(pm, "contacts_hub_register_import_formats", ImportFormat),
            panels=collect(pm, "contacts_hub_register_panels", UIPanel),
            blueprints=collect(pm, "contacts_hub_register_blueprints", Blueprint),
        )


def describe_plugins(pm: pluggy.PluginManager, builtins: Sequence[str] = BUILTIN_PLUGINS) -> list[dict[str, Any]]:
    """One entry per loaded plugin: name, version, hooks, built-in or external."""
    builtin_names = {m.rsplit(".", 1)[-1] for m in builtins}
    dists = {id(plugin): dist for plugin, dist in pm.list_plugin_distinfo()}
    out = []
    for name, plugin in pm.list_name_plugin():
        if plugin is None:
            continue
        dist = dists.get(id(plugin))
        hooks = sorted(h.name for h in (pm.get_hookcallers(plugin) or ()))
        out.append(
            {
                "name": name,
                "version": dist.version if dist is not None else __version__,
                "hooks": hooks,
                "builtin": name in builtin_names,
                "distribution": dist.project_name if dist is not None else "contacts-hub",
            }
        )
    return out
