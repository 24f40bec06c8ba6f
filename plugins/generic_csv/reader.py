"""Generic CSV: any spreadsheet export, columns mapped through the built-in alias map."""

from __future__ import annotations

from collections.abc import Sequence

from plugin_host.importing import suggest_mapping
from plugin_host.records import ImportFormat

NAME = "generic_csv"


def detect(header: Sequence[str] | None, sample: str) -> int:
    """A low confidence (10..40) growing with the number of columns the alias map knows.

    Specific formats (PBX, Outlook, Google) score 80+ and win whenever they match.
    """
    if not header:
        return 0
    known = sum(1 for target in suggest_mapping(header) if target)
    return min(40, 10 + 5 * known) if known else 0


def import_format() -> ImportFormat:
    """The registered format record (rows go through the host's generic builder)."""
    return ImportFormat(
        name=NAME,
        label="CSV (any columns)",
        kind="csv",
        detect=detect,
        suggest_mapping=suggest_mapping,
        extensions=(".csv", ".txt", ".tsv"),
        priority=1000,
    )
