"""Search keys: names folded in Python (casefold, accents stripped) for index range queries."""

from __future__ import annotations

import unicodedata


def fold(text: str | None) -> str:
    """Case- and accent-insensitive key: ``"Müller"`` and ``"MULLER"`` both give ``"muller"``."""
    if not text:
        return ""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(c for c in decomposed if not unicodedata.combining(c)).strip()


AFTER_Z = "{"  # the character after "z": leads the sort_key of names without a letter a–z (A–Z "#")


def sort_key(display: str) -> str:
    """Name-order key: the folded display name. Names that do not start with a letter a–z (digits,
    symbols, or no name at all) get a ``{`` in front, so they sort after z, where the A–Z bar puts
    ``#``. Other scripts already sort after z."""
    key = fold(display)
    return key[:400] if key >= "a" else (AFTER_Z + key)[:400]


def sort_prefix(key: str) -> str:
    """The ``sort_key`` prefix for a folded search key (see :func:`sort_key`)."""
    return key if key >= "a" else AFTER_Z + key


def prefix_upper_bound(prefix: str) -> str:
    """The smallest string greater than every string starting with ``prefix``."""
    return prefix + "\U0010ffff"


def escape_like(text: str) -> str:
    """Escape LIKE wildcards; use with ``escape='\\\\'``."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
