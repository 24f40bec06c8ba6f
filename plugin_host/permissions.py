"""The permission matrix as data, one check function, and the SQL filters derived from it.

Every read in the repository goes through :func:`contact_read_filter` or
:func:`activity_read_filter` inside its SQL; every write goes through :func:`allowed`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from functools import lru_cache
from typing import Any

from sqlalchemy import ColumnElement, and_, false, or_, true


class Role(StrEnum):
    ADMIN = "admin"
    DEPARTMENT_ADMIN = "department_admin"
    AGENT = "agent"


class Scope(StrEnum):
    GLOBAL = "global"
    DEPARTMENT = "department"
    PRIVATE = "private"


class Action(StrEnum):
    READ = "read"
    CREATE = "create"
    UPDATE = "update"
    DELETE = "delete"
    IMPORT = "import"
    EXPORT = "export"


class Rule(StrEnum):
    """Which contacts of a scope a role may act on."""

    ANY = "any"  # every contact of that scope in the tenant
    MEMBER = "member"  # department contacts of departments the user belongs to
    ADMIN_DEPT = "admin_dept"  # department contacts of departments the user administers
    OWN = "own"  # private contacts the user owns
    NONE = "none"


A, D, G = Role.ADMIN, Role.DEPARTMENT_ADMIN, Role.AGENT
_WRITE = (Action.CREATE, Action.UPDATE, Action.DELETE)

#: role -> scope -> action -> rule.  Mirrors DESIGN.md §4 cell by cell.
MATRIX: dict[Role, dict[Scope, dict[Action, Rule]]] = {
    A: {
        Scope.GLOBAL: {a: Rule.ANY for a in Action},
        Scope.DEPARTMENT: {a: Rule.ANY for a in Action},
        Scope.PRIVATE: {a: Rule.ANY for a in Action},
    },
    D: {
        Scope.GLOBAL: {Action.READ: Rule.ANY, Action.EXPORT: Rule.ANY}
        | {a: Rule.NONE for a in (*_WRITE, Action.IMPORT)},
        Scope.DEPARTMENT: {Action.READ: Rule.MEMBER, Action.EXPORT: Rule.MEMBER}
        | {a: Rule.ADMIN_DEPT for a in (*_WRITE, Action.IMPORT)},
        Scope.PRIVATE: {a: Rule.OWN for a in Action},
    },
    G: {
        Scope.GLOBAL: {Action.READ: Rule.ANY, Action.EXPORT: Rule.ANY}
        | {a: Rule.NONE for a in (*_WRITE, Action.IMPORT)},
        Scope.DEPARTMENT: {Action.READ: Rule.MEMBER, Action.EXPORT: Rule.MEMBER}
        | {a: Rule.NONE for a in (*_WRITE, Action.IMPORT)},
        Scope.PRIVATE: {a: Rule.OWN for a in Action},
    },
}


class ConvertRule(StrEnum):
    ANY = "any"
    DELETE_OLD_CREATE_NEW = "delete_old_create_new"
    OWN_PRIVATE_CREATE_NEW = "own_private_create_new"


#: Conversion between scopes (private -> department -> global and back).
CONVERT: dict[Role, ConvertRule] = {
    A: ConvertRule.ANY,
    D: ConvertRule.DELETE_OLD_CREATE_NEW,
    G: ConvertRule.OWN_PRIVATE_CREATE_NEW,
}


class ActivityRule(StrEnum):
    ALL = "all"
    ADMIN_DEPTS_AND_OWN = "admin_depts_and_own"
    OWN = "own"


#: Conversation history (activities) visibility.
ACTIVITIES: dict[Role, ActivityRule] = {
    A: ActivityRule.ALL,
    D: ActivityRule.ADMIN_DEPTS_AND_OWN,
    G: ActivityRule.OWN,
}

#: Tenant-level capabilities outside the contact matrix.
CAPABILITIES: dict[str, frozenset[Role]] = {
    "lists:manage": frozenset({A, D}),
    "tags:manage": frozenset({A, D}),
    "accounts:manage": frozenset({A, D}),
    "custom_fields:manage": frozenset({A}),
    "departments:manage": frozenset({A}),
    "users:manage": frozenset({A}),
    "sources:manage": frozenset({A}),
    "plugins:manage": frozenset({A}),
    "audit:read": frozenset({A}),
    "tokens:manage_all": frozenset({A}),
}

#: Which API-token scope an action needs.
TOKEN_SCOPE_FOR: dict[Action, str] = {
    Action.READ: "read",
    Action.EXPORT: "read",
    Action.CREATE: "write",
    Action.UPDATE: "write",
    Action.DELETE: "write",
    Action.IMPORT: "import",
}
TOKEN_SCOPES = ("read", "write", "import", "admin")


@dataclass(frozen=True)
class Principal:
    """The acting user as the policy sees it; the tenant always comes from here."""

    tenant_id: int
    user_id: int
    role: Role
    member_departments: frozenset[int] = frozenset()
    admin_departments: frozenset[int] = frozenset()
    scopes: frozenset[str] = frozenset(TOKEN_SCOPES)
    can_import: bool = True
    username: str = ""
    extra: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)

    def has_scope(self, scope: str) -> bool:
        return scope in self.scopes


def role_of(is_admin: bool, admin_departments: frozenset[int]) -> Role:
    """A tenant admin is ``admin``; a user administering any department is ``department_admin``."""
    if is_admin:
        return Role.ADMIN
    return Role.DEPARTMENT_ADMIN if admin_departments else Role.AGENT


def rule_for(p: Principal, action: Action, scope: Scope | str) -> Rule:
    """The matrix cell for ``p``, narrowed by the token's scopes and the per-user import right."""
    if not p.has_scope(TOKEN_SCOPE_FOR[action]):
        return Rule.NONE
    if action is Action.IMPORT and not p.can_import:
        return Rule.NONE
    return MATRIX[p.role][Scope(scope)][action]


def _rule_admits(p: Principal, rule: Rule, department_id: int | None, owner_id: int | None) -> bool:
    if rule is Rule.ANY:
        return True
    if rule is Rule.MEMBER:
        return department_id in p.member_departments
    if rule is Rule.ADMIN_DEPT:
        return department_id in p.admin_departments
    if rule is Rule.OWN:
        return owner_id == p.user_id
    return False


def allowed(
    p: Principal,
    action: Action,
    scope: Scope | str,
    department_id: int | None = None,
    owner_id: int | None = None,
) -> bool:
    """May ``p`` perform ``action`` on a contact in this scope (department / owner)?"""
    return _rule_admits(p, rule_for(p, action, scope), department_id, owner_id)


def may_convert(
    p: Principal,
    old: tuple[str, int | None, int | None],
    new: tuple[str, int | None, int | None],
) -> bool:
    """Scope conversion: ``old``/``new`` are ``(scope, department_id, owner_id)``."""
    if not p.has_scope("write"):
        return False
    rule = CONVERT[p.role]
    if rule is ConvertRule.ANY:
        return True
    creates = allowed(p, Action.CREATE, *new)
    if rule is ConvertRule.DELETE_OLD_CREATE_NEW:
        return allowed(p, Action.DELETE, *old) and creates
    return old[0] == Scope.PRIVATE and old[2] == p.user_id and creates


def may(p: Principal, capability: str) -> bool:
    """Tenant-level capability check (lists, users, sources, ...); admin scope needed for admin work."""
    roles = CAPABILITIES[capability]
    needs = "write" if capability.split(":")[0] in {"lists", "tags", "accounts"} else "admin"
    return p.role in roles and p.has_scope(needs)


def _rule_sql(p: Principal, rule: Rule, department_col: Any, owner_col: Any) -> ColumnElement[bool]:
    if rule is Rule.ANY:
        return true()
    if rule is Rule.MEMBER:
        return department_col.in_(sorted(p.member_departments)) if p.member_departments else false()
    if rule is Rule.ADMIN_DEPT:
        return department_col.in_(sorted(p.admin_departments)) if p.admin_departments else false()
    if rule is Rule.OWN:
        return owner_col == p.user_id
    return false()


@lru_cache(maxsize=4096)
def scoped_filter(p: Principal, action: Action, table: Any) -> ColumnElement[bool]:
    """SQL for "rows of ``table`` (contacts or lists) that ``p`` may ``action``", tenant included.

    Cached per principal: SQL expressions are immutable, and rebuilding this one dominated the
    cost of a caller-ID lookup.
    """
    parts = []
    for scope in Scope:
        rule = rule_for(p, action, scope)
        if rule is Rule.NONE:
            continue
        cond = _rule_sql(p, rule, table.c.department_id, table.c.owner_id)
        parts.append(and_(table.c.visibility == scope.value, cond))
    return and_(table.c.tenant_id == p.tenant_id, or_(*parts) if parts else false())


def contact_read_filter(p: Principal, contacts: Any) -> ColumnElement[bool]:
    return scoped_filter(p, Action.READ, contacts)


def activity_read_filter(p: Principal, activities: Any) -> ColumnElement[bool]:
    """Conversation history visible to ``p`` (the contact's own visibility is checked separately)."""
    if not p.has_scope("read"):
        return false()
    tenant = activities.c.tenant_id == p.tenant_id
    rule = ACTIVITIES[p.role]
    if rule is ActivityRule.ALL:
        return tenant
    own = activities.c.user_id == p.user_id
    if rule is ActivityRule.OWN or not p.admin_departments:
        return and_(tenant, own)
    return and_(tenant, or_(own, activities.c.department_id.in_(sorted(p.admin_departments))))


def activity_visible(p: Principal, department_id: int | None, user_id: int | None) -> bool:
    """Python twin of :func:`activity_read_filter`, for the policy oracle and writes."""
    rule = ACTIVITIES[p.role]
    if rule is ActivityRule.ALL:
        return True
    if user_id == p.user_id:
        return True
    return rule is ActivityRule.ADMIN_DEPTS_AND_OWN and department_id in p.admin_departments
