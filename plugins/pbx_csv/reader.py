"""PBX CSV: the vendor's exact import layout (name,last_name,company,contact_type,phone,...)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace

from plugin_host.importing import RowOptions, make_row_builder
from plugin_host.importing.export import PBX_HEADER
from plugin_host.records import ContactRecord, ImportFormat

NAME = "pbx_csv"
MAPPING: dict[str, str] = {
    "name": "first_name",
    "last_name": "last_name",
    "company": "company",
    "contact_type": "contact_type",
    "phone": "phone",
    "phone_label": "phone_label",
    "email": "email",
    "email_label": "email_label",
    "fbuserid": "fb_user_id",
    "notes": "notes",
}
# Vendor rules: an unknown or absent label is "other", an unknown contact type is "customer".
OPTIONS = RowOptions(default_phone_label="other", default_email_label="other", lenient_contact_type=True)


def detect(header: Sequence[str] | None, sample: str) -> int:
    """100 for the exact header, 90 when the same columns come in another order or case."""
    if not header:
        return 0
    if tuple(header) == PBX_HEADER:
        return 100
    names = {h.strip().lower() for h in header}
    return 90 if names == set(MAPPING) else 0


def suggest_mapping(header: Sequence[str]) -> list[str | None]:
    """Each PBX column to its target; anything else is ignored."""
    return [MAPPING.get(h.strip().lower()) for h in header]


def row_builder(
    header: Sequence[str], mapping: Sequence[str | None], blank_clears: bool
) -> Callable[[Sequence[str]], ContactRecord]:
    """The generic builder with the vendor's defaults."""
    return make_row_builder(header, mapping, blank_clears, OPTIONS)


def merge_rows(previous: ContactRecord, current: ContactRecord) -> ContactRecord | None:
    """Fold a continuation row (same name/company/type, no notes/fbUserId) into the contact before it.

    This is how ``iter_pbx_csv`` writes a contact's extra phones and e-mails. Two different
    people with the same name and company on consecutive rows, the second without notes or
    fbUserId, would be merged too: the layout has no id column to tell them apart.
    """
    same = (previous.first_name, previous.last_name, previous.company, previous.contact_type) == (
        current.first_name,
        current.last_name,
        current.company,
        current.contact_type,
    )
    if not same or current.notes or current.fb_user_id or not (current.phones or current.emails):
        return None
    phones = _union(previous.phones, current.phones)
    emails = _union(previous.emails, current.emails)
    return replace(previous, phones=phones, emails=emails)


def _union(a: tuple | None, b: tuple | None) -> tuple | None:
    if not a and not b:
        return a if a is not None else b
    return tuple(dict.fromkeys((a or ()) + (b or ())))


def import_format() -> ImportFormat:
    """The registered format record."""
    return ImportFormat(
        name=NAME,
        label="PBX contacts CSV",
        kind="csv",
        detect=detect,
        suggest_mapping=suggest_mapping,
        row_builder=row_builder,
        merge_rows=merge_rows,
        extensions=(".csv",),
        priority=10,
    )
