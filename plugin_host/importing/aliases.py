"""Built-in alias map: header spellings (EN/DE/FR/ES/IT, CRM wizard names) to mapping targets."""

from __future__ import annotations

import re

from plugin_host.text import fold

_ALIASES: dict[str, tuple[str, ...]] = {
    "first_name": (
        "first name",
        "firstname",
        "fname",
        "first",
        "given name",
        "givenname",
        "forename",
        "vorname",
        "prénom",
        "nombre",
        "nome",
        "voornaam",
    ),
    "last_name": (
        "last name",
        "lastname",
        "lname",
        "last",
        "surname",
        "family name",
        "familyname",
        "nachname",
        "familienname",
        "nom",
        "nom de famille",
        "apellido",
        "apellidos",
        "cognome",
        "achternaam",
    ),
    "_full_name": ("name", "full name", "display name", "contact name", "anzeigename", "nom complet"),
    "company": (
        "company",
        "company name",
        "organization",
        "organisation",
        "organization name",
        "org",
        "account",
        "account name",
        "firma",
        "unternehmen",
        "société",
        "entreprise",
        "empresa",
        "azienda",
    ),
    "contact_type": ("contact type", "contacttype", "customer type"),
    "title": ("title", "job title", "jobtitle", "position", "role", "job", "fonction", "cargo", "berufsbezeichnung"),
    "org_department": ("department", "dept", "org department", "organization department", "abteilung", "service"),
    "department": ("queue", "assigned queue", "queue name", "warteschlange"),
    "status": ("status", "contact status"),
    "acquisition_source": ("source", "lead source", "acquisition source", "quelle"),
    "preferred_channel": ("preferred channel", "channel"),
    "language": ("language", "lang", "sprache", "langue", "idioma", "lingua"),
    "timezone": ("timezone", "time zone", "tz", "zeitzone"),
    "notes": (
        "notes",
        "note",
        "comment",
        "comments",
        "remarks",
        "description",
        "memo",
        "notizen",
        "notiz",
        "bemerkung",
        "bemerkungen",
        "commentaire",
        "commentaires",
        "notas",
    ),
    "fb_user_id": ("fbuserid", "fb user id", "facebook id", "facebook user id"),
    "external_crm_id": ("external crm id", "crm id"),
    "external_crm_provider": ("external crm provider", "crm provider", "crm"),
    "opt_in_email": ("opt in email", "email opt in", "opted in email", "email optin"),
    "opt_in_sms": ("opt in sms", "sms opt in", "opted in sms", "sms optin"),
    "opt_in_whatsapp": ("opt in whatsapp", "whatsapp opt in", "opted in whatsapp", "whatsapp optin"),
    "visibility": ("visibility", "scope", "sichtbarkeit"),
    "assigned_to": ("assigned to", "owner", "assigned agent", "agent", "assignee"),
    "external_id": ("external id", "id", "contact id", "uid", "externalid"),
    "phone": (
        "phone",
        "phone number",
        "phonenumber",
        "telephone",
        "telephone number",
        "tel",
        "primary phone",
        "number",
        "telefon",
        "telefonnummer",
        "téléphone",
        "teléfono",
        "telefono",
    ),
    "mobile": (
        "mobile",
        "mobile phone",
        "mobile number",
        "cell",
        "cell phone",
        "cellphone",
        "mobil",
        "mobiltelefon",
        "handy",
        "portable",
        "tél. mobile",
        "móvil",
        "cellulare",
    ),
    "phone:work": ("work phone", "business phone", "office phone", "telefon geschäftlich", "tel. dienstlich"),
    "phone:home": ("home phone", "private phone", "telefon privat"),
    "phone:fax": ("fax", "fax number", "business fax", "home fax", "work fax", "telefax"),
    "phone:other": ("other phone", "pager"),
    "phone_label": ("phone label", "phone type", "phonelabel"),
    "email": (
        "email",
        "e-mail",
        "mail",
        "email address",
        "e-mail address",
        "emailaddress",
        "e-mail-adresse",
        "courriel",
        "adresse de messagerie",
        "correo",
        "correo electrónico",
    ),
    "email:business": ("work email", "business email", "office email"),
    "email:private": ("home email", "personal email", "private email"),
    "email:other": ("other email",),
    "email_label": ("email label", "email type", "e-mail type"),
    "_tag": ("tags", "tag", "labels", "categories", "category", "kategorien", "catégories"),
    "_list": ("list", "list name"),
}

_NON_ALNUM = re.compile(r"[\W_]+")
_TRAILING_DIGITS = re.compile(r"\d+$")
# Targets that may be mapped from several numbered columns ("Phone 2", "E-mail 3").
_NUMBERED = frozenset({"phone", "mobile", "email", "phone:work", "phone:home", "phone:fax", "phone:other"})


def header_key(header: str) -> str:
    """Case-, accent-, space- and punctuation-insensitive key: ``"E-mail Address"`` -> ``emailaddress``."""
    return _NON_ALNUM.sub("", fold(header))


ALIAS_MAP: dict[str, str] = {header_key(a): target for target, names in _ALIASES.items() for a in names}
for _target in _ALIASES:  # a target's own name is an alias too, unless a seed spelling claims it
    if not _target.startswith("_") and ":" not in _target:
        ALIAS_MAP.setdefault(header_key(_target), _target)


def alias_target(header: str) -> str | None:
    """The target a header spelling maps to in the built-in alias map, or ``None``."""
    key = header_key(header)
    if key in ALIAS_MAP:
        return ALIAS_MAP[key]
    if key.startswith("cf") and header.lower().startswith("cf:"):
        return "cf:" + header[3:].strip()
    base = _TRAILING_DIGITS.sub("", key)
    target = ALIAS_MAP.get(base)
    return target if target in _NUMBERED else None
