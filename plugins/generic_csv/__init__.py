"""Built-in import format plugin: generic_csv (hook implementation only; logic in reader.py)."""

from __future__ import annotations

from plugin_host import ImportFormat, hookimpl
from plugins.generic_csv import reader


@hookimpl
def contacts_hub_register_import_formats() -> list[ImportFormat]:
    return [reader.import_format()]
