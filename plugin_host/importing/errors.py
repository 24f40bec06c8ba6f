"""Import errors: file-level (nothing is imported) and row-level (that row is skipped)."""

from __future__ import annotations


class ImportFileError(Exception):
    """The file as a whole cannot be read (empty, binary, undecodable, unknown header...)."""


class RowError(ValueError):
    """One row or card cannot become a contact; the message names the column/field and why."""

    def __init__(self, message: str, column: str | None = None, field: str | None = None) -> None:
        super().__init__(message)
        self.column = column
        self.field = field
