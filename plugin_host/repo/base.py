"""Shared plumbing for repository modules: the bound session/principal, audit, insert-or-ignore."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import insert
from sqlalchemy.orm import Session

from plugin_host.models import T, utcnow
from plugin_host.permissions import Principal


def insert_ignore(session: Session, table: Any, rows: list[dict[str, Any]]) -> None:
    """INSERT rows, silently skipping ones that violate a unique key (tags, memberships)."""
    if not rows:
        return
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        session.execute(pg_insert(table).on_conflict_do_nothing(), rows)
    elif dialect == "sqlite":
        from sqlalchemy.dialects.sqlite import insert as lite_insert

        session.execute(lite_insert(table).on_conflict_do_nothing(), rows)
    else:
        session.execute(insert(table).prefix_with("IGNORE"), rows)


class Bound:
    """A repository part bound to one session and one acting principal."""

    def __init__(self, session: Session, principal: Principal, *, region: str = "US", suffix_digits: int = 7,
                 page_max: int = 200) -> None:
        self.s = session
        self.p = principal
        self.region = region
        self.suffix_digits = suffix_digits
        self.page_max = page_max

    def audit(self, action: str, entity: str, entity_id: Any = None, **details: Any) -> None:
        """Every write leaves one audit event (in the same transaction as the write)."""
        self.s.execute(insert(T["audit_events"]).values(
            tenant_id=self.p.tenant_id, user_id=self.p.user_id, action=action, entity=entity,
            entity_id=None if entity_id is None else str(entity_id), details=details, at=utcnow()))

    def changed(self, action: str, ids: Sequence[int]) -> None:
        """Queue a ``contacts_hub_on_contacts_changed`` notification, fired after the commit."""
        self.s.info.setdefault("contacts_hub_events", []).append((self.p.tenant_id, action, list(ids)))
