"""Activities (calls, chats, notes...) and the per-contact chronological timeline."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import insert, select

from plugin_host.models import T, utcnow
from plugin_host.permissions import activity_read_filter
from plugin_host.repo.base import Bound
from plugin_host.repo.contacts import ContactRepository
from plugin_host.repo.errors import ValidationError

ACT, USERS, DEPTS = T["activities"], T["users"], T["departments"]
KINDS = ("call", "chat", "email", "sms", "whatsapp", "facebook", "note", "meeting", "conversion", "task")
DIRECTIONS = ("inbound", "outbound", "internal")


def _dict(r: Mapping[str, Any]) -> dict[str, Any]:
    d = {k: r[k] for k in ("id", "contact_id", "kind", "direction", "summary", "body", "user_id", "department_id",
                           "duration_seconds", "source", "external_id")}
    d["occurred_at"] = r["occurred_at"].isoformat()
    d["agent"] = r.get("agent")
    return d


class ActivityRepository(Bound):
    def add(self, contact_id: int, data: Mapping[str, Any]) -> dict[str, Any]:
        """Log an activity on a contact the principal can read (a PBX posts calls, an app chats)."""
        ContactRepository(self.s, self.p).get(contact_id)  # 404 when not readable
        errors: dict[str, list[str]] = {}
        kind = data.get("kind")
        if kind not in KINDS:
            errors["kind"] = [f"{kind!r} is not one of {', '.join(KINDS)}"]
        direction = data.get("direction")
        if direction is not None and direction not in DIRECTIONS:
            errors["direction"] = [f"{direction!r} is not one of {', '.join(DIRECTIONS)}"]
        occurred = data.get("occurred_at") or utcnow()
        if isinstance(occurred, str):
            try:
                occurred = datetime.fromisoformat(occurred.replace("Z", "+00:00"))
            except ValueError:
                errors["occurred_at"] = [f"{occurred!r} is not an ISO 8601 date-time"]
        if isinstance(occurred, datetime) and occurred.tzinfo is not None:
            # stored naive in UTC like every other time stamp (not in the server's local zone)
            occurred = occurred.astimezone(UTC).replace(tzinfo=None)
        dept = data.get("department_id")
        if dept is not None and dept not in self.p.member_departments and self.p.role != "admin":
            errors["department_id"] = ["you are not a member of that department"]
        elif dept is not None and self.s.execute(select(DEPTS.c.id).where(
                DEPTS.c.id == dept, DEPTS.c.tenant_id == self.p.tenant_id)).first() is None:
            errors["department_id"] = [f"department {dept} does not exist"]
        if errors:
            raise ValidationError(errors)
        row = {"tenant_id": self.p.tenant_id, "contact_id": contact_id, "kind": kind, "direction": direction,
               "summary": str(data.get("summary") or "")[:500], "body": data.get("body"), "user_id": self.p.user_id,
               "department_id": dept, "occurred_at": occurred, "duration_seconds": data.get("duration_seconds"),
               "source": data.get("source"), "external_id": data.get("external_id"), "created_at": utcnow()}
        aid = self.s.execute(insert(ACT).values(row).returning(ACT.c.id)).scalar_one()
        self.audit("activity.create", "activity", aid, contact_id=contact_id, kind=kind)
        return _dict({**row, "id": aid, "agent": self.p.username})

    def timeline(self, contact_id: int, limit: int = 100, newest_first: bool = False) -> list[dict[str, Any]]:
        """The contact's visible activities in chronological order (404 if the contact is not readable)."""
        ContactRepository(self.s, self.p)._row(contact_id)
        order = (ACT.c.occurred_at.desc(), ACT.c.id.desc()) if newest_first else (ACT.c.occurred_at, ACT.c.id)
        stmt = (select(ACT, USERS.c.display_name.label("agent")).outerjoin(USERS, USERS.c.id == ACT.c.user_id)
                .where(ACT.c.contact_id == contact_id, activity_read_filter(self.p, ACT))
                .order_by(*order).limit(max(1, min(limit, 1000))))
        return [_dict(r) for r in self.s.execute(stmt).mappings()]
