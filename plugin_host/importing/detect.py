"""Format detection: ask every registered ImportFormat how sure it is; the most confident wins."""

from __future__ import annotations

from collections.abc import Sequence

from plugin_host.importing.errors import ImportFileError
from plugin_host.records import ImportFormat


def find_format(formats: Sequence[ImportFormat], name: str) -> ImportFormat:
    """The format registered as ``name`` (ImportFileError listing the known names otherwise)."""
    for fmt in formats:
        if fmt.name == name:
            return fmt
    known = ", ".join(sorted(f.name for f in formats)) or "none"
    raise ImportFileError(f"Unknown import format {name!r}; known formats: {known}.")


def best_format(
    formats: Sequence[ImportFormat], kind: str, header: Sequence[str] | None, sample: str
) -> ImportFormat | None:
    """The format of ``kind`` with the highest confidence (> 0); ties go to the lower ``priority``.

    A format whose ``detect`` raises is treated as "not this format": one broken plugin must
    not stop imports in the other formats.
    """
    scored: list[tuple[int, int, str, ImportFormat]] = []
    for fmt in formats:
        if fmt.kind != kind:
            continue
        try:
            score = int(fmt.detect(header, sample) or 0)
        except Exception:
            score = 0
        if score > 0:
            scored.append((-score, fmt.priority, fmt.name, fmt))
    return min(scored, key=lambda s: s[:3])[3] if scored else None
