"""Helpers for the import/sync benchmarks: peak RSS, phases in fresh subprocesses, databases."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

PG_HOST = "127.0.0.1"
PG_URL_TMPL = "postgresql+psycopg://postgres@127.0.0.1:5432/{db}"
TMP = Path(os.environ.get("CH_BENCH_SQLITE_DIR", "/tmp"))
ENCRYPTION_KEY = "x6nLnJ0tuEVPYDAoZzDt0GaIeqdU-CrTWXqkNP5mbjk="


def peak_rss_mb() -> float:
    """This process's peak resident set (VmHWM), in MB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def children_peak_rss_mb() -> float:
    """The largest peak resident set of this process's finished (waited-for) children, in MB."""
    import resource

    return resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024


def emit(result: dict[str, Any]) -> None:
    """A phase's last stdout line: its result as JSON (with the peak RSS)."""
    result["peak_rss_mb"] = round(peak_rss_mb(), 1)
    print("RESULT " + json.dumps(result), flush=True)


def run_phase(module: str, *args: str) -> dict[str, Any]:
    """Run ``python -m module --phase ...`` in a fresh interpreter; its own peak RSS is measured inside.

    The previous phase's dirty pages are written out first (``os.sync``), so that a phase is not
    timed while the kernel writes back the database file another phase left behind."""
    os.sync()
    proc = subprocess.run([sys.executable, "-m", module, *args], capture_output=True, text=True)
    out = [ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT ")]
    if proc.returncode != 0 or not out:
        sys.stderr.write(proc.stdout[-4000:] + proc.stderr[-8000:])
        raise SystemExit(f"phase {args} failed (exit {proc.returncode})")
    return json.loads(out[-1][7:])


def sqlite_path(name: str) -> Path:
    return TMP / f"{name}.db"


def reset_sqlite(name: str) -> str:
    for suffix in ("", "-wal", "-shm"):
        Path(str(sqlite_path(name)) + suffix).unlink(missing_ok=True)
    return f"sqlite:///{sqlite_path(name)}"


def reset_pg(db: str) -> str:
    env = {**os.environ, "PGHOST": PG_HOST, "PGUSER": "postgres"}
    subprocess.run(["dropdb", "--if-exists", "--force", db], check=True, env=env)
    subprocess.run(["createdb", db], check=True, env=env)
    return PG_URL_TMPL.format(db=db)


def db_url(backend: str, name: str) -> str:
    return f"sqlite:///{sqlite_path(name)}" if backend == "sqlite" else PG_URL_TMPL.format(db=name)


def app_config(url: str) -> dict[str, Any]:
    inst = TMP / "ch_bench_instance"
    inst.mkdir(exist_ok=True)
    return {"DATABASE_URL": url, "INSTANCE_PATH": str(inst), "TESTING": False, "SECRET_KEY": "bench",
            "ENCRYPTION_KEY": ENCRYPTION_KEY, "SCHEDULER": False, "LOGIN_RATE_LIMIT": 100000,
            "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000"}


def migrate_and_seed(url: str, region: str = "US") -> dict[str, int]:
    """Migrated schema, one tenant and its admin: returns tenant and user ids."""
    from flask_migrate import upgrade

    from plugin_host import create_app
    from plugin_host.directory import create_tenant, create_user
    from plugin_host.models import db

    app = create_app(app_config(url))
    with app.app_context():
        upgrade()
        s = db.session
        tid = create_tenant(s, "bench", "Bench tenant", region)
        uid = create_user(s, tid, "admin", "benchpass1", is_admin=True)
        s.commit()
    return {"tenant_id": tid, "user_id": uid}


def baseline_table(backend: str, name: str, table: str, ddl: str, columns: list[str], pg_db: str) -> tuple[Any, str]:
    """A fresh table for a baseline measurement (no secondary index) and its INSERT statement.

    ``ddl`` is written for SQLite (``id INTEGER PRIMARY KEY`` first); on PostgreSQL the id becomes BIGSERIAL.
    """
    cols = ", ".join(columns)
    if backend == "sqlite":
        import sqlite3

        reset_sqlite(name)
        conn: Any = sqlite3.connect(str(TMP / f"{name}.db"))
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        conn.execute(ddl)
        return conn, f"INSERT INTO {table} ({cols}) VALUES ({','.join('?' for _ in columns)})"
    import psycopg

    conn = psycopg.connect(f"host=127.0.0.1 user=postgres dbname={pg_db}")
    conn.execute(f"DROP TABLE IF EXISTS {table}")
    conn.execute(ddl.replace("id INTEGER PRIMARY KEY", "id BIGSERIAL PRIMARY KEY"))
    return conn, f"INSERT INTO {table} ({cols}) VALUES ({','.join('%s' for _ in columns)})"
