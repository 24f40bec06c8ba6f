"""vCard 2.1/3.0/4.0 reader: split cards, repair exporter quirks, parse each card with vobject."""

from __future__ import annotations

import quopri
import re
from collections.abc import Iterable, Iterator, Sequence

import vobject

from plugin_host.importing import email_label_of, phone_label_of, split_full_name
from plugin_host.records import ContactRecord, EmailIn, ImportFormat, PhoneIn

NAME = "vcard"
_CARD = re.compile(r"^[ \t]*BEGIN:VCARD[ \t\r]*$(.*?)^[ \t]*END:VCARD[ \t\r]*$", re.I | re.M | re.S)
_LINE_BREAK = re.compile(r"\r*\n|\r")
_BEGIN = re.compile(r"^[ \t]*BEGIN:VCARD", re.I | re.M)
_PROPERTY = re.compile(r"^[A-Za-z0-9.\-]+[;:]")
_FN = re.compile(r"^(?:[\w-]+\.)?FN[;:](?:[^:\r\n]*:)?(.*)$", re.I | re.M)
# Binary or irrelevant properties: dropped before parsing (broken base64 photos and Lotus Notes'
# PROFILE line make vobject reject otherwise readable cards).
_DROP = frozenset({"PHOTO", "LOGO", "SOUND", "KEY", "PROFILE", "AGENT"})
_PHONE_TYPES = (
    ("fax", "fax"),
    ("cell", "mobile"),
    ("iphone", "mobile"),
    ("mobile", "mobile"),
    ("pager", "other"),
    ("work", "work"),
    ("main", "work"),
    ("home", "home"),
)


def detect(header: Sequence[str] | None, sample: str) -> int:
    """100 when the text starts with ``BEGIN:VCARD`` (after blank lines), 60 when it contains one."""
    head = sample.lstrip("\ufeff \t\r\n")[:11].upper()
    if head == "BEGIN:VCARD":
        return 100
    return 60 if _BEGIN.search(sample) else 0


def read_cards(text: str) -> Iterator[tuple[ContactRecord | None, str, str | None]]:
    """Yield ``(record, "card N 'Name'", None)`` or ``(None, ref, why)`` for each card, in file order."""
    position = 0
    n = 0
    for n, match in enumerate(_CARD.finditer(text), 1):
        position = match.end()
        ref = _ref(n, match.group(1))
        try:
            yield _record(match.group(1)), ref, None
        except Exception as exc:  # vobject raises many types; one bad card must not stop the file
            yield None, ref, f"{ref}: cannot be read ({type(exc).__name__}: {_short(exc)})"
    if _BEGIN.search(text, position):
        ref = _ref(n + 1, text[position:])
        yield None, ref, f"{ref}: the card has BEGIN:VCARD but no END:VCARD (file truncated?)"
    elif n == 0:
        yield None, "file", "no BEGIN:VCARD ... END:VCARD card found in the file"


def _ref(n: int, body: str) -> str:
    found = _FN.search(body)
    name = found.group(1).strip() if found else ""
    if name and not re.search(r"=[0-9A-F]{2}", name):
        return f"card {n} {name!r}"
    return f"card {n}"


def _short(exc: Exception) -> str:
    text = str(exc).replace("\r", " ").replace("\n", " ")
    return text[:200] + ("..." if len(text) > 200 else "")


def _record(body: str) -> ContactRecord:
    card = vobject.readOne("BEGIN:VCARD\r\n" + "\r\n".join(clean_lines(body)) + "\r\nEND:VCARD\r\n")
    first, last = _names(card)
    company, department = _org(card)
    return ContactRecord(
        first_name=first,
        last_name=last,
        company=company,
        org_department=department,
        title=_text(card, "title"),
        notes=_notes(card),
        phones=_phones(card) or None,
        emails=_emails(card) or None,
        tags=_tags(card),
        external_id=_text(card, "uid"),
    )


def clean_lines(body: str) -> list[str]:
    """Unfold lines (RFC folding and quoted-printable soft breaks), decode QP, drop binary properties."""
    out: list[str] = []
    soft_break = dropping = False
    for line in _LINE_BREAK.split(body):
        if soft_break:
            out[-1] = out[-1][:-1] + line
        elif line[:1] in (" ", "\t") and (out or dropping):
            if not dropping:
                out[-1] += line[1:]
        elif not line.strip():
            continue
        elif not _PROPERTY.match(line):
            continue  # base64 continuation of a 2.1 PHOTO without indentation, or garbage
        else:
            dropping = _name_of(line) in _DROP
            if not dropping:
                out.append(line)
        soft_break = bool(out) and not dropping and out[-1].endswith("=") and _is_qp(out[-1])
    return [_decode_qp(line) if _is_qp(line) else line for line in out]


def _name_of(line: str) -> str:
    name = re.split(r"[;:]", line, maxsplit=1)[0]
    return name.rsplit(".", 1)[-1].upper()


def _is_qp(line: str) -> bool:
    params = line.split(":", 1)[0].upper()
    return "QUOTED-PRINTABLE" in params


def _decode_qp(line: str) -> str:
    """Decode a quoted-printable value with its CHARSET (fallback cp1252) and drop the params."""
    head, _, value = line.partition(":")
    params = [
        p
        for p in head.split(";")
        if not p.upper().startswith(("ENCODING=", "CHARSET=")) and p.upper() != "QUOTED-PRINTABLE"
    ]
    charset = next((p.split("=", 1)[1] for p in head.split(";") if p.upper().startswith("CHARSET=")), "utf-8")
    raw = quopri.decodestring(value.encode("utf-8"))
    try:
        text = raw.decode(charset.strip('"'))
    except (LookupError, UnicodeDecodeError):
        text = raw.decode("cp1252", "strict")
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\\", "\\\\").replace("\n", "\\n")
    return ";".join(params) + ":" + text


def _text(card: vobject.base.Component, name: str) -> str | None:
    lines = card.contents.get(name)
    if not lines:
        return None
    value = lines[0].value
    value = " ".join(value) if isinstance(value, list) else str(value)
    return value.strip() or None


def _joined(part: object, sep: str = " ") -> str:
    if isinstance(part, list):
        return sep.join(p.strip() for p in part if p and p.strip())
    return str(part or "").strip()


def _names(card: vobject.base.Component) -> tuple[str | None, str | None]:
    n = card.contents.get("n")
    if n and hasattr(n[0].value, "family"):
        first, last = _joined(n[0].value.given) or None, _joined(n[0].value.family) or None
        if first or last:
            return first, last
    full = _text(card, "fn")
    return split_full_name(full) if full else (None, None)


def _org(card: vobject.base.Component) -> tuple[str | None, str | None]:
    lines = card.contents.get("org")
    if not lines:
        return None, None
    value = lines[0].value
    parts = [p for p in (_joined(v, ", ") for v in (value if isinstance(value, list) else [value])) if p]
    return (parts[0] if parts else None), (parts[1] if len(parts) > 1 else None)


def _notes(card: vobject.base.Component) -> str | None:
    notes = [str(line.value).strip() for line in card.contents.get("note", []) if str(line.value).strip()]
    return "\n".join(notes) or None


def _types(line: vobject.base.ContentLine) -> list[str]:
    found: list[str] = [p.lower() for p in line.singletonparams]
    for value in line.params.get("TYPE", []):
        found.extend(v.strip().strip('"').lower() for v in value.split(","))
    return found


def _labels_by_group(card: vobject.base.Component) -> dict[str, str]:
    return {line.group.lower(): str(line.value) for line in card.contents.get("x-ablabel", []) if line.group}


def _ordered(items: Iterable[tuple[bool, object]]) -> list:
    listed = list(items)
    return [v for pref, v in listed if pref] + [v for pref, v in listed if not pref]


def _phones(card: vobject.base.Component) -> tuple[PhoneIn, ...]:
    labels = _labels_by_group(card)
    items = []
    for line in card.contents.get("tel", []):
        number = str(line.value).strip()
        if number.lower().startswith("tel:"):
            number = number[4:].replace(";ext=", " ext. ")
        if number:
            types = _types(line)
            custom = labels.get((line.group or "").lower())
            items.append(("pref" in types or "PREF" in line.params, PhoneIn(number, _phone_label(types, custom))))
    return tuple(_ordered(items))


def _phone_label(types: list[str], custom: str | None) -> str:
    if custom:
        return phone_label_of(custom)
    for token, label in _PHONE_TYPES:
        if token in types:
            return label
    return "other"


def _emails(card: vobject.base.Component) -> tuple[EmailIn, ...]:
    labels = _labels_by_group(card)
    items = []
    for line in card.contents.get("email", []):
        address = str(line.value).strip()
        if address:
            types = _types(line)
            custom = labels.get((line.group or "").lower())
            label = email_label_of(custom) if custom else _email_label(types)
            items.append(("pref" in types or "PREF" in line.params, EmailIn(address, label)))
    return tuple(_ordered(items))


def _email_label(types: list[str]) -> str:
    if "work" in types:
        return "business"
    if "home" in types:
        return "private"
    return "other"


def _tags(card: vobject.base.Component) -> tuple[str, ...] | None:
    tags: list[str] = []
    for line in card.contents.get("categories", []):
        values = line.value if isinstance(line.value, list) else str(line.value).split(",")
        tags.extend(v.strip() for v in values if v.strip() and v.strip() not in tags)
    return tuple(tags) or None


def import_format() -> ImportFormat:
    """The registered format record."""
    return ImportFormat(
        name=NAME,
        label="vCard (.vcf)",
        kind="text",
        detect=detect,
        read_text=read_cards,
        extensions=(".vcf", ".vcard"),
        priority=10,
    )
