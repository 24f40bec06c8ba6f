"""The field map: which query column feeds which contact field, and rows turned into records."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from decimal import Decimal
from typing import Any

from plugin_host.records import (
    EMAIL_LABELS,
    PHONE_LABELS,
    ContactRecord,
    EmailIn,
    PhoneIn,
    SkippedRecord,
    contact_type,
)

SCALARS = (
    "external_id", "display_name", "first_name", "last_name", "company", "title",
    "org_department", "notes", "contact_type", "status", "language", "timezone",
)  # fmt: skip
NAME_TARGETS = ("display_name", "first_name", "last_name")
ALIASES = {"name": "display_name", "mobile": "phone:mobile", "fax": "phone:fax"}
SKIP = (None, "", "-")


class MapError(ValueError):
    """The field map cannot be read at all (not JSON, wrong shape)."""


@dataclass(frozen=True)
class Target:
    """A contact field a column can feed: a scalar, a labelled phone/e-mail, a custom field, tags."""

    key: str
    kind: str
    label: str = ""


@dataclass(frozen=True)
class FieldMap:
    """The parsed map; ``positional`` when given as a JSON array of targets (no column names)."""

    entries: tuple[tuple[Target | None, str | None], ...]
    positional: bool
    problems: tuple[str, ...]

    def columns(self) -> list[str]:
        """The distinct source columns, in map order (what ``${MAP}`` expands to)."""
        return list(dict.fromkeys(c for t, c in self.entries if t is not None and c))


def parse_target(key: str) -> Target:
    """``phone:work``, ``email``, ``custom:vip``, ``mobile``... -> Target; ValueError if unknown."""
    norm = ALIASES.get(key.strip().lower(), key.strip().lower())
    kind, _, rest = norm.partition(":")
    if kind in SCALARS and not rest:
        return Target(norm, kind)
    if kind == "tags" and not rest:
        return Target(norm, "tags")
    if kind == "custom" and rest.strip():
        return Target(f"custom:{rest.strip()}", "custom", key.strip().partition(":")[2].strip())
    if kind in ("phone", "email"):
        labels = PHONE_LABELS if kind == "phone" else EMAIL_LABELS
        label, _, nth = rest.partition(":")
        if (not label or label in labels) and (not nth or nth.isdigit()):
            return Target(norm, kind, label or "other")
    raise ValueError(f"unknown target {key!r} in the field map")


def parse_field_map(raw: Any) -> FieldMap:
    """Read the map setting: a JSON object target -> column, or a JSON array of targets."""
    pairs = _load(raw)
    positional = isinstance(pairs, list) and all(not isinstance(p, tuple) for p in pairs)
    problems: list[str] = []
    entries: list[tuple[Target | None, str | None]] = []
    seen: set[str] = set()
    for item in pairs:
        key, column = item if isinstance(item, tuple) else (item, None)
        if positional and key in SKIP:
            entries.append((None, None))
            continue
        if not isinstance(key, str) or not (positional or (isinstance(column, str) and column.strip())):
            problems.append(f"field map entry {key!r}: {column!r} needs a column name (text)")
            continue
        try:
            target = parse_target(key)
        except ValueError as exc:
            problems.append(str(exc))
            entries.append((None, None))  # keeps the positions of the other columns
            continue
        if target.key in seen:
            problems.append(f"{target.key} appears twice in the field map")
        seen.add(target.key)
        entries.append((target, column.strip() if column else None))
    problems += _required(seen)
    return FieldMap(tuple(entries), positional, tuple(problems))


def _load(raw: Any) -> list[Any]:
    if isinstance(raw, Mapping):
        return list(raw.items())
    if isinstance(raw, list):
        return raw
    try:
        # Pairs, not a dict, so that a target written twice is reported instead of lost.
        data = json.loads(raw or "", object_pairs_hook=lambda kv: kv)
    except (TypeError, ValueError) as exc:
        raise MapError(f"the field map is not valid JSON ({exc})") from None
    if not isinstance(data, list):
        raise MapError('the field map must be a JSON object like {"external_id": "id", ...}')
    return data


def _required(targets: set[str]) -> list[str]:
    problems = []
    if "external_id" not in targets:
        problems.append("the field map needs external_id (the column that identifies a contact)")
    if not targets.intersection(NAME_TARGETS):
        problems.append("the field map needs a name: display_name, first_name or last_name")
    return problems


def plan_by_name(field_map: FieldMap) -> list[tuple[Target, int]]:
    """With ``${MAP}``: each target reads the position its column has in the expanded list."""
    if field_map.positional:
        raise MapError('${MAP} needs column names: write the field map as {"target": "column", ...}')
    index = {c: i for i, c in enumerate(field_map.columns())}
    return [(t, index[c]) for t, c in field_map.entries if t is not None and c]


def plan_by_position(field_map: FieldMap, column_count: int) -> list[tuple[Target, int]]:
    """Without ``${MAP}``: the n-th query column feeds the n-th map entry (the SAP example)."""
    if len(field_map.entries) > column_count:
        raise MapError(
            f"the query returns {column_count} columns but the field map lists "
            f"{len(field_map.entries)}; without ${{MAP}} columns are matched to the map by position"
        )
    return [(t, i) for i, (t, _) in enumerate(field_map.entries) if t is not None]


def text(value: Any) -> str:
    """A database value as contact text; NULL is "sent empty"."""
    if value is None:
        return ""
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value).decode("utf-8", "replace").strip()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))  # a phone number stored as a float must not gain ".0"
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, Decimal):
        return format(value, "f")
    return str(value).strip()


def split_name(full: str) -> tuple[str, str]:
    """``"Rossi, Anna"`` and ``"Anna Rossi"`` -> ``("Anna", "Rossi")``; one word is a first name."""
    if "," in full:
        last, _, first = full.partition(",")
        return first.strip(), last.strip()
    first, _, last = full.rpartition(" ")
    return (first.strip(), last.strip()) if first else (last.strip(), "")


def to_record(
    values: Sequence[Any], row_plan: Sequence[tuple[Target, int]], id_with_name: bool = False
) -> ContactRecord | SkippedRecord:
    """One result row -> a record; rows with no external ID or no name are skipped.

    ``id_with_name`` makes "ID + name" the identity, as in the PBX phonebook import, for
    sources whose ID column repeats (an SAP business partner with several contact persons).
    """
    scalars: dict[str, str] = {}
    phones: list[PhoneIn] | None = None
    emails: list[EmailIn] | None = None
    custom: dict[str, str] | None = None
    tags: tuple[str, ...] | None = None
    for target, idx in row_plan:
        value = text(values[idx])
        if target.kind == "phone":
            phones = (phones or []) + ([PhoneIn(value, target.label)] if value else [])
        elif target.kind == "email":
            emails = (emails or []) + ([EmailIn(value, target.label)] if value else [])
        elif target.kind == "custom":
            custom = {**(custom or {}), target.label: value}
        elif target.kind == "tags":
            tags = tuple(t.strip() for t in value.replace(";", ",").split(",") if t.strip())
        else:
            scalars[target.kind] = value
    if id_with_name and scalars.get("external_id"):
        name = scalars.get("display_name") or f"{scalars.get('first_name', '')} {scalars.get('last_name', '')}"
        scalars["external_id"] += f"|{name.strip()}"
    return _finish(scalars, phones, emails, custom, tags)


def _finish(
    scalars: dict[str, str],
    phones: list[PhoneIn] | None,
    emails: list[EmailIn] | None,
    custom: dict[str, str] | None,
    tags: tuple[str, ...] | None,
) -> ContactRecord | SkippedRecord:
    ext = scalars.pop("external_id", "")
    if not ext:
        return SkippedRecord(None, "the external ID column is empty")
    full = scalars.pop("display_name", None)
    if full is not None and not scalars.get("first_name") and not scalars.get("last_name"):
        scalars["first_name"], scalars["last_name"] = split_name(full)
    if not any(scalars.get(k) for k in ("first_name", "last_name", "company")):
        return SkippedRecord(ext, "no name (the name columns are empty)")
    if scalars.get("contact_type"):
        scalars["contact_type"] = contact_type(scalars["contact_type"])
    return ContactRecord(
        **scalars,
        external_id=ext,
        phones=None if phones is None else tuple(phones),
        emails=None if emails is None else tuple(emails),
        custom=custom,
        tags=tags,
    )


def record_to_dict(record: ContactRecord | SkippedRecord) -> dict[str, Any]:
    """A record as the Import test shows it: only the fields the source provides."""
    if isinstance(record, SkippedRecord):
        return {"external_id": record.external_id, "skipped": record.reason}
    data = asdict(record)
    return {k: (list(v) if isinstance(v, tuple) else v) for k, v in data.items() if v is not None}
