"""Tenants, users, departments (queues) and memberships; builds the Principal for a user."""

from __future__ import annotations

import re
from typing import Any

from flask import current_app, has_app_context
from sqlalchemy import delete, insert, select, update
from sqlalchemy.orm import Session
from werkzeug.security import generate_password_hash

from plugin_host.models import T, utcnow
from plugin_host.permissions import TOKEN_SCOPES, Principal, may, role_of
from plugin_host.phones import is_valid_region
from plugin_host.repo.base import Bound
from plugin_host.repo.errors import NotFound, PermissionDenied, ValidationError

TENANTS, USERS, DEPTS, MEMBERS = T["tenants"], T["users"], T["departments"], T["department_members"]
SLUG = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")
USERNAME = re.compile(r"^[A-Za-z0-9_.@+-]{2,120}$")


def hash_password(password: str) -> str:
    """Hash with the configured method (scrypt by default; tests configure a cheap one)."""
    method = current_app.config.get("PASSWORD_HASH_METHOD", "scrypt") if has_app_context() else "scrypt"
    return generate_password_hash(password, method=method)


def create_tenant(s: Session, slug: str, name: str, default_region: str = "US") -> int:
    if not SLUG.match(slug):
        raise ValidationError({"slug": ["use 1-63 lowercase letters, digits and dashes"]})
    if not is_valid_region(default_region):
        raise ValidationError({"default_region": [f"{default_region!r} is not a known two-letter region"]})
    if s.execute(select(TENANTS.c.id).where(TENANTS.c.slug == slug)).first():
        raise ValidationError({"slug": [f"tenant {slug!r} already exists"]})
    return s.execute(insert(TENANTS).values(slug=slug, name=name, default_region=default_region.upper(),
                                            suffix_digits=7, created_at=utcnow()).returning(TENANTS.c.id)).scalar_one()


def tenant_id_for(s: Session, slug: str) -> int:
    tid = s.execute(select(TENANTS.c.id).where(TENANTS.c.slug == slug)).scalar()
    if tid is None:
        raise NotFound(f"tenant {slug!r} not found")
    return tid


def create_user(s: Session, tenant_id: int, username: str, password: str | None, *, is_admin: bool = False,
                display_name: str = "", extension: str | None = None, email: str | None = None,
                can_import: bool = True) -> int:
    errors: dict[str, list[str]] = {}
    if not USERNAME.match(username or ""):
        errors["username"] = ["use 2-120 letters, digits or . _ @ + -"]
    elif s.execute(select(USERS.c.id).where(USERS.c.username == username)).first():
        errors["username"] = [f"user {username!r} already exists"]
    if password is not None and len(password) < 8:
        errors["password"] = ["must be at least 8 characters"]
    if errors:
        raise ValidationError(errors)
    return s.execute(insert(USERS).values(
        tenant_id=tenant_id, username=username, display_name=display_name or username, email=email,
        password_hash=hash_password(password) if password else None, is_admin=is_admin,
        extension=extension, can_import=can_import, is_active=True, created_at=utcnow()).returning(USERS.c.id)
    ).scalar_one()


def create_department(s: Session, tenant_id: int, name: str) -> int:
    name = (name or "").strip()
    if not name:
        raise ValidationError({"name": ["is required"]})
    if s.execute(select(DEPTS.c.id).where(DEPTS.c.tenant_id == tenant_id, DEPTS.c.name == name)).first():
        raise ValidationError({"name": [f"a department named {name!r} already exists"]})
    return s.execute(insert(DEPTS).values(tenant_id=tenant_id, name=name, created_at=utcnow())
                     .returning(DEPTS.c.id)).scalar_one()


def set_membership(s: Session, department_id: int, user_id: int, *, member: bool = True,
                   is_admin: bool = False) -> None:
    s.execute(delete(MEMBERS).where(MEMBERS.c.department_id == department_id, MEMBERS.c.user_id == user_id))
    if member:
        s.execute(insert(MEMBERS).values(department_id=department_id, user_id=user_id, is_admin=is_admin))


def principal_for(s: Session, user_id: int, scopes: frozenset[str] | None = None) -> Principal:
    """Load a user's role and departments; ``scopes`` narrows an API token's rights."""
    user = s.execute(select(USERS).where(USERS.c.id == user_id)).mappings().first()
    if user is None or not user["is_active"]:
        raise NotFound("user not found or disabled")
    rows = s.execute(select(MEMBERS.c.department_id, MEMBERS.c.is_admin).where(MEMBERS.c.user_id == user_id)).all()
    member = frozenset(d for d, _ in rows)
    admin = frozenset(d for d, a in rows if a)
    return Principal(tenant_id=user["tenant_id"], user_id=user_id, role=role_of(user["is_admin"], admin),
                     member_departments=member, admin_departments=admin,
                     scopes=frozenset(TOKEN_SCOPES) if scopes is None else scopes,
                     can_import=user["can_import"], username=user["username"])


class DirectoryRepository(Bound):
    """Departments and users as the API exposes them, within the principal's tenant."""

    def departments(self) -> list[dict[str, Any]]:
        rows = self.s.execute(select(DEPTS).where(DEPTS.c.tenant_id == self.p.tenant_id).order_by(DEPTS.c.name))
        out = []
        for r in rows.mappings():
            members = self.s.execute(select(MEMBERS.c.user_id, MEMBERS.c.is_admin).where(
                MEMBERS.c.department_id == r["id"])).all()
            out.append({"id": r["id"], "name": r["name"],
                        "members": [{"user_id": u, "is_admin": a} for u, a in members]})
        return out

    def _need(self, capability: str) -> None:
        if not may(self.p, capability):
            raise PermissionDenied(f"you may not do this ({capability})")

    def create_department(self, name: str) -> dict[str, Any]:
        self._need("departments:manage")
        did = create_department(self.s, self.p.tenant_id, name)
        self.audit("department.create", "department", did, name=name)
        return {"id": did, "name": name.strip(), "members": []}

    def _dept(self, department_id: int) -> None:
        if self.s.execute(select(DEPTS.c.id).where(DEPTS.c.id == department_id,
                                                   DEPTS.c.tenant_id == self.p.tenant_id)).first() is None:
            raise NotFound(f"department {department_id} not found")

    def set_member(self, department_id: int, user_id: int, member: bool, is_admin: bool) -> None:
        self._need("departments:manage")
        self._dept(department_id)
        self._user(user_id)
        set_membership(self.s, department_id, user_id, member=member, is_admin=is_admin)
        self.audit("department.member", "department", department_id, user_id=user_id, member=member,
                   is_admin=is_admin)

    def delete_department(self, department_id: int) -> None:
        self._need("departments:manage")
        self._dept(department_id)
        used = self.s.execute(select(T["contacts"].c.id).where(T["contacts"].c.department_id == department_id)
                              .limit(1)).first()
        if used:
            raise ValidationError({"department_id": ["department still has contacts; move or delete them first"]})
        self.s.execute(delete(MEMBERS).where(MEMBERS.c.department_id == department_id))
        self.s.execute(delete(DEPTS).where(DEPTS.c.id == department_id))
        self.audit("department.delete", "department", department_id)

    def _user(self, user_id: int) -> Any:
        row = self.s.execute(select(USERS).where(USERS.c.id == user_id, USERS.c.tenant_id == self.p.tenant_id)
                             ).mappings().first()
        if row is None:
            raise NotFound(f"user {user_id} not found")
        return row

    def users(self) -> list[dict[str, Any]]:
        rows = self.s.execute(select(USERS).where(USERS.c.tenant_id == self.p.tenant_id).order_by(USERS.c.username))
        return [self.user_dict(r) for r in rows.mappings()]

    def user_dict(self, r: Any) -> dict[str, Any]:
        return {k: r[k] for k in ("id", "username", "display_name", "email", "is_admin", "extension",
                                  "can_import", "is_active")}

    def create_user(self, data: dict[str, Any]) -> dict[str, Any]:
        self._need("users:manage")
        uid = create_user(self.s, self.p.tenant_id, str(data.get("username") or ""), data.get("password"),
                          is_admin=bool(data.get("is_admin")), display_name=data.get("display_name") or "",
                          extension=data.get("extension"), email=data.get("email"),
                          can_import=data.get("can_import", True))
        self.audit("user.create", "user", uid, username=data.get("username"))
        return self.user_dict(self._user(uid))

    def update_user(self, user_id: int, data: dict[str, Any]) -> dict[str, Any]:
        self._need("users:manage")
        self._user(user_id)
        allowed = {k: data[k] for k in ("display_name", "email", "is_admin", "extension", "can_import", "is_active")
                   if k in data}
        if "password" in data:
            if not data["password"] or len(data["password"]) < 8:
                raise ValidationError({"password": ["must be at least 8 characters"]})
            allowed["password_hash"] = hash_password(data["password"])
        if allowed:
            self.s.execute(update(USERS).where(USERS.c.id == user_id).values(allowed))
        self.audit("user.update", "user", user_id, fields=sorted(k for k in allowed if k != "password_hash"))
        return self.user_dict(self._user(user_id))
