"""Shared constants for the import tests (paths to the shared real files and local fixtures)."""

from __future__ import annotations

from pathlib import Path

import plugins.generic_csv
import plugins.google_csv
import plugins.outlook_csv
import plugins.pbx_csv
import plugins.vcard

SHARED_DATA = Path(__file__).resolve().parents[2] / ".." / "shared" / "data"
LOCAL_DATA = Path(__file__).resolve().parent / "data"
BUILTINS = (plugins.pbx_csv, plugins.generic_csv, plugins.outlook_csv, plugins.google_csv, plugins.vcard)
