"""pytest fixtures for the fake servers; import them into a conftest: ``from tests.fakes.fixtures import *``."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from plugin_host import PullContext
from tests.fakes.custom_server import CustomContactsServer
from tests.fakes.graph_server import FakeGraphServer

__all__ = ["FakeClock", "RecordingContext", "custom_server", "drain", "graph_server", "make_ctx"]


@dataclass
class RecordingContext:
    """A ``PullContext`` factory whose sleep records the requested waits instead of sleeping."""

    sleeps: list[float] = field(default_factory=list)
    messages: list[str] = field(default_factory=list)

    def ctx(
        self, *, http_timeout: float = 5.0, max_retries: int = 3, now: Callable[[], float] = time.time
    ) -> PullContext:
        """The context to pass to ``pull()``."""
        return PullContext(
            sleep=self.sleeps.append,
            now=now,
            log=self.messages.append,
            http_timeout=http_timeout,
            max_retries=max_retries,
        )


@dataclass
class FakeClock:
    """A settable Unix clock to share between a fake server and ``PullContext.now``."""

    value: float = 1_750_000_000.0

    def __call__(self) -> float:
        return self.value

    def advance(self, seconds: float) -> None:
        """Move time forward."""
        self.value += seconds


def drain(items: Iterable[Any]) -> tuple[list[Any], BaseException | None]:
    """Consume a ``pull()`` generator like the engine: the items it yielded, and what it raised."""
    seen: list[Any] = []
    try:
        for item in items:
            seen.append(item)
    except Exception as exc:
        return seen, exc
    return seen, None


@pytest.fixture
def make_ctx() -> RecordingContext:
    """``make_ctx.ctx()`` builds a PullContext; ``make_ctx.sleeps`` lists the waits asked for."""
    return RecordingContext()


@pytest.fixture
def custom_server() -> Iterator[CustomContactsServer]:
    """A started fake custom contact server (``.url``, ``.settings()``)."""
    with CustomContactsServer() as server:
        yield server


@pytest.fixture
def graph_server(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeGraphServer]:
    """A started fake Graph + sign-in server; its certificate is trusted for this test."""
    from plugins.m365_source.graph import clear_app_cache

    with FakeGraphServer() as server:
        monkeypatch.setenv("REQUESTS_CA_BUNDLE", server.ca_file)
        yield server
    clear_app_cache()
