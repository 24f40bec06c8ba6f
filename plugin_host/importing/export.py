"""Writers: PBX-format CSV (formula-safe, re-importable) and vCard 3.0, streamed from records."""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator
from typing import TextIO

import vobject

from plugin_host.importing.fields import FORMULA_TRIGGERS
from plugin_host.records import ContactRecord

PBX_HEADER = (
    "name",
    "last_name",
    "company",
    "contact_type",
    "phone",
    "phone_label",
    "email",
    "email_label",
    "fbUserId",
    "notes",
)
_PHONE_CHARS = frozenset("0123456789 +-().#*/xXet")
_VCARD_PHONE_TYPES = {
    "mobile": ["CELL"],
    "work": ["WORK", "VOICE"],
    "home": ["HOME", "VOICE"],
    "fax": ["FAX"],
    "other": ["VOICE"],
}
_VCARD_EMAIL_TYPES = {"private": ["INTERNET", "HOME"], "business": ["INTERNET", "WORK"], "other": ["INTERNET"]}


def neutralise(value: str | None, phone: bool = False) -> str:
    """Prefix ``'`` to a cell a spreadsheet would run as a formula (``=``, ``+``, ``-``, ``@``, tab, CR).

    Phone numbers made only of dialling characters (``+14085550101``, ``-``, spaces,
    brackets, ``x``/``ext``) stay as they are: no function call can hide in them, and the
    PBX reads them as numbers. The importer strips the quote again (``fields.unneutralise``).
    """
    if not value:
        return ""
    if value[0] not in FORMULA_TRIGGERS:
        return value
    if phone and _PHONE_CHARS.issuperset(value):
        return value
    return "'" + value


class _Line:
    """A write target that hands back what csv.writer wrote for one row."""

    def __init__(self) -> None:
        self.text = ""

    def write(self, text: str) -> int:
        self.text = text
        return len(text)


def iter_pbx_csv(records: Iterable[ContactRecord], header: bool = True) -> Iterator[str]:
    """CSV lines (CRLF, quoted where needed) in the exact PBX import layout.

    One row per contact with its first phone and e-mail. A contact with more phones or
    e-mails gets continuation rows right after it: same name, last name, company and
    contact type, the next phone/e-mail, and empty ``fbUserId``/``notes``. The PBX CSV
    format folds such rows back into one contact on import, so export -> import round-trips.
    """
    line = _Line()
    writer = csv.writer(line, lineterminator="\r\n")
    if header:
        writer.writerow(PBX_HEADER)
        yield line.text
    for record in records:
        for row in _pbx_rows(record):
            writer.writerow(row)
            yield line.text


def write_pbx_csv(records: Iterable[ContactRecord], fp: TextIO) -> int:
    """Write the PBX CSV to ``fp`` (open it with ``newline=""``); returns the number of rows."""
    rows = -1
    for text in iter_pbx_csv(records):
        fp.write(text)
        rows += 1
    return rows


def _pbx_rows(record: ContactRecord) -> Iterator[list[str]]:
    phones = record.phones or ()
    emails = record.emails or ()
    ident = [
        neutralise(record.first_name),
        neutralise(record.last_name),
        neutralise(record.company),
        record.contact_type or "",
    ]
    for k in range(max(1, len(phones), len(emails))):
        phone = phones[k] if k < len(phones) else None
        email = emails[k] if k < len(emails) else None
        extra = [neutralise(record.fb_user_id), neutralise(record.notes)] if k == 0 else ["", ""]
        yield [
            *ident,
            neutralise(phone.number, phone=True) if phone else "",
            phone.label if phone else "",
            neutralise(email.address) if email else "",
            email.label if email else "",
            *extra,
        ]


def iter_vcards(records: Iterable[ContactRecord]) -> Iterator[str]:
    """One vCard 3.0 text per record (CRLF lines, folded by vobject)."""
    for record in records:
        yield _vcard(record).serialize()


def write_vcards(records: Iterable[ContactRecord], fp: TextIO) -> int:
    """Write vCard 3.0 cards to ``fp``; returns the number of cards."""
    cards = 0
    for text in iter_vcards(records):
        fp.write(text)
        cards += 1
    return cards


def _vcard(record: ContactRecord) -> vobject.base.Component:
    card = vobject.vCard()
    card.add("n").value = vobject.vcard.Name(family=record.last_name or "", given=record.first_name or "")
    full = " ".join(p for p in (record.first_name, record.last_name) if p)
    card.add("fn").value = full or record.company or _first_email(record) or "Unnamed"
    if record.company or record.org_department:
        org = [record.company or ""] + ([record.org_department] if record.org_department else [])
        card.add("org").value = org
    _add_text(card, "title", record.title)
    _add_text(card, "note", record.notes)
    _add_text(card, "uid", record.external_id)
    for phone in record.phones or ():
        tel = card.add("tel")
        tel.value = phone.number
        tel.params["TYPE"] = _VCARD_PHONE_TYPES.get(phone.label, ["VOICE"])
    for email in record.emails or ():
        mail = card.add("email")
        mail.value = email.address
        mail.params["TYPE"] = _VCARD_EMAIL_TYPES.get(email.label, ["INTERNET"])
    if record.tags:
        card.add("categories").value = list(record.tags)
    return card


def _add_text(card: vobject.base.Component, name: str, value: str | None) -> None:
    if value:
        card.add(name).value = value


def _first_email(record: ContactRecord) -> str | None:
    return record.emails[0].address if record.emails else None
