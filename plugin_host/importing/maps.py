"""Saved import templates (ImportMap): a named column mapping plus import options, per tenant."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import delete, insert, select, update
from sqlalchemy.orm import Session

from plugin_host.importing.pipeline import ImportOptions
from plugin_host.models import T, utcnow
from plugin_host.permissions import Principal
from plugin_host.repo.errors import NotFound, PermissionDenied, ValidationError

MAPS = T["import_maps"]
_NOT_STORED = ("mapping", "dry_run", "list_id")


def _store_mapping(mapping: Sequence[str | None] | Mapping[str, str | None] | None) -> dict[str, Any]:
    if mapping is None:
        return {}
    if isinstance(mapping, Mapping):
        return {"by_header": dict(mapping)}
    return {"columns": list(mapping)}


def _load_mapping(stored: Mapping[str, Any] | None) -> Sequence[str | None] | Mapping[str, str | None] | None:
    stored = stored or {}
    if "columns" in stored:
        return list(stored["columns"])
    if "by_header" in stored:
        return dict(stored["by_header"])
    return None


def _check(p: Principal, name: str) -> str:
    if not p.can_import:
        raise PermissionDenied("you may not import contacts")
    name = (name or "").strip()
    if not name or len(name) > 200:
        raise ValidationError({"name": ["is required (at most 200 characters)"]})
    return name


def _row(s: Session, p: Principal, map_id_or_name: int | str) -> Mapping[str, Any]:
    col = MAPS.c.id if isinstance(map_id_or_name, int) else MAPS.c.name
    row = s.execute(select(MAPS).where(MAPS.c.tenant_id == p.tenant_id, col == map_id_or_name)).mappings().first()
    if row is None:
        raise NotFound(f"import template {map_id_or_name!r} not found")
    return row


def _dict(row: Mapping[str, Any]) -> dict[str, Any]:
    return {"id": row["id"], "name": row["name"], "mapping": _load_mapping(row["mapping"]),
            "options": dict(row["options"] or {}), "created_by": row["created_by"],
            "created_at": row["created_at"], "updated_at": row["updated_at"]}


def save_map(s: Session, p: Principal, name: str, options: ImportOptions) -> dict[str, Any]:
    """Store ``options`` (mapping included) as a new named template."""
    name = _check(p, name)
    if s.execute(select(MAPS.c.id).where(MAPS.c.tenant_id == p.tenant_id, MAPS.c.name == name)).first():
        raise ValidationError({"name": [f"a template named {name!r} already exists"]})
    opts = {k: v for k, v in options.as_dict().items() if k not in _NOT_STORED}
    now = utcnow()
    map_id = s.execute(insert(MAPS).values(tenant_id=p.tenant_id, name=name, mapping=_store_mapping(options.mapping),
                                           options=opts, created_by=p.user_id, created_at=now, updated_at=now)
                       .returning(MAPS.c.id)).scalar_one()
    return get_map(s, p, map_id)


def list_maps(s: Session, p: Principal) -> list[dict[str, Any]]:
    """The tenant's templates by name."""
    rows = s.execute(select(MAPS).where(MAPS.c.tenant_id == p.tenant_id).order_by(MAPS.c.name)).mappings()
    return [_dict(r) for r in rows]


def get_map(s: Session, p: Principal, map_id_or_name: int | str) -> dict[str, Any]:
    """One template by id or name."""
    return _dict(_row(s, p, map_id_or_name))


def options_from_map(s: Session, p: Principal, map_id_or_name: int | str, **overrides: Any) -> ImportOptions:
    """ImportOptions from a template, with ``overrides`` (non-None values) on top."""
    m = get_map(s, p, map_id_or_name)
    data = {**m["options"], "mapping": m["mapping"], **{k: v for k, v in overrides.items() if v is not None}}
    return ImportOptions.from_dict(data)


def update_map(s: Session, p: Principal, map_id: int, *, name: str | None = None,
               options: ImportOptions | None = None) -> dict[str, Any]:
    """Rename a template and/or replace its mapping and options."""
    _row(s, p, map_id)
    values: dict[str, Any] = {"updated_at": utcnow()}
    if name is not None:
        name = _check(p, name)
        clash = s.execute(select(MAPS.c.id).where(MAPS.c.tenant_id == p.tenant_id, MAPS.c.name == name,
                                                  MAPS.c.id != map_id)).first()
        if clash:
            raise ValidationError({"name": [f"a template named {name!r} already exists"]})
        values["name"] = name
    if options is not None:
        _check(p, "x")
        values["mapping"] = _store_mapping(options.mapping)
        values["options"] = {k: v for k, v in options.as_dict().items() if k not in _NOT_STORED}
    s.execute(update(MAPS).where(MAPS.c.id == map_id).values(**values))
    return get_map(s, p, map_id)


def delete_map(s: Session, p: Principal, map_id: int) -> None:
    """Delete a template."""
    _check(p, "x")
    _row(s, p, map_id)
    s.execute(delete(MAPS).where(MAPS.c.id == map_id))
