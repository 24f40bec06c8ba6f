"""Fixtures for source plugin tests: the fake servers and a recording PullContext."""

from tests.fakes.fixtures import custom_server, graph_server, make_ctx

__all__ = ["custom_server", "graph_server", "make_ctx"]
