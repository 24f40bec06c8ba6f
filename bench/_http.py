"""A real waitress server on 127.0.0.1 (ephemeral port) in a thread, for "through the network" figures."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any


@contextmanager
def waitress_server(app: Any, threads: int = 4) -> Iterator[str]:
    from waitress.server import create_server

    server = create_server(app, host="127.0.0.1", port=0, threads=threads)
    port = server.effective_port
    t = threading.Thread(target=server.run, daemon=True)
    t.start()
    # The server thread is a daemon and is left running: closing a waitress server while its
    # loop sits in select() makes it print an EBADF traceback. It dies with the process.
    yield f"http://127.0.0.1:{port}"
