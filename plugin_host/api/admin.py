"""Departments (queues), users, API tokens, the audit log, panels and ``/me``."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from plugin_host.api import api, principal, repo, writes
from plugin_host.api import schemas as s
from plugin_host.app import hub
from plugin_host.auth import auth_kind, csrf_token
from plugin_host.directory import DirectoryRepository
from plugin_host.models import T, db
from plugin_host.permissions import CAPABILITIES, Action, Scope, allowed, may
from plugin_host.repo.errors import PermissionDenied
from plugin_host.tokens import TokenRepository

SEC = ["bearerAuth", "cookieAuth"]
AUDIT = T["audit_events"]


def _permissions(p: Any) -> dict[str, Any]:
    perms: dict[str, Any] = {cap: may(p, cap) for cap in CAPABILITIES}
    for scope in Scope:
        for action in (Action.CREATE, Action.IMPORT):
            perms[f"{action.value}:{scope.value}"] = allowed(
                p, action, scope, next(iter(p.admin_departments), None), p.user_id)
    perms["contacts:import"] = any(perms[f"import:{sc.value}"] for sc in Scope)
    return perms


@api.get("/me")
@api.output(s.MeOut)
@api.doc(tags=["Session"], summary="The caller, its role and what it may do", security=SEC)
def me() -> Any:
    p = principal()
    tenant = db.session.execute(select(T["tenants"].c.slug).where(T["tenants"].c.id == p.tenant_id)).scalar_one()
    perms = _permissions(p)
    return {"user_id": p.user_id, "username": p.username, "tenant_id": p.tenant_id, "tenant": tenant,
            "role": p.role.value, "member_departments": sorted(p.member_departments),
            "admin_departments": sorted(p.admin_departments), "scopes": sorted(p.scopes),
            "auth": auth_kind(), "csrf_token": csrf_token() if auth_kind() == "session" else None,
            "permissions": perms}


@api.get("/panels")
@api.doc(tags=["Session"], summary="Customers-tab panels the caller may see", security=SEC)
def panels() -> Any:
    from flask import jsonify

    p = principal()
    me_perms = _permissions(p)
    out = []
    for panel in sorted(hub().registry.panels.values(), key=lambda x: (x.order, x.name)):
        need = panel.permission
        ok = (need == "contacts:read" and p.has_scope("read")) or bool(me_perms.get(need))
        if ok:
            out.append({"name": panel.name, "slot": panel.slot, "tag": panel.tag, "module_url": panel.module_url,
                        "label": panel.label, "order": panel.order})
    return jsonify(out)


@api.get("/departments")
@api.output(s.DepartmentOut(many=True))
@api.doc(tags=["Directory"], summary="Departments (queues) and their members", security=SEC)
def departments() -> Any:
    return repo(DirectoryRepository).departments()


@api.post("/departments")
@api.input(s.NameIn, arg_name="data")
@api.output(s.DepartmentOut, status_code=201)
@api.doc(tags=["Directory"], summary="Create a department", security=SEC, responses=[403, 422])
@writes
def create_department(data: dict[str, Any]) -> Any:
    return repo(DirectoryRepository).create_department(data["name"]), 201


@api.delete("/departments/<int:department_id>")
@api.output({}, status_code=204)
@api.doc(tags=["Directory"], summary="Delete an empty department", security=SEC, responses=[403, 404, 422])
@writes
def delete_department(department_id: int) -> Any:
    repo(DirectoryRepository).delete_department(department_id)
    return "", 204


@api.put("/departments/<int:department_id>/members/<int:user_id>")
@api.input(s.MembershipIn, arg_name="data")
@api.output({}, status_code=204)
@api.doc(tags=["Directory"], summary="Add a member (is_admin makes a department admin)", security=SEC,
         responses=[403, 404])
@writes
def put_member(department_id: int, user_id: int, data: dict[str, Any]) -> Any:
    repo(DirectoryRepository).set_member(department_id, user_id, True, data["is_admin"])
    return "", 204


@api.delete("/departments/<int:department_id>/members/<int:user_id>")
@api.output({}, status_code=204)
@api.doc(tags=["Directory"], summary="Remove a member", security=SEC, responses=[403, 404])
@writes
def delete_member(department_id: int, user_id: int) -> Any:
    repo(DirectoryRepository).set_member(department_id, user_id, False, False)
    return "", 204


@api.get("/users")
@api.output(s.UserOut(many=True))
@api.doc(tags=["Directory"], summary="Users of the tenant", security=SEC)
def users() -> Any:
    return repo(DirectoryRepository).users()


@api.post("/users")
@api.input(s.UserIn, arg_name="data")
@api.output(s.UserOut, status_code=201)
@api.doc(tags=["Directory"], summary="Create a user", security=SEC, responses=[403, 422])
@writes
def create_user(data: dict[str, Any]) -> Any:
    return repo(DirectoryRepository).create_user(data), 201


@api.patch("/users/<int:user_id>")
@api.input(s.UserPatch, arg_name="data")
@api.output(s.UserOut)
@api.doc(tags=["Directory"], summary="Change a user", security=SEC, responses=[403, 404, 422])
@writes
def update_user(user_id: int, data: dict[str, Any]) -> Any:
    return repo(DirectoryRepository).update_user(user_id, data)


@api.get("/tokens")
@api.output(s.TokenOut(many=True))
@api.doc(tags=["Tokens"], summary="Your API tokens (an admin sees the tenant's)", security=SEC)
def all_tokens() -> Any:
    return repo(TokenRepository).all()


@api.post("/tokens")
@api.input(s.TokenIn, arg_name="data")
@api.output(s.TokenOut, status_code=201)
@api.doc(tags=["Tokens"], summary="Create an API token; the secret is shown once", security=SEC,
         responses=[403, 422])
@writes
def create_token(data: dict[str, Any]) -> Any:
    if principal().scopes != frozenset({"read", "write", "import", "admin"}) and not principal().has_scope("admin"):
        raise PermissionDenied("a token may not create tokens unless it has the admin scope")
    return repo(TokenRepository).create(data["name"], data["scopes"], data.get("expires_days"),
                                        data.get("user_id")), 201


@api.delete("/tokens/<int:token_id>")
@api.output({}, status_code=204)
@api.doc(tags=["Tokens"], summary="Revoke a token", security=SEC, responses=[404])
@writes
def revoke_token(token_id: int) -> Any:
    repo(TokenRepository).revoke(token_id)
    return "", 204


@api.get("/audit")
@api.input(s.AuditQuery, location="query", arg_name="args")
@api.output(s.AuditOut(many=True))
@api.doc(tags=["Audit"], summary="Audit events, newest first", security=SEC, responses=[403])
def audit(args: dict[str, Any]) -> Any:
    p = principal()
    if not may(p, "audit:read"):
        raise PermissionDenied("only tenant admins may read the audit log")
    q = select(AUDIT).where(AUDIT.c.tenant_id == p.tenant_id)
    if args.get("entity"):
        q = q.where(AUDIT.c.entity == args["entity"])
    if args.get("before_id"):
        q = q.where(AUDIT.c.id < args["before_id"])
    rows = db.session.execute(q.order_by(AUDIT.c.id.desc()).limit(args["limit"])).mappings()
    return [{**{k: r[k] for k in ("id", "user_id", "action", "entity", "entity_id", "details")},
             "at": r["at"].isoformat()} for r in rows]
