"""Fixtures for sync engine tests: fake servers, a scripted in-process source type, helpers."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from plugin_host.records import PullContext, SettingField, SourceType
from tests.fakes.fixtures import custom_server, make_ctx

__all__ = ["custom_server", "make_ctx"]


class Scripted:
    """A SourceType whose pull() yields ``self.items`` (callables are called: raise to fail mid-run)."""

    def __init__(self) -> None:
        self.items: list[Any] = []
        self.cursors: list[str | None] = []
        self.type = SourceType(
            name="scripted", label="Scripted", full_snapshot_options=True, pull=self.pull,
            fields=(SettingField("url", "URL", required=True), SettingField("token", "Token", secret=True),
                    SettingField("page", "Page", type="int", default=10),
                    SettingField("flag", "Flag", type="bool", default=False)))

    def pull(self, settings: Any, cursor: str | None, ctx: PullContext) -> Iterator[Any]:
        self.cursors.append(cursor)
        for item in self.items:
            if callable(item):
                item = item(cursor)
                if item is None:
                    continue
            yield item


@pytest.fixture
def scripted() -> Scripted:
    return Scripted()
