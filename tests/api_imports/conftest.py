"""Fixtures for the import API tests: the bearer-token client per role from tests/api."""

from tests.api.conftest import as_user  # noqa: F401  (re-exported fixture)
