"""Built-in plugin: the "Microsoft 365" contact source (Graph organisational contacts and users)."""

from __future__ import annotations

from plugin_host import SourceType, hookimpl
from plugins.m365_source.graph import SOURCE_TYPE


@hookimpl
def contacts_hub_register_source_types() -> list[SourceType]:
    """Contribute the "m365" source type."""
    return [SOURCE_TYPE]
