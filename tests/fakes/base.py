"""A WSGI fake server on 127.0.0.1 in a background thread, with request log and fault injection."""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Self

from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server
from werkzeug.wrappers import Request, Response


class _QuietHandler(WSGIRequestHandler):
    def log(self, type: str, message: str, *args: Any) -> None:
        pass


@dataclass
class Fault:
    """What to do to matching requests instead of (or on top of) serving them normally.

    ``status`` replaces the answer; ``delay`` sleeps first (use it to provoke client timeouts);
    ``truncate`` cuts the normal JSON body in half. ``after`` lets that many matching requests
    through first; ``times`` is how many are then affected (``None``: all of them).
    """

    path: str
    page: int | None = None
    status: int | None = None
    body: bytes | str = b""
    headers: Mapping[str, str] = field(default_factory=dict)
    delay: float = 0.0
    truncate: bool = False
    times: int | None = 1
    after: int = 0
    match: Callable[[Request], bool] | None = None
    hits: int = 0

    def matches(self, request: Request) -> bool:
        """Whether this fault concerns ``request`` (path, optional ``page`` query value, predicate)."""
        if request.path.rstrip("/") != self.path.rstrip("/"):
            return False
        if self.page is not None and request.args.get("page") != str(self.page):
            return False
        return self.match is None or self.match(request)


@dataclass(frozen=True)
class RecordedRequest:
    """One request the fake received."""

    method: str
    path: str
    args: dict[str, str]
    headers: dict[str, str]


class FakeServer:
    """Base class: subclasses implement ``handle(request) -> Response``."""

    scheme = "http"

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.requests: list[RecordedRequest] = []
        self.faults: list[Fault] = []
        self._stopping = threading.Event()
        self._server: BaseWSGIServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle

    def start(self) -> Self:
        """Bind a free port on 127.0.0.1 and serve in a daemon thread."""
        self._server = make_server(
            "127.0.0.1",
            0,
            self._wsgi,
            threaded=True,
            request_handler=_QuietHandler,
            ssl_context=self.ssl_context(),
        )
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, name=type(self).__name__, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving; pending delayed answers are cut short."""
        self._stopping.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = self._thread = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def ssl_context(self) -> Any:
        """``None`` for plain HTTP; HTTPS subclasses return a werkzeug ``ssl_context``."""
        return None

    @property
    def url(self) -> str:
        """Base URL, e.g. ``http://127.0.0.1:54321`` (no trailing slash)."""
        assert self._server is not None, "server not started"
        return f"{self.scheme}://127.0.0.1:{self._server.server_port}"

    # -- faults

    def inject_fault(self, path: str, **options: Any) -> Fault:
        """Add a ``Fault`` for ``path`` (see ``Fault`` for the options); returns it."""
        fault = Fault(path=path, **options)
        with self.lock:
            self.faults.append(fault)
        return fault

    def clear_faults(self) -> None:
        """Remove every injected fault."""
        with self.lock:
            self.faults.clear()

    def requests_to(self, path: str) -> list[RecordedRequest]:
        """The recorded requests for ``path`` (trailing slash ignored)."""
        with self.lock:
            return [r for r in self.requests if r.path.rstrip("/") == path.rstrip("/")]

    # -- plumbing

    def handle(self, request: Request) -> Response:
        raise NotImplementedError

    def _wsgi(self, environ: dict[str, Any], start_response: Any) -> Any:
        request = Request(environ)
        with self.lock:
            self.requests.append(
                RecordedRequest(request.method, request.path, dict(request.args), dict(request.headers))
            )
            fault = self._take_fault(request)
        response = self._respond(request, fault)
        return response(environ, start_response)

    def _respond(self, request: Request, fault: Fault | None) -> Response:
        if fault is not None and fault.delay:
            self._stopping.wait(fault.delay)
        if fault is not None and fault.status is not None:
            return Response(fault.body, status=fault.status, headers=dict(fault.headers))
        with self.lock:
            response = self.handle(request)
        if fault is not None and fault.truncate:
            data = response.get_data()
            response.set_data(data[: max(1, len(data) // 2)])
        return response

    def _take_fault(self, request: Request) -> Fault | None:
        for fault in self.faults:
            if not fault.matches(request):
                continue
            fault.hits += 1
            if fault.hits <= fault.after:
                continue
            if fault.times is None or fault.hits - fault.after <= fault.times:
                return fault
        return None


def json_response(payload: Any, status: int = 200, headers: Mapping[str, str] | None = None) -> Response:
    """A JSON answer."""
    import json

    return Response(json.dumps(payload), status=status, headers=dict(headers or {}), mimetype="application/json")
