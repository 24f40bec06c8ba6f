"""Fixtures for the import pipeline tests: the built-in formats and the shared real files."""

from __future__ import annotations

import pytest
from importing_support import BUILTINS

from plugin_host.importing import open_import


@pytest.fixture(scope="session")
def formats():
    return [fmt for plugin in BUILTINS for fmt in plugin.contacts_hub_register_import_formats()]


@pytest.fixture
def read(formats):
    """open_import + iter_rows -> (parsed, rows)."""

    def _read(data: bytes, **kwargs):
        parsed = open_import(data, formats, **kwargs)
        return parsed, list(parsed.iter_rows())

    return _read


@pytest.fixture
def records(read):
    """Only the records (asserting no row failed)."""

    def _records(data: bytes, **kwargs):
        _, rows = read(data, **kwargs)
        errors = [r.error for r in rows if r.error]
        assert not errors, errors
        return [r.record for r in rows]

    return _records
