"""Property: for random tenants, departments, users and contacts, every read path returns
exactly what a plain-Python oracle of DESIGN.md §4 allows, and nothing crosses tenants."""

from __future__ import annotations

from dataclasses import dataclass

from hypothesis import given
from hypothesis import strategies as st

from plugin_host.directory import create_department, create_tenant, create_user, principal_for, set_membership
from plugin_host.repo import ActivityRepository, ContactQuery, ContactRepository, LookupRepository, NotFound
from tests.conftest import reset_database

NAMES = ["Anna", "Ben", "Cara", "Dan", "Eve", "Finn"]
NUMBERS = [f"+1 212 555 {n:04d}" for n in (1001, 2002, 3003, 4004)]


@dataclass
class GenUser:
    tenant: int
    is_admin: bool
    depts: dict[int, bool]  # department index -> is department admin


@dataclass
class GenContact:
    tenant: int
    scope: str
    dept: int
    owner: int
    name: str
    number: int


@dataclass
class GenActivity:
    contact: int
    author: int
    dept: int | None


def worlds():
    users = st.lists(st.builds(GenUser, st.integers(0, 1), st.booleans(),
                               st.dictionaries(st.integers(0, 2), st.booleans(), max_size=3)), min_size=1, max_size=5)
    return users.flatmap(lambda us: st.tuples(
        st.just(us),
        st.lists(st.builds(GenContact, st.integers(0, 1), st.sampled_from(["global", "department", "private"]),
                           st.integers(0, 2), st.integers(0, len(us) - 1), st.sampled_from(NAMES),
                           st.integers(0, len(NUMBERS) - 1)), max_size=12),
        st.lists(st.builds(GenActivity, st.integers(0, 11), st.integers(0, len(us) - 1),
                           st.one_of(st.none(), st.integers(0, 2))), max_size=8),
    ))


def oracle_reads(u: GenUser, c: GenContact, uid: int, owner_uid: int, user_tenant: int) -> bool:
    if c.tenant != user_tenant:
        return False
    if u.is_admin:
        return True
    if c.scope == "global":
        return True
    if c.scope == "department":
        return c.dept in u.depts
    return owner_uid == uid


def oracle_sees_activity(u: GenUser, uid: int, author_uid: int, dept: int | None) -> bool:
    if u.is_admin:
        return True
    if author_uid == uid:
        return True
    admin_of = {d for d, a in u.depts.items() if a}
    return bool(admin_of) and dept in admin_of


@given(world=worlds())
def test_every_read_path_matches_the_oracle(app, world):
    gen_users, gen_contacts, gen_acts = world
    from plugin_host.models import db

    with app.app_context():
        s = db.session
        reset_database()
        tenants = [create_tenant(s, "t0", "T0"), create_tenant(s, "t1", "T1")]
        depts = {(t, i): create_department(s, tenants[t], f"D{i}") for t in (0, 1) for i in range(3)}
        uids = []
        for i, u in enumerate(gen_users):
            uid = create_user(s, tenants[u.tenant], f"u{i}", None, is_admin=u.is_admin)
            for d, adm in u.depts.items():
                set_membership(s, depts[(u.tenant, d)], uid, is_admin=adm)
            uids.append(uid)
        contact_ids = []
        for c in gen_contacts:
            # the owner must live in the contact's tenant; pick one deterministically or fall back to global
            owners = [i for i, u in enumerate(gen_users) if u.tenant == c.tenant]
            if c.scope == "private" and not owners:
                c.scope = "global"
            if c.scope == "private":
                c.owner = owners[c.owner % len(owners)]
            admin_p = _admin(s, tenants[c.tenant])
            values = {"first_name": c.name, "last_name": "X", "visibility": c.scope,
                      "phones": [{"number": NUMBERS[c.number], "label": "work"}]}
            if c.scope == "department":
                values["department_id"] = depts[(c.tenant, c.dept)]
            if c.scope == "private":
                values["owner_id"] = uids[c.owner]
            contact_ids.append(ContactRepository(s, admin_p).create(values)["id"])
        acts = []
        for a in gen_acts:
            if not gen_contacts:
                break
            ci = a.contact % len(gen_contacts)
            c, author = gen_contacts[ci], gen_users[a.author]
            if author.tenant != c.tenant:
                continue
            p = principal_for(s, uids[a.author])
            dept_id = depts[(c.tenant, a.dept)] if a.dept is not None and a.dept in author.depts else None
            try:
                ActivityRepository(s, p).add(contact_ids[ci], {"kind": "call", "department_id": dept_id})
            except NotFound:
                continue  # the author cannot read that contact: no activity, as in the product
            acts.append((ci, a.author, None if dept_id is None else a.dept))
        s.commit()

        for i, u in enumerate(gen_users):
            p = principal_for(s, uids[i])
            repo = ContactRepository(s, p)
            expected = {contact_ids[k] for k, c in enumerate(gen_contacts)
                        if oracle_reads(u, c, i, c.owner, u.tenant)}
            got = set()
            q = ContactQuery(limit=3)
            while True:
                page = repo.list(q)
                got |= {x["id"] for x in page["items"]}
                if not page["next"]:
                    break
                q.after = page["next"]
            assert got == expected, f"list for user {i}"
            assert repo.count(ContactQuery()) == len(expected)
            for name in ("An", "Be", "Eve"):
                hits = {x["id"] for x in repo.list(ContactQuery(q=name, limit=50))["items"]}
                want = {contact_ids[k] for k, c in enumerate(gen_contacts)
                        if contact_ids[k] in expected and c.name.lower().startswith(name.lower())}
                assert hits == want, f"search {name!r} for user {i}"
            for n, number in enumerate(NUMBERS):
                want = {contact_ids[k] for k, c in enumerate(gen_contacts)
                        if contact_ids[k] in expected and c.number == n}
                res = LookupRepository(s, p).lookup(number)
                assert {x["id"] for x in res["contacts"]} == want, f"lookup {number} for user {i}"
            for k in range(len(gen_contacts)):
                acts_repo = ActivityRepository(s, p)
                if contact_ids[k] not in expected:
                    try:
                        acts_repo.timeline(contact_ids[k])
                    except NotFound:
                        continue
                    raise AssertionError("timeline of an unreadable contact was returned")
                seen = len(acts_repo.timeline(contact_ids[k]))
                want = sum(1 for ci, author, dept in acts if ci == k
                           and oracle_sees_activity(u, i, author, dept))
                assert seen == want, f"timeline of contact {k} for user {i}"
        s.rollback()


def _admin(s, tenant_id):
    from sqlalchemy import select

    from plugin_host.models import T

    users = T["users"]
    uid = s.execute(select(users.c.id).where(users.c.tenant_id == tenant_id, users.c.username == f"root{tenant_id}")
                    ).scalar()
    if uid is None:
        uid = create_user(s, tenant_id, f"root{tenant_id}", None, is_admin=True)
    return principal_for(s, uid)
