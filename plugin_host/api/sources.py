"""Sync source endpoints: source types, configured sources, trigger, erase and run history.

Administrators only (the ``sources:manage`` capability, which also needs the token's ``admin`` scope);
another tenant's source is a 404. Secret settings are write-only: a response shows them as ``********``
(set) or ``""`` (unset), plus ``secrets_set``; sending ``""`` or ``********`` back keeps the stored value.

``DELETE /sources/{id}`` is Erase Data, exactly like ``POST /sources/{id}/erase``: the source's contacts
(and their activities), its run history and its configuration go. Clients should show the type's
``erase_warning`` first.

``POST /sources/{id}/sync`` is Trigger Sync: the source is marked as requested and, in the embedded
default, run at once in a background thread (202). With ``?wait=true`` the sync runs within the request
and the finished run is returned (200) -- for tests and scripts.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping
from typing import Any

from apiflask import Schema, fields
from apiflask.validators import Length, OneOf, Range
from flask import current_app

from plugin_host.api import api, principal, writes
from plugin_host.app import hub
from plugin_host.models import db, utcnow
from plugin_host.permissions import may
from plugin_host.records import SourceError, SourceType
from plugin_host.repo.errors import Conflict, NotFound, PermissionDenied
from plugin_host.sync.engine import SourceService, claim, run_source
from plugin_host.sync.runner import default_ctx
from plugin_host.sync.scheduler import worker_name
from plugin_host.sync.settings import validate_settings

SEC = ["bearerAuth", "cookieAuth"]
TAG = "Sources"
RUNS_MAX = 100
THREADS_KEY = "contacts_hub_sync_threads"
INTERVAL_MSG = "Sync Interval must be a whole number of hours, at least 1"
log = logging.getLogger("contacts_hub.sync")

Str, Int, Bool, Dict, List = fields.String, fields.Integer, fields.Boolean, fields.Dict, fields.List


# ---------------------------------------------------------------- schemas
class SettingFieldOut(Schema):
    name = Str(required=True)
    label = Str(required=True)
    type = Str(required=True, metadata={"description": "text, url, password, int, bool, textarea, select or json"})
    required = Bool(required=True)
    secret = Bool(required=True, metadata={"description": "write-only; stored encrypted, never returned"})
    default = fields.Raw(allow_none=True)
    help = Str()
    choices = List(Str())


class SourceTypeOut(Schema):
    name = Str(required=True)
    label = Str(required=True)
    description = Str()
    setting_fields = List(
        fields.Nested(SettingFieldOut), required=True, data_key="fields", metadata={"description": "the settings form"}
    )
    erase_warning = Str(required=True)
    permissions_help = Str(
        metadata={
            "description": "permissions the source's account needs (e.g. Microsoft Graph application permissions)"
        }
    )
    full_snapshot_options = Bool(
        required=True,
        metadata={
            "description": "offers 'remove contacts not received' and 'erase a value when the source sends it empty'"
        },
    )
    has_test = Bool(required=True, metadata={"description": "POST .../test (Import test) is available"})


def _interval() -> Any:
    return Int(validate=Range(min=1, max=24 * 366, error=INTERVAL_MSG))


class SourceIn(Schema):
    plugin = Str(required=True, validate=Length(1, 64), metadata={"description": "a source type name"})
    name = Str(validate=Length(0, 200), allow_none=True)
    enabled = Bool(metadata={"description": "Enable Sync: yes schedules an immediate full sync"})
    interval_hours = _interval()
    remove_absent = Bool(metadata={"description": "remove contacts not received (full-snapshot sources)"})
    erase_empty = Bool(metadata={"description": "erase a value when the source sends it empty"})
    visibility = Str(validate=OneOf(("global", "department")))
    department_id = Int(allow_none=True)
    settings = Dict(keys=Str(), load_default=dict, metadata={"description": "values of the type's fields"})


class SourcePatch(Schema):
    name = Str(validate=Length(0, 200), allow_none=True)
    enabled = Bool()
    interval_hours = _interval()
    remove_absent = Bool()
    erase_empty = Bool()
    visibility = Str(validate=OneOf(("global", "department")))
    department_id = Int(allow_none=True)
    settings = Dict(keys=Str(), metadata={"description": "changed fields only; a blank secret keeps the stored one"})


class SourceOut(Schema):
    id = Int(required=True)
    plugin = Str(required=True)
    type_label = Str()
    name = Str(required=True)
    enabled = Bool(required=True)
    interval_hours = Int(required=True)
    remove_absent = Bool(required=True)
    erase_empty = Bool(required=True)
    visibility = Str(required=True)
    department_id = Int(allow_none=True)
    status_message = Str(required=True, metadata={"description": "Status Message shown to the admin"})
    last_success_at = fields.DateTime(allow_none=True)
    next_run_at = fields.DateTime(allow_none=True)
    sync_requested = Bool(required=True)
    running = Bool(required=True, metadata={"description": "a worker holds the source's lease"})
    settings = Dict(required=True, metadata={"description": "secret fields appear as ******** (set) or empty"})
    secrets_set = Dict(keys=Str(), values=Bool(), required=True)
    full_snapshot_options = Bool(required=True)


class RunOut(Schema):
    id = Int(required=True)
    started_at = fields.DateTime(required=True)
    finished_at = fields.DateTime(allow_none=True)
    full = Bool(allow_none=True)
    ok = Bool(allow_none=True, metadata={"description": "null while running"})
    added = Int()
    updated = Int()
    deleted = Int()
    errors = Int()
    message = Str(allow_none=True)
    worker = Str(allow_none=True)


class RunsQuery(Schema):
    limit = Int(load_default=20, validate=Range(1, RUNS_MAX))


class SyncQuery(Schema):
    wait = Bool(load_default=False, metadata={"description": "run the sync within the request and return the run"})


class TriggeredRunOut(RunOut):
    """The run a Trigger Sync with ``wait=true`` performed."""


class SyncOut(Schema):
    status = Str(
        required=True,
        metadata={"description": "done, running (started now) or queued (a worker holds the lease; it runs when free)"},
    )
    source = fields.Nested(SourceOut, required=True)
    run = fields.Nested(TriggeredRunOut, allow_none=True, metadata={"description": "only with wait=true"})


class EraseOut(Schema):
    contacts = Int(required=True, metadata={"description": "contacts removed"})
    runs = Int(required=True, metadata={"description": "run records removed"})


class TestIn(Schema):
    settings = Dict(
        keys=Str(),
        load_default=dict,
        metadata={
            "description": "settings to test; for a saved source they override the stored ones (blank secret = stored)"
        },
    )


class TestOut(Schema):
    ok = Bool(required=True, metadata={"description": "false when the test could not run at all"})
    rows = List(Dict(), required=True, metadata={"description": "mapped sample rows (nothing is written)"})
    problems = List(Str(), required=True)
    columns = List(Str())
    query = Str(allow_none=True)


# ---------------------------------------------------------------- helpers
def _service() -> SourceService:
    p = principal()
    if not may(p, "sources:manage"):
        raise PermissionDenied("only administrators manage contact sources")
    return SourceService(db.session, p, current_app._get_current_object())


def _types() -> Mapping[str, SourceType]:
    return hub().registry.source_types


def _out(src: dict[str, Any]) -> dict[str, Any]:
    stype = _types().get(src["plugin"])
    return {**src, "type_label": stype.label if stype else src["plugin"], "running": bool(src.get("lease_owner"))}


def _type_out(t: SourceType) -> dict[str, Any]:
    return {
        "name": t.name,
        "label": t.label,
        "description": t.description,
        "erase_warning": t.erase_warning,
        "permissions_help": t.permissions_help,
        "full_snapshot_options": t.full_snapshot_options,
        "has_test": t.test is not None,
        "setting_fields": [
            {
                "name": f.name,
                "label": f.label,
                "type": f.type,
                "required": f.required,
                "secret": f.secret,
                "default": f.default,
                "help": f.help,
                "choices": list(f.choices),
            }
            for f in t.fields
        ],
    }


def _run_test(
    stype: SourceType, values: Mapping[str, Any], old_secrets: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    settings, secrets = validate_settings(stype, values, old_secrets)
    assert stype.test is not None
    try:
        result = dict(stype.test({**settings, **secrets}, default_ctx()))
    except SourceError as exc:
        return {"ok": False, "rows": [], "problems": [str(exc)], "columns": [], "query": None}
    return {
        "ok": True,
        "rows": list(result.get("rows") or []),
        "problems": list(result.get("problems") or []),
        "columns": list(result.get("columns") or []),
        "query": result.get("query"),
    }


def _background(app: Any, source_id: int, worker: str) -> None:
    with app.app_context():
        try:
            run_source(db.session, app, source_id, worker, default_ctx())
        except Exception:
            log.exception("triggered sync of source %s failed", source_id)
        finally:
            db.session.remove()


# ---------------------------------------------------------------- routes
@api.get("/source-types")
@api.output(SourceTypeOut(many=True))
@api.doc(tags=[TAG], summary="Installed source types with their settings forms", security=SEC, responses=[403])
def source_types() -> Any:
    _service()
    return [_type_out(t) for t in sorted(_types().values(), key=lambda t: t.label.lower())]


@api.post("/source-types/<name>/test")
@api.input(TestIn, arg_name="data")
@api.output(TestOut)
@api.doc(
    tags=[TAG],
    summary="Import test of unsaved settings: sample rows and problems, nothing written",
    security=SEC,
    responses=[403, 404, 422],
)
def test_unsaved(name: str, data: dict[str, Any]) -> Any:
    _service()
    stype = _types().get(name)
    if stype is None or stype.test is None:
        raise NotFound(f"source type {name!r} has no import test")
    return _run_test(stype, data["settings"])


@api.get("/sources")
@api.output(SourceOut(many=True))
@api.doc(tags=[TAG], summary="The tenant's contact sources (secrets only as set/unset)", security=SEC, responses=[403])
def all_sources() -> Any:
    return [_out(s) for s in _service().list()]


@api.post("/sources")
@api.input(SourceIn, arg_name="data")
@api.output(SourceOut, status_code=201)
@api.doc(
    tags=[TAG],
    summary="Configure a source; enabled means an immediate full sync is scheduled",
    security=SEC,
    responses=[403, 422],
)
@writes
def create_source(data: dict[str, Any]) -> Any:
    return _out(_service().create(data)), 201


@api.get("/sources/<int:source_id>")
@api.output(SourceOut)
@api.doc(tags=[TAG], summary="A source with its Status Message", security=SEC, responses=[403, 404])
def get_source(source_id: int) -> Any:
    return _out(_service().get(source_id))


@api.patch("/sources/<int:source_id>")
@api.input(SourcePatch, arg_name="data")
@api.output(SourceOut)
@api.doc(tags=[TAG], summary="Change a source's settings or options", security=SEC, responses=[403, 404, 422])
@writes
def update_source(source_id: int, data: dict[str, Any]) -> Any:
    return _out(_service().update(source_id, data))


def _erase(source_id: int) -> dict[str, int]:
    svc = _service()
    src = svc.get(source_id)
    if src["lease_owner"] and _lease_live(source_id):
        raise Conflict("a sync of this source is running; erase it when the run has finished")
    return svc.erase(source_id)


def _lease_live(source_id: int) -> bool:
    from sqlalchemy import select

    from plugin_host.models import T

    src = T["sources"]
    exp = db.session.execute(select(src.c.lease_expires_at).where(src.c.id == source_id)).scalar()
    return exp is not None and exp > utcnow()


@api.post("/sources/<int:source_id>/erase")
@api.output(EraseOut)
@api.doc(
    tags=[TAG],
    summary="Erase Data: the source's contacts, their activities, its runs and configuration",
    description="Show the source type's erase_warning and ask for confirmation first.",
    security=SEC,
    responses=[403, 404, 409],
)
@writes
def erase_source(source_id: int) -> Any:
    return _erase(source_id)


@api.delete("/sources/<int:source_id>")
@api.output(EraseOut)
@api.doc(
    tags=[TAG],
    summary="Delete a source = Erase Data (same as POST .../erase)",
    description="Deleting a source always erases its contacts too; there is no way to keep them "
    "without their source. Show the type's erase_warning first.",
    security=SEC,
    responses=[403, 404, 409],
)
@writes
def delete_source(source_id: int) -> Any:
    return _erase(source_id)


@api.post("/sources/<int:source_id>/sync")
@api.input(SyncQuery, location="query", arg_name="args")
@api.output(SyncOut, status_code=202)
@api.doc(
    tags=[TAG],
    summary="Trigger Sync now (202; ?wait=true runs it within the request: 200)",
    security=SEC,
    responses=[200, 403, 404, 409],
)
def trigger_sync(source_id: int, args: dict[str, Any]) -> Any:
    svc = _service()
    svc.trigger(source_id)
    db.session.commit()
    worker = worker_name("api")
    if not claim(db.session, source_id, worker, due_only=True):
        if args["wait"]:
            raise Conflict("a sync of this source is already running")
        return {"status": "queued", "source": _out(svc.get(source_id)), "run": None}, 202
    app = current_app._get_current_object()
    if args["wait"]:
        run = run_source(db.session, app, source_id, worker, default_ctx())
        return {"status": "done", "source": _out(svc.get(source_id)), "run": run}, 200
    thread = threading.Thread(
        target=_background, args=(app, source_id, worker), name=f"contacts-hub-sync-{source_id}", daemon=True
    )
    app.extensions.setdefault(THREADS_KEY, []).append(thread)
    thread.start()
    return {"status": "running", "source": _out(svc.get(source_id)), "run": None}, 202


@api.get("/sources/<int:source_id>/runs")
@api.input(RunsQuery, location="query", arg_name="args")
@api.output(RunOut(many=True))
@api.doc(tags=[TAG], summary="Recent sync runs, newest first", security=SEC, responses=[403, 404])
def source_runs(source_id: int, args: dict[str, Any]) -> Any:
    return _service().runs(source_id, limit=args["limit"])


@api.post("/sources/<int:source_id>/test")
@api.input(TestIn, arg_name="data")
@api.output(TestOut)
@api.doc(
    tags=[TAG],
    summary="Import test of a saved source: sample rows and problems, nothing written",
    security=SEC,
    responses=[403, 404, 422],
)
def test_source(source_id: int, data: dict[str, Any]) -> Any:
    svc = _service()
    src = svc.get(source_id)
    stype = _types().get(src["plugin"])
    if stype is None or stype.test is None:
        raise NotFound(f"source type {src['plugin']!r} has no import test")
    row = svc._row(source_id)
    return _run_test(stype, {**(row["settings"] or {}), **data["settings"]}, hub().secrets.open(row["secrets"]))
