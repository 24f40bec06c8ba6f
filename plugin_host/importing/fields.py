"""Mapping targets, label/enum/boolean value parsing, and the generic row -> ContactRecord builder."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache

from plugin_host.importing.aliases import alias_target, header_key
from plugin_host.importing.errors import RowError
from plugin_host.records import (
    ACQUISITION_SOURCES,
    CONTACT_TYPES,
    EMAIL_LABELS,
    PHONE_LABELS,
    STATUSES,
    VISIBILITIES,
    ContactRecord,
)

TEXT_TARGETS = (
    "first_name",
    "last_name",
    "company",
    "title",
    "org_department",
    "preferred_channel",
    "language",
    "timezone",
    "notes",
    "fb_user_id",
    "external_crm_id",
    "external_crm_provider",
    "department",
    "assigned_to",
    "external_id",
)
ENUM_TARGETS: dict[str, tuple[str, ...]] = {
    "contact_type": CONTACT_TYPES,
    "status": STATUSES,
    "acquisition_source": ACQUISITION_SOURCES,
    "visibility": VISIBILITIES,
}
BOOL_TARGETS = ("opt_in_email", "opt_in_sms", "opt_in_whatsapp")
PHONE_TARGETS = ("phone", "mobile", *(f"phone:{label}" for label in PHONE_LABELS))
EMAIL_TARGETS = ("email", *(f"email:{label}" for label in EMAIL_LABELS))
VIRTUAL_TARGETS = ("_tag", "_list", "_full_name")
TARGETS: tuple[str, ...] = (
    "first_name",
    "last_name",
    "_full_name",
    "company",
    "contact_type",
    "title",
    "org_department",
    "status",
    "acquisition_source",
    "preferred_channel",
    "language",
    "timezone",
    "notes",
    "fb_user_id",
    "external_crm_id",
    "external_crm_provider",
    "opt_in_email",
    "opt_in_sms",
    "opt_in_whatsapp",
    "visibility",
    "department",
    "assigned_to",
    *PHONE_TARGETS,
    "phone_label",
    *EMAIL_TARGETS,
    "email_label",
    "external_id",
    "_tag",
    "_list",
)
"""Every fixed target, in the order a mapping dropdown shows them; plus ``cf:<name>``; ``None`` = ignore."""

_ENUM_SYNONYMS = {
    "status": {"dnc": "do_not_contact", "do_not_call": "do_not_contact", "donotcontact": "do_not_contact"},
    "visibility": {"all": "global", "public": "global", "queue": "department", "owner": "private"},
    "contact_type": {"customers": "customer", "leads": "lead"},
    "acquisition_source": {"webform": "web_form", "social": "social_media", "tradeshow": "trade_show"},
}
_TRUE = frozenset({"1", "true", "yes", "y", "x", "on", "ja", "oui", "si", "sí", "opted in", "opt in", "wahr"})
_FALSE = frozenset({"0", "false", "no", "n", "off", "nein", "non", "opted out", "opt out", "falsch"})
_PHONE_LABEL_SYNONYMS = {
    "cell": "mobile",
    "cellular": "mobile",
    "mobilephone": "mobile",
    "iphone": "mobile",
    "handy": "mobile",
    "mobil": "mobile",
    "mobiltelefon": "mobile",
    "portable": "mobile",
    "business": "work",
    "office": "work",
    "main": "work",
    "company": "work",
    "companymain": "work",
    "geschaftlich": "work",
    "bureau": "work",
    "workfax": "fax",
    "homefax": "fax",
    "otherfax": "fax",
    "businessfax": "fax",
    "telefax": "fax",
    "private": "home",
    "personal": "home",
    "privat": "home",
    "domicile": "home",
}
_EMAIL_LABEL_SYNONYMS = {
    "home": "private",
    "personal": "private",
    "privat": "private",
    "work": "business",
    "office": "business",
    "geschaftlich": "business",
    "internet": "other",
}
FORMULA_TRIGGERS = frozenset("=+-@\t\r")


@lru_cache(maxsize=4096)
def phone_label_of(text: str | None, default: str = "other") -> str:
    """Any phone label spelling (``Cell``, ``* Work Fax``, ``_$!<Mobile>!$_``) -> the shared vocabulary.

    Cached: a file repeats a handful of label spellings on every row.
    """
    key = header_key((text or "").replace("_$!<", "").replace(">!$_", ""))
    if not key:
        return default
    return key if key in PHONE_LABELS else _PHONE_LABEL_SYNONYMS.get(key, "other")


@lru_cache(maxsize=4096)
def email_label_of(text: str | None, default: str = "other") -> str:
    """Any e-mail label spelling (``Home``, ``Work``, ``* Other``) -> private/business/other (cached)."""
    key = header_key((text or "").replace("_$!<", "").replace(">!$_", ""))
    if not key:
        return default
    return key if key in EMAIL_LABELS else _EMAIL_LABEL_SYNONYMS.get(key, "other")


def is_target(target: str | None) -> bool:
    """True for ``None`` (ignore), a fixed target, or ``cf:<name>`` with a non-empty name."""
    return target is None or target in TARGETS or (target.startswith("cf:") and bool(target[3:].strip()))


def suggest_mapping(header: Sequence[str]) -> list[str | None]:
    """Targets for each column from the built-in alias map (``None`` = ignore).

    A lone ``name`` column means the full name, except next to a last-name column and no
    first-name column (the PBX layout ``name,last_name``), where it is the first name.
    """
    mapping = [alias_target(h) for h in header]
    if "_full_name" in mapping and "last_name" in mapping and "first_name" not in mapping:
        mapping[mapping.index("_full_name")] = "first_name"
    return mapping


def unneutralise(value: str) -> str:
    """Strip the single quote our exporter puts before a formula-like cell (``'=1+1`` -> ``=1+1``)."""
    if len(value) > 1 and value[0] == "'" and value[1] in FORMULA_TRIGGERS:
        return value[1:]
    return value


def split_full_name(full: str) -> tuple[str | None, str | None]:
    """``"Doe, John"`` and ``"John Doe"`` -> ``("John", "Doe")``; one word is a first name."""
    if "," in full:
        last, _, first = full.partition(",")
        return first.strip() or None, last.strip() or None
    first, _, last = full.strip().rpartition(" ")
    if not first:
        return last or None, None
    return first.strip(), last or None


def parse_enum(field: str, value: str, *, lenient_contact_type: bool = False) -> str:
    """Canonical enum value (``"Do Not Contact"`` -> ``do_not_contact``) or a RowError naming the field."""
    allowed = ENUM_TARGETS[field]
    key = value.strip().lower().replace(" ", "_").replace("-", "_")
    key = _ENUM_SYNONYMS.get(field, {}).get(key, key)
    if key in allowed:
        return key
    if field == "contact_type" and lenient_contact_type:
        return "customer"
    raise RowError(f"{field}: {value!r} is not one of {', '.join(allowed)}", field=field)


def parse_bool(field: str, value: str) -> bool:
    """yes/no, true/false, 1/0, x, ja/nein, oui/non... or a RowError naming the field."""
    key = value.strip().lower()
    if key in _TRUE:
        return True
    if key in _FALSE:
        return False
    raise RowError(f"{field}: {value!r} is not a yes/no value (yes, no, true, false, 1, 0)", field=field)


@dataclass(frozen=True)
class RowOptions:
    """Format-specific reading rules for the generic builder.

    ``default_phone_label`` labels a plain ``phone`` column without a label (the CRM seed
    treats it as the work number); ``multi_value_sep`` splits phone/e-mail/tag cells that
    hold several values (Google's ``" ::: "``); ``primary_mark`` is a label prefix marking
    the primary value (Google's ``"* "``; primaries are listed first); ``drop_marked_tags``
    drops tags carrying that mark (Google system groups such as ``* myContacts``);
    ``null_values`` are cell values meaning "empty" (Outlook's ``0/0/00`` dates);
    ``lenient_contact_type`` turns an unknown contact type into ``customer`` (PBX vendor rule)
    instead of a row error.
    """

    default_phone_label: str = "work"
    default_email_label: str = "other"
    multi_value_sep: str | None = None
    primary_mark: str | None = None
    drop_marked_tags: bool = False
    null_values: frozenset[str] = frozenset()
    lenient_contact_type: bool = False


DEFAULT_OPTIONS = RowOptions()


def make_row_builder(
    header: Sequence[str],
    mapping: Sequence[str | None],
    blank_clears: bool = False,
    options: RowOptions = DEFAULT_OPTIONS,
) -> Callable[[Sequence[str]], ContactRecord]:
    """Compile ``mapping`` once; the returned callable turns one row's cells into a record.

    It raises ``RowError`` naming the column and field for invalid values. Blank cells give
    ``None`` ("not provided"), or ``""``/empty collections when ``blank_clears`` is set.
    """
    from plugin_host.importing.builder import RecordBuilder

    return RecordBuilder(header, mapping, blank_clears, options).build


@lru_cache(maxsize=32)
def _cached_builder(
    header: tuple[str, ...], mapping: tuple[str | None, ...], blank_clears: bool
) -> Callable[[Sequence[str]], ContactRecord]:
    return make_row_builder(header, mapping, blank_clears)


def build_record(
    header: Sequence[str], cells: Sequence[str], mapping: Sequence[str | None], blank_clears: bool = False
) -> ContactRecord:
    """One row -> ContactRecord with the generic rules (see ``make_row_builder``)."""
    return _cached_builder(tuple(header), tuple(mapping), blank_clears)(cells)


__all__ = [
    "BOOL_TARGETS",
    "EMAIL_TARGETS",
    "ENUM_TARGETS",
    "PHONE_TARGETS",
    "TARGETS",
    "TEXT_TARGETS",
    "RowOptions",
    "build_record",
    "email_label_of",
    "is_target",
    "make_row_builder",
    "parse_bool",
    "parse_enum",
    "phone_label_of",
    "split_full_name",
    "suggest_mapping",
    "unneutralise",
]
