"""Helpers for the import pipeline tests: shared files, counting rows, running an import."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from plugin_host.importing.pipeline import ImportOptions, run_import
from plugin_host.models import T

SHARED_DATA = Path(__file__).resolve().parents[2] / ".." / "shared" / "data"
PBX = SHARED_DATA / "pbx_example.csv"
REAL = SHARED_DATA / "real"


def count(session: Any, table: str, **where: Any) -> int:
    t = T[table]
    return session.execute(select(func.count()).select_from(t).where(
        *(t.c[k] == v for k, v in where.items()))).scalar_one()


def run(session: Any, principal: Any, data: Any, **options: Any) -> Any:
    return run_import(session, principal, data, ImportOptions(**options))


def contacts(session: Any, tenant: int) -> list[dict[str, Any]]:
    c = T["contacts"]
    return [dict(r) for r in session.execute(select(c).where(c.c.tenant_id == tenant).order_by(c.c.id)).mappings()]
