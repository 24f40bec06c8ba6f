"""Fixtures for the source API tests: per-role API clients, the fake servers, a MariaDB database."""

from __future__ import annotations

from tests.api.conftest import as_user
from tests.fakes.fixtures import custom_server, graph_server, make_ctx
from tests.sql_source.conftest import mysql_db

__all__ = ["as_user", "custom_server", "graph_server", "make_ctx", "mysql_db"]
