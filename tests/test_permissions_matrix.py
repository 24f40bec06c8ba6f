"""Every cell of DESIGN.md §4 as a case: role x scope x action, conversion, CSV rights, history.

The expectations below are written out by hand from the design table, not derived from
``plugin_host.permissions.MATRIX``, so a wrong matrix fails here.
"""

from __future__ import annotations

import pytest

from plugin_host.records import ContactRecord, EmailIn
from plugin_host.repo import (
    ActivityRepository,
    ContactQuery,
    ContactRepository,
    NotFound,
    PermissionDenied,
    Upserter,
    UpsertOptions,
)

ACTORS = ("admin", "dadmin", "agent1")
SCOPES = ("global", "dept_own", "dept_other", "private_own", "private_other")
Y, N = True, False
# actor -> scope -> (read, create, update, delete, import)
EXPECTED = {
    "admin": {s: (Y, Y, Y, Y, Y) for s in SCOPES},
    "dadmin": {"global": (Y, N, N, N, N), "dept_own": (Y, Y, Y, Y, Y), "dept_other": (N, N, N, N, N),
               "private_own": (Y, Y, Y, Y, Y), "private_other": (N, N, N, N, N)},
    "agent1": {"global": (Y, N, N, N, N), "dept_own": (Y, N, N, N, N), "dept_other": (N, N, N, N, N),
               "private_own": (Y, Y, Y, Y, Y), "private_other": (N, N, N, N, N)},
}
ACTIONS = ("read", "create", "update", "delete", "import", "export")
CELLS = [(a, s, act) for a in ACTORS for s in SCOPES for act in ACTIONS]


def scope_values(world, actor: str, scope: str) -> dict:
    """The concrete scope for an actor: Sales (d1) is every actor's own department."""
    other_owner = "agent2" if actor != "agent2" else "agent1"
    return {
        "global": {"visibility": "global"},
        "dept_own": {"visibility": "department", "department_id": world.d1},
        "dept_other": {"visibility": "department", "department_id": world.d2},
        "private_own": {"visibility": "private", "owner_id": world.users[actor]},
        "private_other": {"visibility": "private", "owner_id": world.users[other_owner]},
    }[scope]


def seeded(world, session, actor, scope) -> int:
    admin = ContactRepository(session, world.principal("admin"))
    cid = admin.create({"first_name": "Target", "last_name": scope, **scope_values(world, actor, scope)})["id"]
    session.commit()
    return cid


def attempt(world, session, actor, scope, action) -> bool:
    p = world.principal(actor)
    repo = ContactRepository(session, p)
    values = scope_values(world, actor, scope)
    try:
        if action == "create":
            repo.create({"first_name": "New", "last_name": "One", **values})
        elif action == "import":
            opts = UpsertOptions(visibility=values["visibility"], department_id=values.get("department_id"),
                                 owner_id=values.get("owner_id"))
            out = Upserter(session, p, options=opts).apply([ContactRecord(first_name="Imp", last_name="Row",
                                                                          emails=(EmailIn("imp@x.example"),))])
            assert out[0].status == "created", out
        else:
            cid = seeded(world, session, actor, scope)
            if action == "read":
                repo.get(cid)
            elif action == "export":
                return cid in {c["id"] for c in repo.iter_all(ContactQuery())}
            elif action == "update":
                repo.update(cid, {"notes": "changed"})
            elif action == "delete":
                repo.delete(cid)
        return True
    except (PermissionDenied, NotFound):
        return False
    finally:
        session.rollback()


@pytest.mark.parametrize(("actor", "scope", "action"), CELLS, ids=[f"{a}-{s}-{x}" for a, s, x in CELLS])
def test_matrix_cell(world, session, actor, scope, action):
    read, create, upd, dele, imp = EXPECTED[actor][scope]
    expected = {"read": read, "export": read, "create": create, "update": upd, "delete": dele, "import": imp}[action]
    assert attempt(world, session, actor, scope, action) is expected


CONVERSIONS = [
    # actor, from, to, expected
    ("admin", "private_other", "global", Y),
    ("admin", "global", "dept_other", Y),
    ("admin", "dept_own", "private_other", Y),
    ("dadmin", "private_own", "dept_own", Y),
    ("dadmin", "dept_own", "private_own", Y),
    ("dadmin", "dept_own", "global", N),
    ("dadmin", "global", "dept_own", N),
    ("dadmin", "private_own", "dept_other", N),
    ("dadmin", "private_own", "global", N),
    ("agent1", "private_own", "global", N),
    ("agent1", "private_own", "dept_own", N),
    ("agent1", "dept_own", "private_own", N),
    ("agent1", "global", "private_own", N),
]


@pytest.mark.parametrize(("actor", "old", "new", "expected"), CONVERSIONS,
                         ids=[f"{a}-{o}-to-{n}" for a, o, n, _ in CONVERSIONS])
def test_conversion_cell(world, session, actor, old, new, expected):
    cid = seeded(world, session, actor, old)
    repo = ContactRepository(session, world.principal(actor))
    target = scope_values(world, actor, new)
    try:
        out = repo.convert(cid, target["visibility"], target.get("department_id"), target.get("owner_id"))
        ok = True
        assert out["visibility"] == target["visibility"]
    except (PermissionDenied, NotFound):
        ok = False
    assert ok is expected


def test_csv_right_withdrawn_blocks_import_even_private(world, session):
    p = world.principal("noimport")
    with pytest.raises(PermissionDenied):
        Upserter(session, p, options=UpsertOptions(visibility="private"))


@pytest.mark.parametrize(("scopes", "action", "expected"), [
    (frozenset({"read"}), "read", Y), (frozenset({"read"}), "create", N), (frozenset({"read"}), "import", N),
    (frozenset({"read", "write"}), "create", Y), (frozenset({"write"}), "read", N),
    (frozenset({"read", "import"}), "import", Y),
])
def test_token_scopes_narrow_the_matrix(world, session, scopes, action, expected):
    p = world.principal("admin", scopes)
    repo = ContactRepository(session, p)
    try:
        if action == "read":
            cid = seeded(world, session, "admin", "global")
            repo.get(cid)
        elif action == "create":
            repo.create({"first_name": "A", "last_name": "B", "visibility": "private"})
        else:
            Upserter(session, p, options=UpsertOptions(visibility="global"))
        ok = True
    except (PermissionDenied, NotFound):
        ok = False
    assert ok is expected


HISTORY = {  # viewer -> which authors' activities it sees (author, department)
    "admin": {"agent1@d1", "agent2@d2", "dadmin@d1", "admin@-"},
    "dadmin": {"agent1@d1", "dadmin@d1"},
    "agent1": {"agent1@d1"},
    "agent2": {"agent2@d2"},
}


@pytest.mark.parametrize("viewer", sorted(HISTORY))
def test_conversation_history_cell(world, session, viewer):
    cid = seeded(world, session, "admin", "global")
    for author, dept in (("agent1", world.d1), ("agent2", world.d2), ("dadmin", world.d1), ("admin", None)):
        ActivityRepository(session, world.principal(author)).add(
            cid, {"kind": "call", "summary": f"{author}@{'d1' if dept == world.d1 else 'd2' if dept else '-'}",
                  "department_id": dept})
    session.commit()
    seen = {a["summary"] for a in ActivityRepository(session, world.principal(viewer)).timeline(cid)}
    assert seen == HISTORY[viewer]
    badge = ContactRepository(session, world.principal(viewer)).get(cid)["activity_count"]
    assert badge == len(HISTORY[viewer])


def test_nothing_crosses_tenants(world, session):
    cid = seeded(world, session, "admin", "global")
    other = ContactRepository(session, world.principal("other_admin"))
    with pytest.raises(NotFound):
        other.get(cid)
    assert other.count(ContactQuery()) == 0
    with pytest.raises(NotFound):
        other.update(cid, {"notes": "x"})
    with pytest.raises(NotFound):
        ActivityRepository(session, world.principal("other_admin")).timeline(cid)
