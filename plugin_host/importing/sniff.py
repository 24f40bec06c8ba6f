"""Delimiter detection among comma, semicolon, tab and pipe, and header naming."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence

from plugin_host.importing.errors import ImportFileError

DELIMITERS = (",", ";", "\t", "|")
DELIMITER_NAMES = {",": "comma", ";": "semicolon", "\t": "tab", "|": "pipe"}
_ALIASES = {"comma": ",", "semicolon": ";", "tab": "\t", "\\t": "\t", "pipe": "|"}
MAX_SNIFF_ROWS = 50


def parse_delimiter(value: str | None) -> str | None:
    """Accept ``","``, ``"comma"``, ``"\\t"``, ``"tab"``... (``None``/``"auto"`` = detect)."""
    if value is None or value in ("", "auto"):
        return None
    if value in DELIMITERS:
        return value
    if value.lower() in _ALIASES:
        return _ALIASES[value.lower()]
    if len(value) == 1 and value not in '"\r\n':
        return value
    raise ImportFileError(f"Unsupported delimiter {value!r}: use comma, semicolon, tab or pipe.")


def detect_delimiter(sample: str, override: str | None = None) -> str:
    """The delimiter giving the widest header with the most consistent row widths.

    csv.Sniffer is not trusted (quoted lists and short samples fool it, see the reference
    notes): each candidate parses the sample with a real CSV reader, and the candidate whose
    rows agree with the header's width most often, then the widest header, wins. Ties prefer
    the order comma, semicolon, tab, pipe. ``override`` short-circuits detection.
    """
    chosen = parse_delimiter(override)
    if chosen:
        return chosen
    rows_by = {d: _rows(sample, d) for d in DELIMITERS}
    best = max(DELIMITERS, key=lambda d: (*_score(rows_by[d]), -DELIMITERS.index(d)))
    return best if _score(rows_by[best])[1] > 1 else ","


def _rows(sample: str, delimiter: str) -> list[list[str]]:
    complete = sample if len(sample) < 4096 or sample.endswith("\n") else sample[: sample.rfind("\n") + 1]
    rows: list[list[str]] = []
    try:
        for row in csv.reader(io.StringIO(complete), delimiter=delimiter):
            if row:
                rows.append(row)
            if len(rows) > MAX_SNIFF_ROWS:
                break
    except csv.Error:
        pass
    if len(rows) > 1 and complete is not sample:
        rows.pop()  # may be cut inside a quoted multi-line cell
    return rows


def _score(rows: Sequence[Sequence[str]]) -> tuple[float, int]:
    if not rows:
        return 0.0, 0
    width = len(rows[0])
    if width < 2:
        return 0.0, width
    body = rows[1:] or rows
    agree = sum(1 for r in body if len(r) == width or (len(r) > width and not any(r[width:])))
    return agree / len(body), width


def column_names(first_row: Sequence[str], has_header: bool) -> tuple[str, ...]:
    """Header names, or ``Column 1``, ``Column 2``... when the first row is data."""
    if has_header:
        return tuple(_clean_header(c) for c in first_row)
    return tuple(f"Column {i}" for i in range(1, len(first_row) + 1))


def _clean_header(cell: str) -> str:
    return cell.replace("\ufeff", "").strip()
