"""The import pipeline's reading side: open_import(bytes) -> ParsedImport (preview, streamed rows)."""

from __future__ import annotations

import csv
import itertools
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass
from typing import Any, BinaryIO, NamedTuple

from plugin_host.importing.decode import DecodedSource, decode
from plugin_host.importing.detect import best_format, find_format
from plugin_host.importing.errors import ImportFileError, RowError
from plugin_host.importing.fields import is_target, make_row_builder, suggest_mapping
from plugin_host.importing.sniff import DELIMITER_NAMES, column_names, detect_delimiter
from plugin_host.records import ContactRecord, ImportFormat

DEFAULT_MAX_CELL_CHARS = 4 * 1024 * 1024
TEXT_HEADER = ("Card", "Name", "Company", "Phones", "E-mails")
_IDENTITY_TARGETS = frozenset(
    {"first_name", "last_name", "_full_name", "company", "external_id", "external_crm_id", "email", "phone", "mobile"}
)


class ImportRow(NamedTuple):
    """One data row: its spreadsheet row number (header = 1), raw cells, and a record or an error."""

    row_number: int
    cells: Sequence[str]
    record: ContactRecord | None
    error: str | None


@dataclass(frozen=True)
class ColumnPreview:
    """A column as the mapping step shows it: name, sample values, the target in effect."""

    index: int
    name: str
    samples: tuple[str, ...]
    target: str | None


@dataclass(frozen=True)
class Preview:
    """What the upload/mapping steps need: detected settings, columns, sample rows, warnings."""

    format: str
    format_label: str
    encoding: str
    delimiter: str | None
    delimiter_name: str | None
    has_header: bool
    header: tuple[str, ...]
    columns: tuple[ColumnPreview, ...]
    rows: tuple[ImportRow, ...]
    warnings: tuple[str, ...]

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form (rows as dicts; records as plain dicts)."""
        data = asdict(self)
        data["rows"] = [
            {
                "row_number": r.row_number,
                "cells": list(r.cells),
                "error": r.error,
                "record": asdict(r.record) if r.record else None,
            }
            for r in self.rows
        ]
        return data


class ParsedImport:
    """A decoded, format-detected file whose rows are read lazily by ``iter_rows()``."""

    def __init__(
        self,
        source: DecodedSource,
        fmt: ImportFormat,
        *,
        delimiter: str | None,
        has_header: bool,
        header: tuple[str, ...],
        mapping: tuple[str | None, ...],
        blank_clears: bool,
        max_cell_chars: int,
    ) -> None:
        self.source = source
        self.format_def = fmt
        self.format = fmt.name
        self.encoding = source.encoding
        self.delimiter = delimiter
        self.has_header = has_header
        self.header = header
        self.mapping = mapping
        self.blank_clears = blank_clears
        self.max_cell_chars = max_cell_chars
        self.warnings = list(source.warnings)

    @property
    def is_text(self) -> bool:
        return self.format_def.kind == "text"

    def mapping_problem(self) -> str | None:
        """Why the mapping cannot import anything (``None`` when it can)."""
        if self.is_text:
            return None
        if not any(t in _IDENTITY_TARGETS or (t or "").startswith(("phone:", "email:")) for t in self.mapping):
            names = ", ".join(repr(h) for h in self.header[:12]) + (", ..." if len(self.header) > 12 else "")
            return (
                f"No column is mapped to a name, company, phone, e-mail or id: the header ({names}) "
                "matches no known format or field. Map the columns by hand."
            )
        return None

    def preview(self, n: int = 5) -> Preview:
        """Headers, up to ``n`` sample values per column, targets in effect, the first ``n`` rows."""
        rows = tuple(itertools.islice(self._rows(check=False), n))
        samples = [
            tuple(r.cells[i] for r in rows if i < len(r.cells) and r.cells[i].strip()) for i in range(len(self.header))
        ]
        columns = tuple(
            ColumnPreview(i, h, samples[i], None if self.is_text else self.mapping[i])
            for i, h in enumerate(self.header)
        )
        problem = self.mapping_problem()
        return Preview(
            self.format,
            self.format_def.label,
            self.encoding,
            self.delimiter,
            DELIMITER_NAMES.get(self.delimiter or ""),
            self.has_header,
            self.header,
            columns,
            rows,
            tuple(self.warnings + ([problem] if problem else [])),
        )

    def iter_rows(self) -> Iterator[ImportRow]:
        """Stream rows as ``(row_number, cells, record_or_None, error_or_None)``.

        Raises ``ImportFileError`` before the first row when the mapping cannot import
        anything, and mid-stream for structural damage (a cell above ``max_cell_chars``,
        usually an unbalanced quote). Row problems never raise: they come back as errors.
        """
        return self._rows(check=True)

    def _rows(self, check: bool) -> Iterator[ImportRow]:
        if check and (problem := self.mapping_problem()):
            raise ImportFileError(problem)
        rows = self._text_rows() if self.is_text else self._csv_rows(check)
        merge = self.format_def.merge_rows
        return _merged(rows, merge) if merge else rows

    def _text_rows(self) -> Iterator[ImportRow]:
        read = self.format_def.read_text
        if read is None:
            raise ImportFileError(f"Format {self.format!r} has no text reader.")
        with self.source.open_text() as fp:
            text = fp.read()
        for n, (record, ref, error) in enumerate(read(text), 1):
            if record is not None and error is None:
                error = _nothing_to_import(record)
            cells = _summary(ref, record)
            yield ImportRow(n, cells, record if error is None else None, error)

    def _csv_rows(self, check: bool) -> Iterator[ImportRow]:
        build = self._builder() if check or not self.mapping_problem() else None
        csv.field_size_limit(self.max_cell_chars)
        with self.source.open_text() as fp:
            reader = csv.reader(fp, delimiter=self.delimiter or ",")
            row_number = 0
            try:
                if self.has_header:
                    next(reader, None)
                    row_number = 1
                for cells in reader:
                    row_number += 1
                    if not cells or (len(cells) == 1 and not cells[0].strip()):
                        continue
                    yield _row(row_number, cells, self.mapping, build)
            except csv.Error as exc:
                raise ImportFileError(self._csv_error(row_number + 1, reader.line_num, exc)) from None

    def _csv_error(self, row_number: int, line: int, exc: csv.Error) -> str:
        if "field larger than field limit" in str(exc):
            return (
                f"Row {row_number} (line {line}): a cell is longer than the limit of {self.max_cell_chars:,} "
                "characters. The file may contain an unbalanced quote; nothing after it was read."
            )
        return f"Row {row_number} (line {line}): the CSV structure is broken ({exc})."

    def _builder(self) -> Callable[[Sequence[str]], ContactRecord]:
        fmt, header, mapping = self.format_def, self.header, self.mapping
        if fmt.row_builder is not None:
            return fmt.row_builder(header, mapping, self.blank_clears)
        if fmt.row_to_record is not None:
            row_to_record = fmt.row_to_record
            return lambda cells: row_to_record(header, cells, mapping)
        return make_row_builder(header, mapping, self.blank_clears)


def _row(row_number: int, cells: list[str], mapping: tuple[str | None, ...], build: Callable | None) -> ImportRow:
    width = len(mapping)
    if len(cells) != width:
        if problem := _ragged(row_number, cells, mapping):
            return ImportRow(row_number, cells, None, problem)
        cells = (cells + [""] * width)[:width]
    if build is None:
        return ImportRow(row_number, cells, None, None)
    try:
        record = build(cells)
    except RowError as exc:
        return ImportRow(row_number, cells, None, f"Row {row_number}: {exc}")
    except Exception as exc:  # a third-party format's bug must cost one row, not the import
        return ImportRow(row_number, cells, None, f"Row {row_number}: {type(exc).__name__}: {exc}")
    error = _nothing_to_import(record)
    return ImportRow(row_number, cells, None if error else record, f"Row {row_number}: {error}" if error else None)


def _ragged(row_number: int, cells: list[str], mapping: tuple[str | None, ...]) -> str | None:
    """Tolerate only what loses nothing: extra empty cells (a trailing delimiter), or missing
    cells of ignored columns (exporters that stop at the last non-empty cell, e.g. Outlook 2007)."""
    width = len(mapping)
    if len(cells) > width and not any(c.strip() for c in cells[width:]):
        return None
    if len(cells) < width and not any(mapping[len(cells) :]):
        return None
    return f"Row {row_number} has {len(cells)} cells but the header has {width} columns."


def _nothing_to_import(record: ContactRecord) -> str | None:
    if (
        record.first_name
        or record.last_name
        or record.company
        or record.phones
        or record.emails
        or record.external_id
        or record.external_crm_id
    ):
        return None
    return "nothing to import: no name, company, phone, e-mail or id"


def _summary(ref: str, record: ContactRecord | None) -> tuple[str, ...]:
    if record is None:
        return (ref, "", "", "", "")
    name = " ".join(p for p in (record.first_name, record.last_name) if p)
    phones = "; ".join(f"{p.number} ({p.label})" for p in record.phones or ())
    emails = "; ".join(f"{e.address} ({e.label})" for e in record.emails or ())
    return (ref, name, record.company or "", phones, emails)


def _merged(
    rows: Iterator[ImportRow], merge: Callable[[ContactRecord, ContactRecord], ContactRecord | None]
) -> Iterator[ImportRow]:
    """Fold continuation rows into the row before them (one row of lookahead)."""
    pending: ImportRow | None = None
    for row in rows:
        if row.record is None:
            if pending:
                yield pending
                pending = None
            yield row
            continue
        combined = merge(pending.record, row.record) if pending and pending.record else None
        if combined is not None and pending is not None:
            pending = pending._replace(record=combined)
            continue
        if pending:
            yield pending
        pending = row
    if pending:
        yield pending


def open_import(
    data: bytes | BinaryIO,
    formats: Sequence[ImportFormat],
    *,
    format_name: str | None = None,
    delimiter: str | None = None,
    has_header: bool = True,
    legacy_codepage: str = "cp1252",
    mapping: Sequence[str | None] | None = None,
    blank_clears: bool = False,
    max_cell_chars: int = DEFAULT_MAX_CELL_CHARS,
) -> ParsedImport:
    """Decode ``data``, detect its format (or use ``format_name``), delimiter and header.

    ``data`` is bytes or a seekable binary file (read in chunks, never whole for CSV).
    ``mapping`` overrides the suggested target per column (``None`` = ignore). Raises
    ``ImportFileError`` for an empty, binary or undecodable file, an unknown format name,
    or a mapping that does not fit the header.
    """
    source = decode(data, legacy_codepage)
    fmt = find_format(formats, format_name) if format_name else None
    if fmt is None and has_header:
        fmt = best_format(formats, "text", None, source.sample)
    if fmt is not None and fmt.kind == "text":
        return ParsedImport(
            source,
            fmt,
            delimiter=None,
            has_header=True,
            header=TEXT_HEADER,
            mapping=(None,) * len(TEXT_HEADER),
            blank_clears=blank_clears,
            max_cell_chars=max_cell_chars,
        )
    delim = detect_delimiter(source.sample, delimiter or (fmt.delimiter if fmt else None))
    header = column_names(_first_row(source, delim, max_cell_chars), has_header)
    if fmt is None:
        fmt = _csv_format(formats, header if has_header else None, source.sample)
    chosen = _mapping(fmt, header, has_header, mapping)
    return ParsedImport(
        source,
        fmt,
        delimiter=delim,
        has_header=has_header,
        header=header,
        mapping=chosen,
        blank_clears=blank_clears,
        max_cell_chars=max_cell_chars,
    )


def _first_row(source: DecodedSource, delimiter: str, max_cell_chars: int) -> list[str]:
    csv.field_size_limit(max_cell_chars)
    with source.open_text() as fp:
        try:
            for row in csv.reader(fp, delimiter=delimiter):
                if row and any(c.strip() for c in row):
                    return row
        except csv.Error as exc:
            raise ImportFileError(f"The first row cannot be read as CSV: {exc}.") from None
    raise ImportFileError("The file is empty: it has no rows.")


def _csv_format(formats: Sequence[ImportFormat], header: Sequence[str] | None, sample: str) -> ImportFormat:
    fmt = best_format(formats, "csv", header, sample)
    if fmt is not None:
        return fmt
    try:
        return find_format(formats, "generic_csv")
    except ImportFileError:
        names = ", ".join(repr(h) for h in (header or ())[:12]) or "no header row"
        raise ImportFileError(f"The file matches no import format (header: {names}).") from None


def _mapping(
    fmt: ImportFormat, header: tuple[str, ...], has_header: bool, override: Sequence[str | None] | None
) -> tuple[str | None, ...]:
    if override is not None:
        return _checked_mapping(header, override)
    if not has_header:
        return (None,) * len(header)
    suggest = fmt.suggest_mapping or suggest_mapping
    return _checked_mapping(header, list(suggest(header)))


def _checked_mapping(header: Sequence[str], mapping: Sequence[str | None]) -> tuple[str | None, ...]:
    if len(mapping) != len(header):
        raise ImportFileError(f"The mapping has {len(mapping)} targets but the file has {len(header)} columns.")
    for i, (name, target) in enumerate(zip(header, mapping, strict=True), 1):
        if target == "":
            continue
        if not is_target(target):
            raise ImportFileError(f"Column {i} ({name!r}): unknown target {target!r}.")
    return tuple(t or None for t in mapping)
