"""Google Contacts CSV: the current format (Phone 1 - Label/Value) and the older Given/Family Name one."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

from plugin_host.importing import RowOptions, make_row_builder
from plugin_host.importing.aliases import header_key
from plugin_host.records import ContactRecord, ImportFormat

NAME = "google_csv"
_GROUP = re.compile(r"^(phone|email)\d+(label|type|value)$")
_FIELDS = {
    "firstname": "first_name",
    "givenname": "first_name",
    "lastname": "last_name",
    "familyname": "last_name",
    "name": "_full_name",
    "organizationname": "company",
    "organization1name": "company",
    "organizationtitle": "title",
    "organization1title": "title",
    "organizationdepartment": "org_department",
    "organization1department": "org_department",
    "notes": "notes",
    "labels": "_tag",
    "groupmembership": "_tag",
}
_SIGNATURE = frozenset(
    {
        "givenname",
        "familyname",
        "groupmembership",
        "organizationname",
        "organization1name",
        "fileas",
        "labels",
        "phoneticfirstname",
        "additionalname",
        "yominame",
    }
)
# Several values share a cell joined by " ::: "; a label starting with "* " marks the primary value
# and a group starting with "* " is a Google system group (myContacts, starred), not a user tag.
OPTIONS = RowOptions(default_phone_label="other", multi_value_sep=" ::: ", primary_mark="* ", drop_marked_tags=True)


def detect(header: Sequence[str] | None, sample: str) -> int:
    """95 with numbered Phone/E-mail value columns plus a Google name column; 85 with either."""
    if not header:
        return 0
    keys = [header_key(h) for h in header]
    groups = sum(1 for k in keys if _GROUP.match(k))
    named = len(set(keys) & _SIGNATURE)
    if groups and named:
        return 95
    return 85 if groups >= 2 or named >= 2 else 0


def suggest_mapping(header: Sequence[str]) -> list[str | None]:
    """Google columns to targets; ``Phone N - Label`` labels the ``Phone N - Value`` column."""
    return [_target(header_key(h)) for h in header]


def _target(key: str) -> str | None:
    match = _GROUP.match(key)
    if match:
        kind, part = match.groups()
        return kind if part == "value" else f"{kind}_label"
    return _FIELDS.get(key)


def row_builder(
    header: Sequence[str], mapping: Sequence[str | None], blank_clears: bool
) -> Callable[[Sequence[str]], ContactRecord]:
    """The generic builder with Google's multi-value and primary-mark conventions."""
    return make_row_builder(header, mapping, blank_clears, OPTIONS)


def import_format() -> ImportFormat:
    """The registered format record."""
    return ImportFormat(
        name=NAME,
        label="Google Contacts CSV",
        kind="csv",
        detect=detect,
        suggest_mapping=suggest_mapping,
        row_builder=row_builder,
        extensions=(".csv",),
        priority=20,
    )
