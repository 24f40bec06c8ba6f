"""Built-in import format plugin: vcard (hook implementation only; logic in reader.py)."""

from __future__ import annotations

from plugin_host import ImportFormat, hookimpl
from plugins.vcard import reader


@hookimpl
def contacts_hub_register_import_formats() -> list[ImportFormat]:
    return [reader.import_format()]
