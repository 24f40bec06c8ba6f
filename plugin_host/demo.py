"""The demo tenant seeded on first start: users, departments and ~200 realistic contacts."""

from __future__ import annotations

import random
from datetime import timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from plugin_host.directory import create_department, create_tenant, create_user, principal_for, set_membership
from plugin_host.models import T, utcnow
from plugin_host.repo import ActivityRepository, ContactQuery, ContactRepository, ListRepository
from plugin_host.text import fold

FIRST = ["Noah", "Liam", "Emma", "Lucas", "Olivia", "Mia", "Sofia", "Jonas", "Lena", "Matteo", "Chloé", "Hugo",
         "Aoife", "Oliver", "Amelia", "Zoë", "Mateo", "Isabella", "Lukas", "Anna", "Björn", "Ingrid", "Sven",
         "Priya", "Arjun", "Yuki", "Kenji", "Fatima", "Omar", "Elena", "Marco", "Giulia", "Pierre", "Camille",
         "Jakub", "Zofia", "Nikolaj", "Freja", "Diego", "Lucía"]
LAST = ["Bianchi", "White", "Schmidt", "Anderson", "Baker", "Müller", "Rossi", "Dubois", "García", "Novak",
        "O'Brien", "Nakamura", "Kowalski", "Jensen", "Silva", "Fischer", "Martin", "Smith", "Johnson", "Weber",
        "Lefèvre", "Moreau", "Khan", "Patel", "Sato", "Hansen", "Lindqvist", "Costa", "Romano", "Wagner"]
COMPANIES = ["PulseNet", "CommStack", "RingLogic", "NetPulse", "DataRoute", "Voxel Telecom", "Brightline GmbH",
             "Atlas Logistics", "Nordlys AS", "Café Central", "Helix Health", "Quantum Retail", None]
PHONES = [("US", "+1{a}555{b:04d}"), ("DE", "+49 30 {b:04d}{a}"), ("GB", "+44 20 7946 {b:04d}"),
          ("FR", "+33 1 42 {a:02d} {b:04d}"), ("US", "({a}) 555-{b:04d}")]
TAGS = ["vip", "prospect", "support", "billing", "partner", "renewal"]
NOTES = ["Needs pricing clarification.", "Requested SLA information.", "Considering long-term contract.",
         "Prefers calls after 2 pm.", None, None]
USERS = [("admin", True, "Ada Admin", "100"), ("supervisor", False, "Sam Supervisor", "101"),
         ("agent1", False, "Alex Agent", "201"), ("agent2", False, "Blair Agent", "202")]
PASSWORD = "contacts-demo"


def seed_demo(s: Session, slug: str = "demo", count: int = 200, seed: int = 42) -> dict[str, Any]:
    """Create the demo tenant unless it exists; returns the logins."""
    if s.execute(select(T["tenants"].c.id).where(T["tenants"].c.slug == slug)).first():
        return {"created": False, "logins": [(u, PASSWORD) for u, *_ in USERS]}
    rnd = random.Random(seed)
    tid = create_tenant(s, slug, "Demo Company", "US")
    uids = {u: create_user(s, tid, u, PASSWORD, is_admin=a, display_name=n, extension=e,
                           email=f"{u}@demo.example") for u, a, n, e in USERS}
    sales, support = create_department(s, tid, "Sales"), create_department(s, tid, "Support")
    set_membership(s, sales, uids["supervisor"], is_admin=True)
    set_membership(s, support, uids["supervisor"], is_admin=True)
    set_membership(s, sales, uids["agent1"])
    set_membership(s, support, uids["agent2"])
    admin = principal_for(s, uids["admin"])
    repo = ContactRepository(s, admin)
    ids = [repo.create(_contact(rnd, i, sales, support, uids))["id"] for i in range(count)]
    lists = ListRepository(s, admin)
    vip = lists.create({"name": "VIP customers", "kind": "static", "description": "Hand-picked accounts"})
    lists.add_members(vip["id"], rnd.sample(ids, 25))
    lists.create({"name": "Leads", "kind": "dynamic", "criteria": {"contact_type": "lead"}})
    lists.create({"name": "Prospects", "kind": "dynamic", "criteria": {"tags": ["prospect"]}})
    for uname in ("agent1", "agent2", "supervisor"):
        p = principal_for(s, uids[uname])
        visible = ContactRepository(s, p).list(ContactQuery(limit=60))["items"]
        acts = ActivityRepository(s, p)
        for c in rnd.sample(visible, min(15, len(visible))):
            for k in range(rnd.randint(1, 4)):
                acts.add(c["id"], {"kind": rnd.choice(["call", "call", "chat", "email", "note"]),
                                   "direction": rnd.choice(["inbound", "outbound"]),
                                   "summary": rnd.choice(["Asked about invoice", "Follow-up call", "Demo booked",
                                                          f"Support ticket #{rnd.randint(1000, 9999)}"]),
                                   "occurred_at": (utcnow() - timedelta(days=rnd.randint(0, 90), minutes=k * 7)
                                                   ).isoformat()})
    return {"created": True, "tenant_id": tid, "logins": [(u, PASSWORD) for u, *_ in USERS]}


def _contact(rnd: random.Random, i: int, sales: int, support: int, uids: dict[str, int]) -> dict[str, Any]:
    first, last, company = rnd.choice(FIRST), rnd.choice(LAST), rnd.choice(COMPANIES)
    _region, pattern = rnd.choice(PHONES)
    phones = [{"number": pattern.format(a=rnd.randint(201, 989), b=rnd.randint(0, 9999)),
               "label": rnd.choice(["work", "mobile", "home"])}]
    if rnd.random() < 0.3:
        phones.append({"number": f"+1 415 555 {rnd.randint(0, 9999):04d}", "label": "mobile"})
    domain = fold(company or "mail").replace(" ", "") + ".example"
    address = fold(f"{first}.{last}{i}@{domain}").replace("'", "").replace(" ", "")
    roll = rnd.random()
    scope: dict[str, Any] = {"visibility": "global"}
    if roll < 0.35:
        scope = {"visibility": "department", "department_id": sales if roll < 0.2 else support}
    elif roll < 0.5:
        scope = {"visibility": "private", "owner_id": uids[rnd.choice(["agent1", "agent2", "supervisor"])]}
    return {"first_name": first, "last_name": last, "company": company or None,
            "contact_type": "lead" if rnd.random() < 0.25 else "customer",
            "status": rnd.choice(["active"] * 8 + ["inactive", "do_not_contact"]),
            "phones": phones, "emails": [{"address": address, "label": rnd.choice(["business", "private"])}],
            "tags": rnd.sample(TAGS, rnd.randint(0, 2)), "notes": rnd.choice(NOTES),
            "acquisition_source": rnd.choice(["web_form", "referral", "trade_show", "cold_call", "website"]),
            **scope}
