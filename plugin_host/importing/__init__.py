"""Import pipeline, reading side: decode, sniff, detect, map and stream rows as ContactRecords."""

from __future__ import annotations

from plugin_host.importing.decode import DecodedSource, decode
from plugin_host.importing.detect import best_format, find_format
from plugin_host.importing.errors import ImportFileError, RowError
from plugin_host.importing.export import iter_pbx_csv, iter_vcards, write_pbx_csv, write_vcards
from plugin_host.importing.fields import (
    TARGETS,
    RowOptions,
    build_record,
    email_label_of,
    is_target,
    make_row_builder,
    phone_label_of,
    split_full_name,
    suggest_mapping,
)
from plugin_host.importing.reader import ColumnPreview, ImportRow, ParsedImport, Preview, open_import
from plugin_host.importing.sniff import detect_delimiter, parse_delimiter

__all__ = [
    "TARGETS",
    "ColumnPreview",
    "DecodedSource",
    "ImportFileError",
    "ImportRow",
    "ParsedImport",
    "Preview",
    "RowError",
    "RowOptions",
    "best_format",
    "build_record",
    "decode",
    "detect_delimiter",
    "email_label_of",
    "find_format",
    "is_target",
    "iter_pbx_csv",
    "iter_vcards",
    "make_row_builder",
    "open_import",
    "parse_delimiter",
    "phone_label_of",
    "split_full_name",
    "suggest_mapping",
    "write_pbx_csv",
    "write_vcards",
]
