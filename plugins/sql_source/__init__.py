"""Built-in source plugin "SQL database": contacts from a read-only SELECT on MySQL, PostgreSQL or MSSQL."""

from __future__ import annotations

from plugin_host import SourceType, hookimpl


@hookimpl
def contacts_hub_register_source_types() -> list[SourceType]:
    """The "SQL database" source type."""
    from plugins.sql_source.source import SOURCE_TYPE

    return [SOURCE_TYPE]
