"""Shared helpers for the import API tests."""

from __future__ import annotations

import io
import time
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from plugin_host.models import T, db

SHARED = Path(__file__).resolve().parents[2].parent / "shared" / "data"
PBX = SHARED / "pbx_example.csv"
VCARDS = SHARED / "real" / "ez-vcard"


def upload(api: Any, url: str, data: bytes, name: str = "contacts.csv", **form: Any) -> Any:
    return api.post(url, data={"file": (io.BytesIO(data), name), **form}, content_type="multipart/form-data")


def count_contacts(app: Any, tenant_id: int) -> int:
    with app.app_context():
        n = db.session.execute(select(func.count()).select_from(T["contacts"])
                               .where(T["contacts"].c.tenant_id == tenant_id)).scalar_one()
        db.session.rollback()
        return n


def poll(api: Any, url: str, timeout: float = 30) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        resp = api.get(url)
        assert resp.status_code == 200, resp.text
        body = resp.get_json()
        if body["status"] in ("done", "failed") or time.monotonic() > deadline:
            return body
        time.sleep(0.05)


def eventually(check: Any, timeout: float = 30) -> bool:
    """``check()`` became true before ``timeout`` (a worker's last steps follow its final status)."""
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True
