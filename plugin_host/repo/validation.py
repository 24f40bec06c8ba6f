"""Validation and normalisation of contact input (API, admin form, import rows)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from plugin_host.records import (
    ACQUISITION_SOURCES,
    CONTACT_TYPES,
    EMAIL_LABELS,
    PHONE_LABELS,
    STATUSES,
    VISIBILITIES,
)
from plugin_host.repo.errors import ValidationError

EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
CHANNELS = ("phone", "email", "sms", "whatsapp", "chat", "facebook")
TEXT_FIELDS = {
    "first_name": 200, "last_name": 200, "company": 200, "title": 200, "org_department": 200,
    "language": 35, "timezone": 64, "notes": 20000, "fb_user_id": 64, "external_crm_id": 200,
    "external_crm_provider": 100,
}
ENUMS = {
    "status": STATUSES, "contact_type": CONTACT_TYPES, "visibility": VISIBILITIES,
    "acquisition_source": ACQUISITION_SOURCES, "preferred_channel": CHANNELS,
}
BOOLS = ("opt_in_email", "opt_in_sms", "opt_in_whatsapp")
INTS = ("account_id", "department_id", "owner_id")
KNOWN = {*TEXT_FIELDS, *ENUMS, *BOOLS, *INTS, "phones", "emails", "tags", "custom"}


class _Errors:
    def __init__(self) -> None:
        self.errors: dict[str, list[str]] = {}

    def add(self, field: str, msg: str) -> None:
        self.errors.setdefault(field, []).append(msg)


def _text(e: _Errors, name: str, value: Any, limit: int) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        e.add(name, "must be text")
        return None
    value = value.strip()
    if len(value) > limit:
        e.add(name, f"is longer than {limit} characters")
    return value


def _phones(e: _Errors, value: Any) -> list[dict[str, str]]:
    if not isinstance(value, list):
        e.add("phones", "must be a list of {number, label}")
        return []
    out = []
    for i, item in enumerate(value):
        if isinstance(item, str):
            item = {"number": item}
        number = str(item.get("number") or "").strip() if isinstance(item, Mapping) else ""
        if not number:
            e.add(f"phones[{i}].number", "is required")
            continue
        label = (item.get("label") or "other").strip().lower()
        if label not in PHONE_LABELS:
            e.add(f"phones[{i}].label", f"{label!r} is not one of {', '.join(PHONE_LABELS)}")
        out.append({"number": number[:100], "label": label})
    return out


def _emails(e: _Errors, value: Any) -> list[dict[str, str]]:
    if not isinstance(value, list):
        e.add("emails", "must be a list of {address, label}")
        return []
    out = []
    for i, item in enumerate(value):
        if isinstance(item, str):
            item = {"address": item}
        address = str(item.get("address") or "").strip() if isinstance(item, Mapping) else ""
        if not EMAIL_RE.match(address):
            e.add(f"emails[{i}].address", f"{address!r} is not an e-mail address")
            continue
        label = (item.get("label") or "other").strip().lower()
        if label not in EMAIL_LABELS:
            e.add(f"emails[{i}].label", f"{label!r} is not one of {', '.join(EMAIL_LABELS)}")
        out.append({"address": address[:254], "label": label})
    return out


def _tags(e: _Errors, value: Any) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(t, str) for t in value):
        e.add("tags", "must be a list of tag names")
        return []
    seen: dict[str, str] = {}
    for t in value:
        t = t.strip()
        if t and len(t) <= 100:
            seen.setdefault(t.casefold(), t)
        elif len(t) > 100:
            e.add("tags", f"{t[:20]!r}... is longer than 100 characters")
    return list(seen.values())


def validate_contact(data: Mapping[str, Any], *, partial: bool) -> dict[str, Any]:
    """Check ``data`` and return the normalised values; raise ValidationError naming each bad field."""
    e = _Errors()
    out: dict[str, Any] = {}
    for name in data:
        if name not in KNOWN:
            e.add(name, "is not a contact field")
    for name, limit in TEXT_FIELDS.items():
        if name in data:
            out[name] = _text(e, name, data[name], limit)
    for name, allowed in ENUMS.items():
        if name in data and data[name] is not None:
            v = str(data[name]).strip().lower()
            if v not in allowed:
                e.add(name, f"{data[name]!r} is not one of {', '.join(allowed)}")
            out[name] = v
    for name in BOOLS:
        if name in data:
            if not isinstance(data[name], bool):
                e.add(name, "must be true or false")
            out[name] = bool(data[name])
    for name in INTS:
        if name in data:
            v = data[name]
            if v is not None and (isinstance(v, bool) or not isinstance(v, int)):
                e.add(name, "must be a whole number or null")
            out[name] = v
    if "phones" in data:
        out["phones"] = _phones(e, data["phones"])
    if "emails" in data:
        out["emails"] = _emails(e, data["emails"])
    if "tags" in data:
        out["tags"] = _tags(e, data["tags"])
    if "custom" in data:
        if not isinstance(data["custom"], Mapping):
            e.add("custom", "must be an object of field name -> value")
        else:
            out["custom"] = dict(data["custom"])
    if not partial and not any(out.get(k) for k in ("first_name", "last_name", "company")):
        e.add("first_name", "is required (a contact needs a first name, last name or company)")
    if e.errors:
        raise ValidationError(e.errors)
    return out
