"""API tokens: shown once, stored only as a SHA-256 hash, scoped, revocable, with last-used time."""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta
from typing import Any

from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.orm import Session

from plugin_host.models import T, utcnow
from plugin_host.permissions import TOKEN_SCOPES, Principal, may, role_of
from plugin_host.repo.base import Bound
from plugin_host.repo.errors import NotFound, PermissionDenied, ValidationError

TOKENS, USERS, MEMBERS = T["api_tokens"], T["users"], T["department_members"]
PREFIX = "chub_"
TOUCH_EVERY = timedelta(seconds=60)


def digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def authenticate(s: Session, token: str) -> tuple[int, frozenset[str]] | None:
    """(user id, scopes) for a live token, else None; refreshes ``last_used_at`` at most once a minute."""
    if not token.startswith(PREFIX):
        return None
    row = s.execute(select(TOKENS).where(TOKENS.c.token_hash == digest(token))).mappings().first()
    now = utcnow()
    if row is None or row["revoked_at"] is not None or (row["expires_at"] and row["expires_at"] < now):
        return None
    if row["last_used_at"] is None or now - row["last_used_at"] > TOUCH_EVERY:
        s.execute(update(TOKENS).where(TOKENS.c.id == row["id"]).values(last_used_at=now))
        s.commit()
    return row["user_id"], frozenset(row["scopes"] or ())


#: A bearer request's one authentication statement: the token, its user and the user's departments
#: (one row per membership). Built once; revocation and expiry are read on every request.
_TOKEN_PRINCIPAL = (
    select(TOKENS.c.id, TOKENS.c.user_id, TOKENS.c.scopes, TOKENS.c.revoked_at, TOKENS.c.expires_at,
           TOKENS.c.last_used_at, USERS.c.tenant_id, USERS.c.is_active, USERS.c.is_admin, USERS.c.can_import,
           USERS.c.username, MEMBERS.c.department_id, MEMBERS.c.is_admin.label("department_admin"))
    .join(USERS, USERS.c.id == TOKENS.c.user_id)
    .outerjoin(MEMBERS, MEMBERS.c.user_id == USERS.c.id)
    .where(TOKENS.c.token_hash == bindparam("h"))
)


class UserDisabled(Exception):
    """The token is live but its user is disabled."""


def authenticate_principal(s: Session, token: str) -> Principal | None:
    """The Principal of a live token in one statement, else None (unknown, revoked or expired).

    The same Principal as ``directory.principal_for(user_id, scopes)``; raises ``UserDisabled`` for
    a live token of a disabled user. ``last_used_at`` is refreshed at most once a minute.
    """
    if not token.startswith(PREFIX):
        return None
    rows = s.execute(_TOKEN_PRINCIPAL, {"h": digest(token)}).all()
    now = utcnow()
    if not rows:
        return None
    t = rows[0]
    if t.revoked_at is not None or (t.expires_at and t.expires_at < now):
        return None
    if t.last_used_at is None or now - t.last_used_at > TOUCH_EVERY:
        s.execute(update(TOKENS).where(TOKENS.c.id == t.id).values(last_used_at=now))
        s.commit()
    if not t.is_active:
        raise UserDisabled(t.user_id)
    member = frozenset(r.department_id for r in rows if r.department_id is not None)
    admin = frozenset(r.department_id for r in rows if r.department_id is not None and r.department_admin)
    return Principal(tenant_id=t.tenant_id, user_id=t.user_id, role=role_of(t.is_admin, admin),
                     member_departments=member, admin_departments=admin, scopes=frozenset(t.scopes or ()),
                     can_import=t.can_import, username=t.username)


def _dict(r: Any) -> dict[str, Any]:
    return {"id": r["id"], "name": r["name"], "prefix": r["prefix"], "scopes": list(r["scopes"] or []),
            "user_id": r["user_id"], "created_at": r["created_at"].isoformat(),
            "last_used_at": r["last_used_at"].isoformat() if r["last_used_at"] else None,
            "expires_at": r["expires_at"].isoformat() if r["expires_at"] else None,
            "revoked": r["revoked_at"] is not None}


def issue(s: Session, tenant_id: int, user_id: int, name: str, scopes: list[str],
          expires_days: int | None = None) -> tuple[str, int]:
    """Create a token; the plaintext is returned here and never again."""
    bad = [sc for sc in scopes if sc not in TOKEN_SCOPES]
    errors: dict[str, list[str]] = {}
    if bad or not scopes:
        errors["scopes"] = [f"choose from {', '.join(TOKEN_SCOPES)}" + (f"; unknown: {', '.join(bad)}" if bad else "")]
    if not name or not name.strip() or len(name) > 200:
        errors["name"] = ["is required (at most 200 characters)"]
    if expires_days is not None and not 1 <= expires_days <= 3650:
        errors["expires_days"] = ["must be between 1 and 3650"]
    if errors:
        raise ValidationError(errors)
    token = PREFIX + secrets.token_urlsafe(32)
    tid = s.execute(insert(TOKENS).values(
        tenant_id=tenant_id, user_id=user_id, name=name.strip(), prefix=token[:12], token_hash=digest(token),
        scopes=sorted(set(scopes)), created_at=utcnow(),
        expires_at=utcnow() + timedelta(days=expires_days) if expires_days else None).returning(TOKENS.c.id)
    ).scalar_one()
    return token, tid


class TokenRepository(Bound):
    """A user manages their own tokens; a tenant admin sees and revokes everyone's in the tenant."""

    def _visible(self) -> Any:
        if may(self.p, "tokens:manage_all"):
            return TOKENS.c.tenant_id == self.p.tenant_id
        return (TOKENS.c.tenant_id == self.p.tenant_id) & (TOKENS.c.user_id == self.p.user_id)

    def all(self) -> list[dict[str, Any]]:
        rows = self.s.execute(select(TOKENS).where(self._visible()).order_by(TOKENS.c.id)).mappings()
        return [_dict(r) for r in rows]

    def create(self, name: str, scopes: list[str], expires_days: int | None = None,
               user_id: int | None = None) -> dict[str, Any]:
        owner = user_id or self.p.user_id
        if owner != self.p.user_id and not may(self.p, "tokens:manage_all"):
            raise PermissionDenied("you may only create tokens for yourself")
        if self.s.execute(select(USERS.c.id).where(USERS.c.id == owner, USERS.c.tenant_id == self.p.tenant_id)
                          ).first() is None:
            raise ValidationError({"user_id": [f"user {owner} does not exist"]})
        token, tid = issue(self.s, self.p.tenant_id, owner, name, scopes, expires_days)
        self.audit("token.create", "api_token", tid, name=name, scopes=scopes, user_id=owner)
        row = self.s.execute(select(TOKENS).where(TOKENS.c.id == tid)).mappings().one()
        return {**_dict(row), "token": token}

    def revoke(self, token_id: int) -> None:
        res = self.s.execute(update(TOKENS).where(TOKENS.c.id == token_id, self._visible(),
                                                  TOKENS.c.revoked_at.is_(None)).values(revoked_at=utcnow()))
        if res.rowcount != 1:
            raise NotFound(f"token {token_id} not found")
        self.audit("token.revoke", "api_token", token_id)
