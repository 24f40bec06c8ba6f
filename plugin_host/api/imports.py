"""Import endpoints: preview, import (file or inline CSV), jobs with progress, failed rows, import maps, export.

The seed's own paths (``/api/crm-contacts/<tenant>/...``, ``/api/crm-import-maps/<tenant>``) answer
too, as aliases of the same handlers, on a second blueprint added by ``register_aliases(app)``.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Iterator, Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

from apiflask import APIBlueprint
from flask import Response, current_app, request, stream_with_context
from marshmallow import EXCLUDE, Schema, fields
from marshmallow import ValidationError as SchemaError
from marshmallow.validate import Length, OneOf, Range
from sqlalchemy import select
from werkzeug.utils import secure_filename

from plugin_host.api import api, commit, principal, repo
from plugin_host.api.problems import problem
from plugin_host.auth import current_principal
from plugin_host.importing import jobs
from plugin_host.importing.errors import ImportFileError
from plugin_host.importing.export import iter_pbx_csv, iter_vcards
from plugin_host.importing.maps import delete_map, get_map, list_maps, options_from_map, save_map, update_map
from plugin_host.importing.pipeline import (
    LIST_MODES,
    ImportOptions,
    create_job,
    errors_csv,
    estimate_rows,
    formats_of,
    get_job,
    issue_errors_token,
    open_with_options,
    run_import,
    tenant_region,
)
from plugin_host.models import T, db, utcnow
from plugin_host.permissions import Principal, Role
from plugin_host.records import ContactRecord, EmailIn, PhoneIn
from plugin_host.repo import ContactQuery, ContactRepository, NotFound, PermissionDenied, ValidationError
from plugin_host.repo.upsert import MATCH_KEYS, Upserter, UpsertOptions

SEC = ["bearerAuth", "cookieAuth"]
JOBS, TENANTS = T["import_jobs"], T["tenants"]
MAX_ID = 2**63 - 1
RECORD_SCALARS = ("first_name", "last_name", "company", "contact_type", "title", "org_department", "status",
                  "acquisition_source", "preferred_channel", "language", "timezone", "notes", "fb_user_id",
                  "external_crm_id", "external_crm_provider", "opt_in_email", "opt_in_sms", "opt_in_whatsapp")

seed = APIBlueprint("seed_imports", __name__, url_prefix="/api", tag="Seed import aliases")


# ---------------------------------------------------------------- input
class _Keys(fields.Field):
    """``email,phone`` or ``["email", "phone"]``."""

    def _deserialize(self, value: Any, attr: Any, data: Any, **kw: Any) -> tuple[str, ...]:
        items = value.split(",") if isinstance(value, str) else value
        if not isinstance(items, (list, tuple)) or not all(isinstance(k, str) for k in items):
            raise SchemaError("give match keys as a list or a comma-separated string")
        keys = tuple(k.strip() for k in items if k.strip())
        bad = [k for k in keys if k not in MATCH_KEYS]
        if bad or not keys:
            raise SchemaError(f"use one or more of {', '.join(MATCH_KEYS)}")
        return keys


class _Mapping(fields.Field):
    """A column mapping: a list of targets by position, or ``{header: target}``; JSON text accepted."""

    def _deserialize(self, value: Any, attr: Any, data: Any, **kw: Any) -> Any:
        if isinstance(value, str):
            try:
                value = json.loads(value)
            except ValueError as exc:
                raise SchemaError(f"is not valid JSON ({exc})") from None
        if value is None:
            return None
        if isinstance(value, list) and all(v is None or isinstance(v, str) for v in value):
            return [v or None for v in value]
        if isinstance(value, dict) and all(isinstance(k, str) and (v is None or isinstance(v, str))
                                           for k, v in value.items()):
            return {k: v or None for k, v in value.items()}
        raise SchemaError("must be a list of targets (by column) or an object {header: target}")


class OptionsIn(Schema):
    """The wizard's options (also what an import template stores)."""

    class Meta:
        unknown = EXCLUDE

    format = fields.Str(allow_none=True, validate=Length(1, 64))
    delimiter = fields.Str(allow_none=True, validate=Length(1, 10))
    has_header = fields.Bool()
    on_duplicate = fields.Str(validate=OneOf(["update", "skip"]))
    match_keys = _Keys()
    list_mode = fields.Str(validate=OneOf(LIST_MODES))
    list_id = fields.Int(allow_none=True, validate=Range(1, MAX_ID))
    list_name = fields.Str(allow_none=True, validate=Length(1, 200))
    visibility = fields.Str(allow_none=True, validate=OneOf(["global", "department", "private"]))
    department_id = fields.Int(allow_none=True, validate=Range(1, MAX_ID))
    blank_clears = fields.Bool()
    legacy_codepage = fields.Str(validate=Length(1, 40))


class ImportIn(OptionsIn):
    """An import or preview request (multipart form fields, a JSON body or query parameters)."""

    dry_run = fields.Bool()
    map_id = fields.Int(validate=Range(1, MAX_ID))
    save_as = fields.Str(validate=Length(1, 200))
    mapping_json = _Mapping(allow_none=True)
    mapping = _Mapping(allow_none=True)
    csv = fields.Str()
    filename = fields.Str(validate=Length(0, 255))
    rows = fields.Int(validate=Range(1, 50))


class MapIn(Schema):
    class Meta:
        unknown = EXCLUDE

    name = fields.Str(required=True, validate=Length(1, 200))
    mapping = _Mapping(allow_none=True)
    options = fields.Dict(load_default=dict)


class MapOut(Schema):
    id = fields.Int()
    name = fields.Str()
    mapping = fields.Raw(allow_none=True)
    options = fields.Dict()
    created_by = fields.Int(allow_none=True)
    created_at = fields.Str()
    updated_at = fields.Str()


class MapList(Schema):
    items = fields.List(fields.Nested(MapOut))


class JobOut(Schema):
    id = fields.Int()
    status = fields.Str(metadata={"description": "queued, running, done or failed"})
    filename = fields.Str()
    format = fields.Str(allow_none=True)
    dry_run = fields.Bool()
    rows = fields.Int(metadata={"description": "rows read; imported + updated + skipped + errors"})
    total_rows = fields.Int(allow_none=True, metadata={"description": "estimated rows in the file"})
    rows_done = fields.Int()
    imported = fields.Int()
    updated = fields.Int()
    skipped = fields.Int()
    errors = fields.Int()
    message = fields.Str()
    list_id = fields.Int(allow_none=True)
    error_messages = fields.List(fields.Str())
    errors_url = fields.Str(allow_none=True, metadata={"description": "failed rows as CSV (tokenised, expiring)"})
    errors_url_expires_at = fields.Str(allow_none=True)
    map = fields.Nested(MapOut, allow_none=True)
    created_at = fields.Str(allow_none=True)
    finished_at = fields.Str(allow_none=True)


class ExportQuery(Schema):
    class Meta:
        unknown = EXCLUDE

    format = fields.Str(load_default="csv", validate=OneOf(["csv", "vcard"]))
    q = fields.Str(validate=Length(0, 200))
    match = fields.Str(load_default="auto", validate=OneOf(["auto", "prefix", "substring"]))
    letter = fields.Str(validate=Length(1, 1))
    status = fields.Str(validate=Length(1, 40))
    acquisition_source = fields.Str(validate=Length(1, 40))
    source_id = fields.Int(validate=Range(1, MAX_ID))
    account_id = fields.Int(validate=Range(1, MAX_ID))
    contact_type = fields.Str(validate=Length(1, 40))
    tag = fields.Str(validate=Length(1, 100))
    has_activities = fields.Bool()
    list_id = fields.Int(validate=Range(1, MAX_ID))
    visibility = fields.Str(validate=OneOf(["global", "department", "private"]))
    department_id = fields.Int(validate=Range(1, MAX_ID))


def _load(schema: Schema, data: Mapping[str, Any]) -> dict[str, Any]:
    try:
        return schema.load(data)
    except SchemaError as exc:
        messages = exc.messages if isinstance(exc.messages, dict) else {"_": exc.messages}
        raise ValidationError({k: [str(m) for m in (v if isinstance(v, list) else [v])]
                               for k, v in messages.items()}) from None


def _request_fields() -> dict[str, Any]:
    """The request's option fields: multipart/urlencoded form, a JSON object, or the query string."""
    if request.is_json:
        body = request.get_json()
        if not isinstance(body, dict):
            raise ValidationError({"_": ["the JSON body must be an object"]})
        return {**request.args.to_dict(), **body}
    data: dict[str, Any] = request.args.to_dict()
    for key in request.form:
        values = request.form.getlist(key)
        data[key] = values if key == "match_keys" and len(values) > 1 else values[-1]
    return data


def _params() -> dict[str, Any]:
    return _load(ImportIn(), _request_fields())


def _require_import(p: Principal) -> None:
    if not p.has_scope("import") or not p.can_import:
        raise PermissionDenied("you may not import contacts")


def _options(p: Principal, params: Mapping[str, Any]) -> ImportOptions:
    """ImportOptions from the request, on top of a saved template when ``map_id`` is given."""
    names = {"format": "format_name"}
    values = {names.get(k, k): v for k, v in params.items()
              if k in OptionsIn().fields or k == "dry_run"}
    mapping = params.get("mapping_json", params.get("mapping"))
    if mapping is not None:
        values["mapping"] = mapping
    if "map_id" in params:
        options = options_from_map(db.session, p, params["map_id"], **values)
        if "legacy_codepage" not in values and not options.legacy_codepage:
            options.legacy_codepage = current_app.config["LEGACY_CODEPAGE"]
    else:
        values.setdefault("legacy_codepage", current_app.config["LEGACY_CODEPAGE"])
        options = ImportOptions.from_dict(values)
    # an import into private contacts goes into the caller's own
    options.owner_id = p.user_id if options.visibility == "private" else None
    if options.visibility != "department":
        options.department_id = None
    options.check()
    return options


def _imports_dir() -> Path:
    path = Path(current_app.instance_path) / "imports"
    path.mkdir(parents=True, exist_ok=True)
    return path


def _save_payload(params: Mapping[str, Any]) -> tuple[Path, str]:
    """Write the upload (or inline CSV / raw body) to the instance folder; memory stays flat for files."""
    target = _imports_dir() / f"{uuid.uuid4().hex}.upload"
    upload = request.files.get("file")
    if upload is not None:
        upload.save(target)
        return target, secure_filename(upload.filename or "") or "upload"
    if "csv" in params:
        target.write_bytes(params["csv"].encode("utf-8"))
        return target, params.get("filename") or "inline.csv"
    if not request.is_json and not request.form and request.content_length:
        with target.open("wb") as out:
            while chunk := request.stream.read(1 << 20):
                out.write(chunk)
        return target, params.get("filename") or "upload"
    raise ValidationError({"file": ["send a file (multipart field 'file'), an inline 'csv' value or a CSV body"]})


def _file_error(exc: ImportFileError) -> Response:
    db.session.rollback()
    return problem(422, str(exc), {"file": [str(exc)]})


api.register_error_handler(ImportFileError, _file_error)
seed.register_error_handler(ImportFileError, _file_error)


def _preflight(p: Principal, path: Path, options: ImportOptions) -> int:
    """File-level and permission checks before anything is written; the estimated row count."""
    with path.open("rb") as fh:
        parsed = open_with_options(formats_of(current_app), fh, options)
        if mapping_problem := parsed.mapping_problem():
            raise ImportFileError(mapping_problem)
        total = estimate_rows(fh, parsed)
    s = db.session
    upserter = Upserter(s, p, region=tenant_region(s, p.tenant_id), options=UpsertOptions(
        match_keys=tuple(options.match_keys), on_duplicate=options.on_duplicate, blank_clears=options.blank_clears,
        visibility=options.visibility, department_id=options.department_id, owner_id=options.owner_id,
        dry_run=True, list_id=options.list_id if options.list_mode == "existing" else None))
    del upserter
    if options.list_mode == "new":
        from plugin_host.repo.lists import ListRepository

        lists = ListRepository(s, p)
        if hasattr(lists, "can_create") and not lists.can_create():  # pragma: no cover  (not every version)
            raise PermissionDenied("you may not create lists")
    return total


# ---------------------------------------------------------------- output
def _iso(value: Any) -> str | None:
    return value.isoformat() if isinstance(value, datetime) else value


def _map_out(m: Mapping[str, Any]) -> dict[str, Any]:
    return {**m, "created_at": _iso(m["created_at"]), "updated_at": _iso(m["updated_at"])}


def _job_out(job: Mapping[str, Any], *, error_messages: list[str] | None = None,
             list_id: int | None = None) -> dict[str, Any]:
    out = {k: job.get(k) for k in ("id", "status", "filename", "format", "dry_run", "total_rows", "rows_done",
                                   "imported", "updated", "skipped", "errors", "message")}
    out["rows"] = out["rows_done"] or 0
    out["created_at"], out["finished_at"] = _iso(job.get("created_at")), _iso(job.get("finished_at"))
    out["list_id"] = list_id
    out["error_messages"] = error_messages if error_messages is not None else []
    out["errors_url"] = out["errors_url_expires_at"] = None
    if job["status"] == "done" and job["errors"]:
        ttl = int(current_app.config["IMPORT_ERRORS_TTL_MINUTES"])
        token = issue_errors_token(db.session, job["id"], ttl)
        out["errors_url"] = f"/api/v1/imports/{job['id']}/errors.csv?token={token}"
        expires = db.session.execute(select(JOBS.c.error_token_expires_at).where(JOBS.c.id == job["id"])).scalar()
        out["errors_url_expires_at"] = _iso(expires)
        if error_messages is None:
            from plugin_host.importing.pipeline import error_rows

            out["error_messages"] = [r["error"] for r in error_rows(db.session, job["id"])[:20]]
    return out


def _visible_job(p: Principal, job_id: int) -> dict[str, Any]:
    job = get_job(db.session, p.tenant_id, job_id)
    if job is None or (job["user_id"] != p.user_id and p.role is not Role.ADMIN):
        raise NotFound(f"import {job_id} not found")
    return job


# ---------------------------------------------------------------- handlers (shared by both path sets)
def do_preview() -> Any:
    p = principal()
    _require_import(p)
    params = _params()
    options = _options(p, params)
    path, _ = _save_payload(params)
    try:
        with path.open("rb") as fh:
            parsed = open_with_options(formats_of(current_app), fh, options)
            out = parsed.preview(params.get("rows", 5)).as_dict()
            out["mapping_problem"] = parsed.mapping_problem()
            out["total_rows"] = estimate_rows(fh, parsed)
        out["background"] = out["total_rows"] > int(current_app.config["IMPORT_BACKGROUND_ROWS"])
        out["targets"] = list(parsed.mapping)
        return out
    finally:
        path.unlink(missing_ok=True)
        db.session.rollback()


def do_import() -> Any:
    p = principal()
    _require_import(p)
    params = _params()
    options = _options(p, params)
    s = db.session
    path, filename = _save_payload(params)
    keep_file = False
    try:
        total = _preflight(p, path, options)
        saved = None
        if "save_as" in params:
            saved = save_map(s, p, params["save_as"], options)
        if total > int(current_app.config["IMPORT_BACKGROUND_ROWS"]):
            job_id = create_job(s, p, options, filename=filename, file_path=str(path))
            s.execute(JOBS.update().where(JOBS.c.id == job_id).values(total_rows=total))
            commit()
            keep_file = True
            jobs.submit(current_app._get_current_object(), job_id)  # type: ignore[attr-defined]
            out = _job_out(get_job(s, p.tenant_id, job_id) or {})
            out["map"] = _map_out(saved) if saved else None
            return out, 202, {"Location": f"/api/v1/imports/{job_id}"}
        result = run_import(s, p, path, options, filename=filename)
        commit()
        job = get_job(s, p.tenant_id, result.job_id) or {}
        out = _job_out(job, error_messages=[m for _, m in result.error_rows[:20]], list_id=result.list_id)
        out["map"] = _map_out(saved) if saved else None
        if options.dry_run:
            return out, 200
        return out, 201, {"Location": f"/api/v1/imports/{result.job_id}"}
    finally:
        if not keep_file:
            path.unlink(missing_ok=True)


def do_get_job(job_id: int) -> Any:
    p = principal()
    job = _visible_job(p, job_id)
    if jobs.is_stale(job):  # its worker died (or it was never picked up): run it again
        jobs.submit(current_app._get_current_object(), job_id)  # type: ignore[attr-defined]
    return _job_out(job)


def do_errors_csv(token: str | None, job_id: int | None = None) -> Any:
    p = principal()
    if not token:
        raise NotFound("the download link has no token")
    digest = hashlib.sha256(token.encode()).hexdigest()
    terms = [JOBS.c.tenant_id == p.tenant_id, JOBS.c.error_token_hash == digest]
    if job_id is not None:
        terms.append(JOBS.c.id == job_id)
    row = db.session.execute(select(JOBS.c.id, JOBS.c.error_token_expires_at, JOBS.c.filename).where(*terms)).first()
    if row is None:
        raise NotFound("unknown download link")
    expires = row.error_token_expires_at
    if expires is None or expires.replace(tzinfo=None) <= utcnow().replace(tzinfo=None):
        return problem(410, "this download link has expired; open the import again for a new one")
    body = errors_csv(db.session, row.id)
    name = f"import-{row.id}-errors.csv"
    return Response(body, mimetype="text/csv", headers={"Content-Disposition": f'attachment; filename="{name}"'})


def _map_options(data: Mapping[str, Any], base: Mapping[str, Any] | None = None) -> ImportOptions:
    opts = _load(OptionsIn(), data.get("options") or {})
    opts = {("format_name" if k == "format" else k): v for k, v in opts.items()}
    merged = {**(base or {}), **opts}
    if "mapping" in data:
        merged["mapping"] = data["mapping"]
    options = ImportOptions.from_dict(merged)
    options.check()
    return options


def do_list_maps() -> Any:
    return {"items": [_map_out(m) for m in list_maps(db.session, principal())]}


def do_create_map() -> Any:
    data = _load(MapIn(), request.get_json(silent=True) or {})
    saved = save_map(db.session, principal(), data["name"], _map_options(data))
    commit()
    return _map_out(saved), 201, {"Location": f"/api/v1/import-maps/{saved['id']}"}


def do_get_map(map_id: int) -> Any:
    return _map_out(get_map(db.session, principal(), map_id))


def do_update_map(map_id: int) -> Any:
    p = principal()
    data = _load(MapIn(partial=True), request.get_json(silent=True) or {})
    current = get_map(db.session, p, map_id)
    options = None
    if "options" in data or "mapping" in data:
        options = _map_options({"mapping": current["mapping"], **data}, current["options"])
    updated = update_map(db.session, p, map_id, name=data.get("name"), options=options)
    commit()
    return _map_out(updated)


def do_delete_map(map_id: int) -> Any:
    delete_map(db.session, principal(), map_id)
    commit()
    return "", 204


# ---------------------------------------------------------------- /api/v1 routes
IMPORT_DOC = ("Send the file as multipart field `file` (plus option fields), or a JSON body with an inline `csv` "
              "and `mapping_json`. Options: `format`, `delimiter`, `has_header`, `on_duplicate` (update|skip), "
              "`match_keys` (email, phone, mobile, external_crm_id), `list_mode` (none|existing|new|per_row) with "
              "`list_id`/`list_name`, `visibility`/`department_id`, `blank_clears`, `dry_run`, `map_id` (load a "
              "template), `save_as` (save one).")


@api.post("/imports/preview")
@api.doc(summary="Preview an import (writes nothing)", security=SEC, tags=["Import"], responses=[403, 413, 422],
         description="Detected format, encoding, delimiter, header, columns with samples and mapped targets, "
                     "the first rows and the estimated row count. " + IMPORT_DOC)
def preview_import() -> Any:
    return do_preview()


@api.post("/imports")
@api.output(JobOut, status_code=201)
@api.doc(summary="Import contacts from a file", security=SEC, tags=["Import"], responses=[200, 202, 403, 413, 422],
         description="Small files run inline (201, or 200 for a dry run, with the final counts); files above "
                     "IMPORT_BACKGROUND_ROWS rows run as a background job (202 + Location to poll). Counts add "
                     "up to the rows read; `errors_url` downloads the failed rows. " + IMPORT_DOC)
def post_import() -> Any:
    return do_import()


@api.get("/imports/<int:job_id>")
@api.output(JobOut)
@api.doc(summary="An import job with its progress and counts", security=SEC, tags=["Import"], responses=[404])
def get_import(job_id: int) -> Any:
    return do_get_job(job_id)


@api.get("/imports/<int:job_id>/errors.csv")
@api.doc(summary="The failed rows as CSV (original columns plus `errors`)", security=SEC, tags=["Import"],
         responses=[404, 410], description="`token` comes from the job's `errors_url`; it expires after "
                                           "IMPORT_ERRORS_TTL_MINUTES.")
def get_import_errors(job_id: int) -> Any:
    return do_errors_csv(request.args.get("token"), job_id)


@api.get("/import-maps")
@api.output(MapList)
@api.doc(summary="Saved import templates", security=SEC, tags=["Import"])
def import_maps() -> Any:
    return do_list_maps()


@api.post("/import-maps")
@api.output(MapOut, status_code=201)
@api.doc(summary="Save an import template (mapping + options)", security=SEC, tags=["Import"],
         responses=[403, 422], description="Body: `name`, `mapping` (list by column or {header: target}), "
                                           "`options` (the import option fields).")
def create_import_map() -> Any:
    return do_create_map()


@api.get("/import-maps/<int:map_id>")
@api.output(MapOut)
@api.doc(summary="An import template", security=SEC, tags=["Import"], responses=[404])
def import_map(map_id: int) -> Any:
    return do_get_map(map_id)


@api.put("/import-maps/<int:map_id>")
@api.output(MapOut)
@api.doc(summary="Rename or change an import template", security=SEC, tags=["Import"], responses=[403, 404, 422])
def update_import_map(map_id: int) -> Any:
    return do_update_map(map_id)


@api.delete("/import-maps/<int:map_id>")
@api.output({}, status_code=204)
@api.doc(summary="Delete an import template", security=SEC, tags=["Import"], responses=[403, 404])
def delete_import_map(map_id: int) -> Any:
    return do_delete_map(map_id)


# ---------------------------------------------------------------- export
def contact_record(c: Mapping[str, Any]) -> ContactRecord:
    """A ContactRepository dict as a ContactRecord for the writers."""
    return ContactRecord(
        **{k: c.get(k) for k in RECORD_SCALARS},
        phones=tuple(PhoneIn(ph["number"] or ph.get("e164") or "", ph.get("label") or "other")
                     for ph in c.get("phones") or ()),
        emails=tuple(EmailIn(em["address"], em.get("label") or "other") for em in c.get("emails") or ()),
        tags=tuple(c.get("tags") or ()),
        custom=dict(c.get("custom") or {}),
    )


@api.get("/contacts/export")
@api.doc(summary="Export contacts as PBX CSV or vCard 3.0", security=SEC, tags=["Import"],
         responses={200: {"description": "The file (attachment)",
                          "content": {"text/csv": {"schema": {"type": "string"}},
                                      "text/vcard": {"schema": {"type": "string"}}}},
                    404: "Unknown list", 422: "Invalid filter or format"},
         description="Only contacts the caller may read, with the contact list's filters; streamed. Cells a "
                     "spreadsheet would run as a formula are neutralised.")
def export_contacts() -> Any:
    args = _load(ExportQuery(), request.args.to_dict())
    fmt = args.pop("format")
    contacts = repo(ContactRepository)
    query = ContactQuery(**args)
    records = (contact_record(c) for c in contacts.iter_all(query))

    def body() -> Iterator[str]:
        yield from (iter_pbx_csv(records) if fmt == "csv" else iter_vcards(records))

    name, mimetype = ("contacts.csv", "text/csv") if fmt == "csv" else ("contacts.vcf", "text/vcard")
    return Response(stream_with_context(body()), mimetype=mimetype,
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})


# ---------------------------------------------------------------- seed aliases
@seed.before_request
def _seed_tenant() -> None:
    """Authenticate; ``<tenant>`` (slug or id) must be the caller's own tenant, anything else is 404."""
    p = current_principal()
    tenant = (request.view_args or {}).get("tenant")
    if tenant is None:
        return
    slug = db.session.execute(select(TENANTS.c.slug).where(TENANTS.c.id == p.tenant_id)).scalar()
    if tenant not in (slug, str(p.tenant_id)):
        raise NotFound(f"tenant {tenant!r} not found")


@seed.post("/crm-contacts/<tenant>/import")
@seed.doc(summary="Seed alias of POST /api/v1/imports", security=SEC, responses=[200, 202, 403, 404, 413, 422])
def seed_import(tenant: str) -> Any:
    return do_import()


@seed.post("/crm-contacts/<tenant>/import-preview")
@seed.doc(summary="Seed alias of POST /api/v1/imports/preview", security=SEC, responses=[403, 404, 422])
def seed_preview(tenant: str) -> Any:
    return do_preview()


@seed.get("/crm-contacts/<tenant>/import-errors")
@seed.doc(summary="Seed alias of GET /api/v1/imports/{id}/errors.csv", security=SEC, responses=[404, 410])
def seed_import_errors(tenant: str) -> Any:
    return do_errors_csv(request.args.get("token"))


@seed.get("/crm-import-maps/<tenant>")
@seed.doc(summary="Seed alias of GET /api/v1/import-maps", security=SEC, responses=[404])
def seed_maps(tenant: str) -> Any:
    return do_list_maps()


@seed.post("/crm-import-maps/<tenant>")
@seed.doc(summary="Seed alias of POST /api/v1/import-maps", security=SEC, responses=[403, 404, 422])
def seed_create_map(tenant: str) -> Any:
    return do_create_map()


@seed.get("/crm-import-maps/<tenant>/<int:map_id>")
@seed.doc(summary="Seed alias of GET /api/v1/import-maps/{id}", security=SEC, responses=[404])
def seed_map(tenant: str, map_id: int) -> Any:
    return do_get_map(map_id)


@seed.put("/crm-import-maps/<tenant>/<int:map_id>")
@seed.doc(summary="Seed alias of PUT /api/v1/import-maps/{id}", security=SEC, responses=[403, 404, 422])
def seed_update_map(tenant: str, map_id: int) -> Any:
    return do_update_map(map_id)


@seed.delete("/crm-import-maps/<tenant>/<int:map_id>")
@seed.doc(summary="Seed alias of DELETE /api/v1/import-maps/{id}", security=SEC, responses=[403, 404])
def seed_delete_map(tenant: str, map_id: int) -> Any:
    return do_delete_map(map_id)


def register_aliases(app: Any) -> None:
    """Add the seed's paths (idempotent); call from ``plugin_host.api.register`` after the main blueprint."""
    if seed.name not in app.blueprints:
        app.register_blueprint(seed)


__all__ = ["contact_record", "register_aliases", "seed"]
