"""Built-in plugin: the "Custom" contact source (the PBX vendor's custom contacts protocol)."""

from __future__ import annotations

from plugin_host import SourceType, hookimpl
from plugins.custom_source.client import SOURCE_TYPE


@hookimpl
def contacts_hub_register_source_types() -> list[SourceType]:
    """Contribute the "custom" source type."""
    return [SOURCE_TYPE]
