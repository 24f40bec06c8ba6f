"""Search keys: names folded in Python (casefold, accents stripped) for index range queries."""

from __future__ import annotations

import unicodedata


def fold(text: str | None) -> str:
    """Case- and accent-insensitive key: ``"Müller"`` and ``"MULLER"`` both give ``"muller"``."""
    if not text:
        return ""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(c for c in decomposed if not unicodedata.combining(c)).strip()


def prefix_upper_bound(prefix: str) -> str:
    """The smallest string greater than every string starting with ``prefix``."""
    return prefix + "\U0010ffff"


def escape_like(text: str) -> str:
    """Escape LIKE wildcards; use with ``escape='\\\\'``."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
