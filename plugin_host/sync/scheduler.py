"""Scheduling: claim due sources with a database lease and run them (in-process thread or worker)."""

from __future__ import annotations

import logging
import os
import socket
import threading
from collections.abc import Mapping

from flask import Flask
from sqlalchemy import select

from plugin_host.models import T, db
from plugin_host.records import PullContext, SourceType
from plugin_host.sync.engine import claim, due_sources, run_source

log = logging.getLogger("contacts_hub.sync")
SRC = T["sources"]


def worker_name(prefix: str = "worker") -> str:
    """A worker id unique across hosts and processes."""
    return f"{prefix}@{socket.gethostname()}:{os.getpid()}:{threading.get_ident()}"


def run_due(app: Flask, worker_id: str, *, lease_seconds: int = 7200, ctx: PullContext | None = None,
            source_types: Mapping[str, SourceType] | None = None, limit: int | None = None) -> int:
    """One scheduler step: run every due source this worker manages to claim; returns the runs done."""
    done = 0
    with app.app_context():
        s = db.session
        try:
            for sid in due_sources(s):
                if limit is not None and done >= limit:
                    break
                if not claim(s, sid, worker_id, lease_seconds, due_only=True):
                    continue
                stype = None
                if source_types is not None:
                    plugin = s.execute(select(SRC.c.plugin).where(SRC.c.id == sid)).scalar_one()
                    stype = source_types.get(plugin)
                run_source(s, app, sid, worker_id, ctx, stype)
                done += 1
        finally:
            s.remove()
    return done


def loop(app: Flask, worker_id: str, stop: threading.Event, poll_seconds: float = 60.0) -> None:
    """Run ``run_due`` until ``stop`` is set; an unexpected error is logged, never fatal."""
    while not stop.is_set():
        try:
            run_due(app, worker_id)
        except Exception:
            log.exception("scheduler step failed")
        stop.wait(poll_seconds)


def start_in_process(app: Flask, poll_seconds: float = 60.0) -> threading.Event:
    """Start the scheduler as a daemon thread of the web process; set the returned event to stop it."""
    stop = threading.Event()
    thread = threading.Thread(target=loop, args=(app, worker_name("web"), stop, poll_seconds),
                              name="contacts-hub-scheduler", daemon=True)
    thread.start()
    return stop
