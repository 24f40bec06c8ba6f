"""Outlook CSV: desktop "Export to CSV" (English, German, French), Outlook.com, Windows Live Mail."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from plugin_host.importing import RowOptions, make_row_builder
from plugin_host.importing.aliases import header_key
from plugin_host.records import ContactRecord, ImportFormat

NAME = "outlook_csv"

# Outlook writes headers in the UI language and sorts the tail alphabetically in that language,
# so columns are matched by localized name, never by position. Each phone column carries its label.
_PHONES = {
    "work": (
        "Business Phone",
        "Business Phone 2",
        "Company Main Phone",
        "Telefon geschäftlich",
        "Telefon geschäftlich 2",
        "Telefon Firma",
        "Téléphone (bureau)",
        "Téléphone 2 (bureau)",
        "Téléphone société",
    ),
    "home": (
        "Home Phone",
        "Home Phone 2",
        "Telefon privat",
        "Telefon privat 2",
        "Téléphone (domicile)",
        "Téléphone 2 (domicile)",
    ),
    "mobile": (
        "Mobile Phone",
        "Car Phone",
        "Mobiltelefon",
        "Mobiltelefon 2",
        "Autotelefon",
        "Tél. mobile",
        "Téléphone (voiture)",
    ),
    "fax": (
        "Business Fax",
        "Home Fax",
        "Other Fax",
        "Fax geschäftlich",
        "Fax privat",
        "Weiteres Fax",
        "Télécopie (bureau)",
        "Télécopie (domicile)",
        "Télécopie (autre)",
    ),
    "other": (
        "Assistant's Phone",
        "Callback",
        "ISDN",
        "Other Phone",
        "Pager",
        "Primary Phone",
        "Radio Phone",
        "TTY/TDD Phone",
        "Telex",
        "Telefon Assistent",
        "Rückmeldung",
        "Weiteres Telefon",
        "Haupttelefon",
        "Telefon für Hörbehinderte",
        "Téléphone de l'assistant(e)",
        "Rappel",
        "RNIS",
        "Téléphone (autre)",
        "Récepteur de radiomessagerie",
        "Téléphone principal",
        "Radiotéléphone",
        "Téléphone TDD/TTY",
        "Télex",
    ),
}
_FIELDS = {
    "first_name": ("First Name", "Vorname", "Prénom"),
    "last_name": ("Last Name", "Nachname", "Nom"),
    "_full_name": ("Name",),
    "company": ("Company", "Firma", "Société"),
    "org_department": ("Department", "Abteilung", "Service"),
    "title": ("Job Title", "Position", "Fonction"),
    "notes": ("Notes", "Notizen"),
    "_tag": ("Categories", "Kategorien", "Catégories"),
    "language": ("Language", "Sprache", "Langue"),
    "email": (
        "E-mail Address",
        "E-mail 2 Address",
        "E-mail 3 Address",
        "E-Mail-Adresse",
        "E-Mail 2: Adresse",
        "E-Mail 3: Adresse",
        "Adresse de messagerie",
        "Adresse de messagerie 2",
        "Adresse de messagerie 3",
    ),
}
_SIGNATURE_EXTRA = (
    "E-mail Type",
    "E-mail Display Name",
    "Business Street",
    "Business City",
    "Business Postal Code",
    "Business Country/Region",
    "Home Street",
    "Home City",
    "Home Country/Region",
    "Office Location",
    "IMAddress",
    "Given Yomi",
    "Surname Yomi",
    "E-Mail-Typ",
    "E-Mail: Angezeigter Name",
    "Straße geschäftlich",
    "Ort geschäftlich",
    "Postleitzahl geschäftlich",
    "Land/Region geschäftlich",
    "Straße privat",
    "Ort privat",
    "Postleitzahl privat",
    "Bundesland privat",
    "Land/Region privat",
    "Type de messagerie",
    "Rue (bureau)",
    "Ville (bureau)",
    "Code postal (bureau)",
    "Rue (domicile)",
    "Ville (domicile)",
    "Code postal (domicile)",
)

MAPPING: dict[str, str] = {header_key(h): f"phone:{label}" for label, hs in _PHONES.items() for h in hs}
MAPPING.update({header_key(h): target for target, hs in _FIELDS.items() for h in hs})
_GENERIC_NAMES = {
    header_key(h)
    for target in ("first_name", "last_name", "_full_name", "company", "org_department", "notes", "language")
    for h in _FIELDS[target]
}
SIGNATURE = frozenset(
    ({k for k in MAPPING if k not in _GENERIC_NAMES} | {header_key(h) for h in _SIGNATURE_EXTRA})
    - {header_key(h) for h in ("Pager", "ISDN", "Position", "Service", "Name")}
)
OPTIONS = RowOptions(null_values=frozenset({"0/0/00", "0.0.00", "00.00.00", "0/0/0000", "00.00.0000"}))


def detect(header: Sequence[str] | None, sample: str) -> int:
    """90 with three or more Outlook-specific column names, 50 with two."""
    if not header:
        return 0
    hits = len({header_key(h) for h in header} & SIGNATURE)
    return 90 if hits >= 3 else 50 if hits == 2 else 0


def suggest_mapping(header: Sequence[str]) -> list[str | None]:
    """Localized Outlook names to targets; every other column (addresses, dates...) is ignored."""
    return [MAPPING.get(header_key(h)) for h in header]


def row_builder(
    header: Sequence[str], mapping: Sequence[str | None], blank_clears: bool
) -> Callable[[Sequence[str]], ContactRecord]:
    """The generic builder, treating Outlook's empty dates (``0/0/00``, ``0.0.00``) as blank."""
    return make_row_builder(header, mapping, blank_clears, OPTIONS)


def import_format() -> ImportFormat:
    """The registered format record."""
    return ImportFormat(
        name=NAME,
        label="Outlook / Outlook.com / Windows Live Mail CSV",
        kind="csv",
        detect=detect,
        suggest_mapping=suggest_mapping,
        row_builder=row_builder,
        extensions=(".csv",),
        priority=20,
    )
