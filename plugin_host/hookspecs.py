"""Hook specifications: the whole contract between Contacts Hub and its plugins.

Three families: ``contacts_hub_register_*`` collect typed records (every implementation is
called; the host validates and de-duplicates by name), ``contacts_hub_on_*`` notify, and
decision hooks are ``firstresult=True`` with the built-in default marked ``trylast=True``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pluggy

from plugin_host.records import Blueprint, ImportFormat, SourceType, UIPanel

hookspec = pluggy.HookspecMarker("contacts_hub")

# -------------------------------------------------------------------------
# Registration hooks
# -------------------------------------------------------------------------


@hookspec
def contacts_hub_register_source_types() -> Sequence[SourceType]:
    """Return the kinds of contact source this plugin provides (Microsoft 365, SQL, ...).

    Each :class:`~plugin_host.records.SourceType` names a settings schema and a
    ``pull(settings, cursor, ctx)`` generator; the sync engine owns scheduling and state.
    Names must be unique across all plugins.
    """


@hookspec
def contacts_hub_register_import_formats() -> Sequence[ImportFormat]:
    """Return the file formats this plugin can read for imports (CSV dialects, vCard, ...).

    Each :class:`~plugin_host.records.ImportFormat` detects itself from a header and a text
    sample and turns rows into :class:`~plugin_host.records.ContactRecord` objects; the host
    owns decoding, batching and the write. Names must be unique across all plugins.
    """


@hookspec
def contacts_hub_register_panels() -> Sequence[UIPanel]:
    """Return the panels this plugin adds to the embeddable Customers tab.

    Each :class:`~plugin_host.records.UIPanel` names a custom-element tag, the module URL
    that defines it (usually under the plugin's own ``static/`` folder) and the permission a
    principal needs to see it. ``GET /api/v1/panels`` lists only the permitted ones.
    """


@hookspec
def contacts_hub_register_blueprints() -> Sequence[Blueprint]:
    """Return Flask blueprints (routes, static folders) that the host should register.

    Plugins never receive the application; the host registers what they return.
    """


# -------------------------------------------------------------------------
# Notifications
# -------------------------------------------------------------------------


@hookspec
def contacts_hub_on_contacts_changed(tenant_id: int, action: str, contact_ids: Sequence[int]) -> None:
    """Called after contacts were written and committed.

    :param tenant_id: the tenant the contacts belong to.
    :param action: ``created``, ``updated``, ``deleted``, ``imported`` or ``synced``.
    :param contact_ids: the ids written (may be empty for large batches, see ``action``).
    """


@hookspec
def contacts_hub_on_sync_finished(tenant_id: int, source_id: int, run: dict[str, Any]) -> None:
    """Called after a sync run ended, successfully or not.

    :param tenant_id: the tenant owning the source.
    :param source_id: the configured source.
    :param run: the recorded run: ``ok``, ``added``, ``updated``, ``deleted``, ``errors``, ``message``.
    """


@hookspec
def contacts_hub_on_import_finished(tenant_id: int, job: dict[str, Any]) -> None:
    """Called after an import job ended.

    :param tenant_id: the tenant imported into.
    :param job: the job's counts (``imported``, ``updated``, ``skipped``, ``errors``) and status.
    """


# -------------------------------------------------------------------------
# Decision hooks
# -------------------------------------------------------------------------


@hookspec(firstresult=True)
def contacts_hub_caller_id_name(contact: dict[str, Any]) -> str | None:
    """Return the name a PBX shows for a caller-ID match.

    Stops at first non-None result. The built-in default gives "First Last (Company)".

    :param contact: the matched contact as the API serialises it.
    """
