"""Derived columns and child rows (phones, e-mails) computed from contact values."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from functools import lru_cache
from typing import Any

from plugin_host.phones import normalise
from plugin_host.text import fold, sort_key

# Names and companies repeat a lot across an import: fold each distinct one once.
_fold = lru_cache(maxsize=100_000)(fold)
_sort_key = lru_cache(maxsize=100_000)(sort_key)


def display_name(first: str | None, last: str | None, company: str | None) -> str:
    name = " ".join(p for p in (first, last) if p)
    return name or company or ""


def phone_rows(phones: Iterable[Mapping[str, str]], region: str) -> list[dict[str, Any]]:
    rows = []
    for pos, ph in enumerate(phones):
        n = normalise(ph["number"], region)
        rows.append({"position": pos, "label": ph.get("label") or "other", "raw": n.raw[:100], "e164": n.e164,
                     "national": n.national, "extension": n.extension, "kind": n.kind,
                     "digits_rev": n.digits_rev[:40]})
    return rows


def email_rows(emails: Iterable[Mapping[str, str]]) -> list[dict[str, Any]]:
    return [{"position": pos, "label": em.get("label") or "other", "address": em["address"],
             "address_key": em["address"].strip().casefold()} for pos, em in enumerate(emails)]


def derived(values: Mapping[str, Any], phones: list[dict[str, Any]], emails: list[dict[str, Any]]) -> dict[str, Any]:
    """Search keys: folded names for range queries and one folded text for substring search."""
    first, last, company = values.get("first_name") or "", values.get("last_name") or "", values.get("company") or ""
    ff, fl, fc = _fold(first), _fold(last), _fold(company)
    parts = [ff, fl, fc]
    parts += [e["address_key"] for e in emails]
    parts += [p["digits_rev"][::-1] for p in phones if p["digits_rev"]]
    parts += [p["national"] for p in phones if p.get("national")]
    return {
        "first_key": ff[:200],
        "last_key": fl[:200],
        "company_key": fc[:200],
        "sort_key": _sort_key(display_name(first, last, company)),
        "search_text": " ".join(p for p in parts if p),
    }
