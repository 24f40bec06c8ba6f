"""The batched upsert behind every import and every sync (Upserter)."""

from __future__ import annotations

import pytest
from sqlalchemy import func, insert, select

from plugin_host.models import T
from plugin_host.records import ContactRecord, EmailIn, PhoneIn
from plugin_host.repo import (
    ContactQuery,
    ContactRepository,
    CustomFieldRepository,
    ListRepository,
    NotFound,
    PermissionDenied,
    Upserter,
    UpsertOptions,
    ValidationError,
)

TABLES = ("contacts", "contact_phones", "contact_emails", "contact_tags", "tags", "lists", "list_members",
          "custom_field_values", "audit_events")


def rows(session, table):
    return session.execute(select(func.count()).select_from(T[table])).scalar_one()


def snapshot(session):
    return {t: rows(session, t) for t in TABLES}


def upserter(session, world, who="admin", **options):
    return Upserter(session, world.principal(who), options=UpsertOptions(**options))


def rec(first=None, *, email=None, phones=(), **kw):
    emails = (EmailIn(email),) if email else kw.pop("emails", None)
    phone_ins = tuple(p if isinstance(p, PhoneIn) else PhoneIn(p) for p in phones) or kw.pop("phones", None)
    return ContactRecord(first_name=first, emails=emails, phones=phone_ins, **kw)


def get(session, world, cid, who="admin"):
    return ContactRepository(session, world.principal(who)).get(cid)


def statuses(outcomes):
    return [o.status for o in outcomes]


def make_source(session, tenant, name="CRM"):
    return session.execute(insert(T["sources"]).values(tenant_id=tenant, plugin="custom", name=name)
                           .returning(T["sources"].c.id)).scalar_one()


def syncer(session, world, source_id, run_id, **kw):
    return upserter(session, world, source_id=source_id, run_id=run_id, acquisition_source="sync", **kw)


# ---------------------------------------------------------------------------- import mode


def test_import_creates_then_reimport_updates_by_email(world, session):
    first = upserter(session, world)
    out = first.apply([rec("Ann", email="ann@x.org", title="Dev", tags=("imported",)),
                       rec("Bob", email="bob@x.org"), rec("Cy", email="cy@x.org")])
    assert statuses(out) == ["created"] * 3
    assert first.counts == {"created": 3, "updated": 0, "skipped": 0, "error": 0}
    ann = get(session, world, out[0].contact_id)
    assert (ann["first_name"], ann["title"], ann["acquisition_source"], ann["visibility"]) == (
        "Ann", "Dev", "import", "global")
    assert ann["tags"] == ["imported"]
    session.commit()
    before = snapshot(session)

    second = upserter(session, world)
    again = second.apply([rec("Ann", email="ANN@X.ORG", title="Lead"), rec("Bobby", email="bob@x.org"),
                          rec("Dee", email="dee@x.org")])
    assert statuses(again) == ["updated", "updated", "created"]
    assert [o.contact_id for o in again[:2]] == [o.contact_id for o in out[:2]]
    assert second.counts == {"created": 1, "updated": 2, "skipped": 0, "error": 0}
    assert rows(session, "contacts") == before["contacts"] + 1
    ann = get(session, world, out[0].contact_id)
    assert (ann["title"], ann["version"], ann["tags"]) == ("Lead", 2, ["imported"])
    assert ann["emails"] == [{"address": "ANN@X.ORG", "label": "other"}]
    assert get(session, world, out[1].contact_id)["first_name"] == "Bobby"


def test_a_record_that_changes_nothing_writes_nothing(world, session):
    C = T["contacts"]
    out = upserter(session, world).apply([rec("Ann", email="ann@x.org", phones=("+49 30 1234567",), title="Dev"),
                                          rec("Bob", email="bob@x.org")])
    session.commit()
    ann, bob = (o.contact_id for o in out)
    stamp = dict(session.execute(select(C.c.id, C.c.updated_at).where(C.c.id.in_([ann, bob]))).all())

    again = upserter(session, world).apply([
        rec("Ann", email="ann@x.org", phones=("+49 30 1234567",), title="Dev"),  # exactly what is stored
        rec("Bob", email="bob@x.org", phones=("+44 7911 123456",))])  # a new phone is a change
    assert statuses(again) == ["updated", "updated"]
    assert (again[0].contact_id, again[0].message) == (ann, "unchanged")
    assert get(session, world, ann)["version"] == 1  # its ETag stays valid
    assert session.execute(select(C.c.updated_at).where(C.c.id == ann)).scalar_one() == stamp[ann]
    bob_now = get(session, world, bob)
    assert bob_now["version"] == 2 and [p["e164"] for p in bob_now["phones"]] == ["+447911123456"]
    # a tag, a list or a custom value to add is a change too
    tagged = upserter(session, world).apply([rec("Ann", email="ann@x.org", tags=("vip",))])
    assert tagged[0].message == "" and get(session, world, ann)["version"] == 2
    assert get(session, world, ann)["tags"] == ["vip"]


def test_on_duplicate_skip(world, session):
    out = upserter(session, world).apply([rec("Ann", email="ann@x.org", title="Dev")])
    up = upserter(session, world, on_duplicate="skip")
    again = up.apply([rec("Changed", email="ann@x.org", title="Lead"), rec("New", email="new@x.org")])
    assert statuses(again) == ["skipped", "created"]
    assert again[0].contact_id == out[0].contact_id
    assert up.counts["skipped"] == 1
    ann = get(session, world, out[0].contact_id)
    assert (ann["first_name"], ann["title"], ann["version"]) == ("Ann", "Dev", 1)


def test_match_by_phone(world, session):
    cid = upserter(session, world).apply([rec("Phone", phones=["+1 408 555 0101"])])[0].contact_id
    # e-mail matching ignores phones: a second contact
    assert upserter(session, world).apply([rec("Other", phones=["(408) 555-0101"])])[0].status == "created"
    ContactRepository(session, world.principal("admin")).delete(cid + 1)
    out = upserter(session, world, match_keys=("phone",)).apply(
        [rec("Phone 2", phones=["(408) 555-0101"], title="Matched")])
    assert (out[0].status, out[0].contact_id) == ("updated", cid)
    assert get(session, world, cid)["title"] == "Matched"


def test_match_by_mobile_uses_only_mobile_numbers(world, session):
    cid = upserter(session, world).apply([rec("Mo", phones=[PhoneIn("+1 408 555 0123", "mobile")])])[0].contact_id
    as_work = upserter(session, world, match_keys=("mobile",)).apply(
        [rec("Work", phones=[PhoneIn("408 555 0123", "work")])])
    assert as_work[0].status == "created"
    as_mobile = upserter(session, world, match_keys=("mobile",)).apply(
        [rec("Mobile", phones=[PhoneIn("408 555 0123", "mobile")])])
    assert (as_mobile[0].status, as_mobile[0].contact_id) == ("updated", cid)  # the oldest match wins


def test_match_by_external_crm_id(world, session):
    cid = upserter(session, world).apply([rec("Crm", external_crm_id="CRM-1", external_crm_provider="hub")]
                                         )[0].contact_id
    out = upserter(session, world, match_keys=("external_crm_id",)).apply(
        [rec("Crm renamed", external_crm_id="CRM-1", email="crm@x.org"), rec("Crm 2", external_crm_id="CRM-2")])
    assert statuses(out) == ["updated", "created"]
    assert out[0].contact_id == cid
    c = get(session, world, cid)
    assert (c["first_name"], c["external_crm_provider"], c["emails"][0]["address"]) == (
        "Crm renamed", "hub", "crm@x.org")


def test_several_match_keys(world, session):
    a = upserter(session, world).apply([rec("ByMail", email="a@x.org")])[0].contact_id
    b = upserter(session, world).apply([rec("ByPhone", phones=["+1 408 555 0111"])])[0].contact_id
    out = upserter(session, world, match_keys=("email", "phone")).apply(
        [rec("A", email="A@x.org"), rec("B", phones=["408-555-0111"]), rec("C", email="c@x.org")])
    assert [(o.status, o.contact_id) for o in out[:2]] == [("updated", a), ("updated", b)]
    assert out[2].status == "created"


def test_unknown_match_key_or_duplicate_mode_is_refused(world, session):
    with pytest.raises(ValidationError) as exc:
        upserter(session, world, match_keys=("fax",))
    assert "match_keys" in exc.value.errors
    with pytest.raises(ValidationError) as exc:
        upserter(session, world, on_duplicate="replace")
    assert "on_duplicate" in exc.value.errors


def test_matching_never_crosses_tenants(world, session):
    from plugin_host.directory import principal_for

    theirs = Upserter(session, principal_for(session, world.users["other_admin"]), options=UpsertOptions()).apply(
        [rec("Theirs", email="same@x.org")])[0].contact_id
    out = upserter(session, world).apply([rec("Ours", email="same@x.org")])
    assert out[0].status == "created" and out[0].contact_id != theirs
    assert get(session, world, out[0].contact_id)["first_name"] == "Ours"


def test_agent_import_never_updates_what_it_may_not_edit(world, session):
    glob = upserter(session, world).apply([rec("Global", email="g@x.org", title="Keep")])[0].contact_id
    out = upserter(session, world, "agent1").apply([rec("Mine", email="g@x.org", title="Mine")])
    assert out[0].status == "created" and out[0].contact_id != glob
    assert get(session, world, glob)["title"] == "Keep"
    assert get(session, world, out[0].contact_id)["visibility"] == "private"


def test_duplicates_inside_one_batch_are_merged(world, session):
    up = upserter(session, world)
    out = up.apply([rec("Dup", email="dup@x.org", phones=["+1 408 555 0101"], title="First"),
                    rec("Other", email="other@x.org"),
                    rec(None, email="DUP@x.org", phones=["+1 408 555 0102"], last_name="Later", tags=("t2",))])
    assert statuses(out) == ["created", "created", "updated"]
    assert up.counts == {"created": 2, "updated": 1, "skipped": 0, "error": 0}
    assert rows(session, "contacts") == 2
    c = get(session, world, out[0].contact_id)
    assert (c["first_name"], c["last_name"], c["title"]) == ("Dup", "Later", "First")
    assert [p["e164"] for p in c["phones"]] == ["+14085550101", "+14085550102"]
    assert len(c["emails"]) == 1 and c["tags"] == ["t2"]
    # the merged row reports the contact it went into
    assert out[2].contact_id == out[0].contact_id


def test_duplicates_inside_one_batch_are_skipped_with_skip(world, session):
    out = upserter(session, world, on_duplicate="skip").apply(
        [rec("Dup", email="dup@x.org"), rec("Dup again", email="dup@x.org")])
    assert statuses(out) == ["created", "skipped"]
    assert "row 1" in out[1].message
    assert get(session, world, out[0].contact_id)["first_name"] == "Dup"
    assert rows(session, "contacts") == 1


def test_blank_values_are_ignored_by_default(world, session):
    CustomFieldRepository(session, world.principal("admin")).create({"name": "crm_no"})
    cid = upserter(session, world).apply([rec("Full", email="f@x.org", phones=["+1 408 555 0101"], title="CTO",
                                              company="Acme", custom={"crm_no": "42"},
                                              preferred_channel="email")])[0].contact_id
    out = upserter(session, world).apply([ContactRecord(first_name="Full", title="", company="", emails=(
        EmailIn("f@x.org"),), phones=(PhoneIn(" "),), custom={"crm_no": ""}, preferred_channel="",
        status="")])
    assert (out[0].status, out[0].contact_id) == ("updated", cid), out[0].message
    c = get(session, world, cid)
    assert (c["title"], c["company"], c["preferred_channel"], c["status"]) == ("CTO", "Acme", "email", "active")
    assert [p["e164"] for p in c["phones"]] == ["+14085550101"]
    assert c["custom"] == {"crm_no": "42"}


def test_blank_clears(world, session):
    CustomFieldRepository(session, world.principal("admin")).create({"name": "crm_no"})
    cid = upserter(session, world).apply([rec("Full", email="f@x.org", phones=["+1 408 555 0101"], title="CTO",
                                              company="Acme", custom={"crm_no": "42"}, tags=("keep",),
                                              preferred_channel="email", status="inactive")])[0].contact_id
    # what the import builder produces for blank cells when "blank clears" is on: "" for every
    # mapped text and enum column, () for phones/e-mails/tags, "" for custom fields
    out = upserter(session, world, blank_clears=True).apply([ContactRecord(
        first_name="Full", title="", company="", emails=(EmailIn("f@x.org"),), phones=(), custom={"crm_no": ""},
        preferred_channel="", status="", contact_type="", tags=())])
    assert (out[0].status, out[0].contact_id) == ("updated", cid), out[0].message
    c = get(session, world, cid)
    assert not c["title"] and not c["company"]
    assert c["preferred_channel"] is None
    assert (c["status"], c["contact_type"]) == ("inactive", "customer")  # required: blank leaves them
    assert c["phones"] == [] and c["custom"] == {}
    assert c["tags"] == ["keep"]  # imports only ever add tags


def test_dry_run_writes_nothing_but_reports(world, session):
    existing = upserter(session, world).apply([rec("Old", email="old@x.org")])[0].contact_id
    session.commit()
    before = snapshot(session)
    up = upserter(session, world, dry_run=True, list_id=None)
    first = up.apply([rec("Old", email="old@x.org", title="changed"), rec("New", email="new@x.org", lists=("L",)),
                      rec("Bad", status="zombie")])
    second = up.apply([rec("New again", email="new@x.org"), rec("Newer", email="newer@x.org")])
    assert statuses(first) == ["updated", "created", "error"]
    assert first[0].contact_id == existing
    assert statuses(second) == ["updated", "created"]  # a duplicate of the file's earlier row
    assert up.counts == {"created": 2, "updated": 2, "skipped": 0, "error": 1}
    assert snapshot(session) == before
    assert get(session, world, existing)["title"] is None
    session.rollback()
    assert snapshot(session) == before


def test_row_list_column_and_target_list(world, session):
    lists = ListRepository(session, world.principal("admin"))
    target = lists.create({"name": "Campaign"})["id"]
    up = upserter(session, world, list_id=target)
    out = up.apply([rec("One", email="1@x.org", lists=("Newsletter",)),
                    rec("Two", email="2@x.org", lists=("Newsletter", "VIP")), rec("Three", email="3@x.org")])
    assert statuses(out) == ["created"] * 3
    by_name = {lst["name"]: lst for lst in lists.all()}
    assert {n: d["count"] for n, d in by_name.items()} == {"Campaign": 3, "Newsletter": 2, "VIP": 1}
    assert by_name["Newsletter"]["kind"] == "static"
    assert get(session, world, out[1].contact_id)["lists"] == ["Campaign", "Newsletter", "VIP"]
    # updates join lists too
    again = upserter(session, world).apply([rec("Three", email="3@x.org", lists=("VIP",))])
    assert again[0].status == "updated"
    assert lists.count(by_name["VIP"]["id"]) == 2


def test_target_list_must_be_a_writable_static_list_of_the_tenant(world, session):
    from plugin_host.directory import principal_for

    foreign = ListRepository(session, principal_for(session, world.users["other_admin"])).create(
        {"name": "Theirs"})["id"]
    dynamic = ListRepository(session, world.principal("admin")).create(
        {"name": "Dyn", "kind": "dynamic", "criteria": {"status": "active"}})["id"]
    global_list = ListRepository(session, world.principal("admin")).create({"name": "Global list"})["id"]
    session.commit()
    before = snapshot(session)
    with pytest.raises(NotFound):
        upserter(session, world, list_id=foreign)
    with pytest.raises(ValidationError) as exc:
        upserter(session, world, list_id=dynamic)
    assert "list_id" in exc.value.errors
    with pytest.raises(PermissionDenied):  # an agent may read the global list but not add to it
        upserter(session, world, "agent1", list_id=global_list)
    assert snapshot(session) == before


def test_a_bad_list_name_fails_its_row_only(world, session):
    admin_lists = ListRepository(session, world.principal("admin"))
    admin_lists.create({"name": "Dyn", "kind": "dynamic", "criteria": {"status": "active"}})
    admin_lists.create({"name": "Admins only"})  # global: agents may not add members
    session.commit()
    out = upserter(session, world).apply([rec("Fine", email="1@x.org", lists=("Ok",)),
                                          rec("Dynamic", email="2@x.org", lists=("Dyn",)),
                                          rec("Also fine", email="3@x.org")])
    assert statuses(out) == ["created", "error", "created"]
    assert "_list" in out[1].message or "Dyn" in out[1].message
    assert rows(session, "contacts") == 2
    out = upserter(session, world, "agent1").apply([rec("A", email="a@x.org", lists=("Admins only",)),
                                                    rec("B", email="b@x.org", lists=("My own",))])
    assert statuses(out) == ["error", "created"]
    mine = ListRepository(session, world.principal("agent1")).all()
    assert {(m["name"], m["visibility"], m["count"]) for m in mine} >= {("My own", "private", 1)}


def test_agent_target_scope_must_be_private(world, session):
    for visibility, dept in (("global", None), ("department", world.d1)):
        with pytest.raises(PermissionDenied):
            upserter(session, world, "agent1", visibility=visibility, department_id=dept)
    with pytest.raises(PermissionDenied):
        upserter(session, world, "noimport")  # no import right at all, not even private
    out = upserter(session, world, "agent1").apply([rec("Mine", email="m@x.org")])
    c = get(session, world, out[0].contact_id, "agent1")
    assert (c["visibility"], c["owner_id"]) == ("private", world.users["agent1"])
    out = upserter(session, world, "agent1", visibility="private").apply([rec("Mine 2")])
    assert out[0].status == "created"
    # department admin: its own department yes, another one no
    assert upserter(session, world, "dadmin", visibility="department", department_id=world.d1).apply(
        [rec("Dept")])[0].status == "created"
    with pytest.raises(PermissionDenied):
        upserter(session, world, "dadmin", visibility="department", department_id=world.d2)
    # a row asking for a wider scope fails alone
    out = upserter(session, world, "agent1").apply([rec("Row wants all", visibility="All"), rec("Fine")])
    assert statuses(out) == ["error", "created"]
    assert "visibility" in out[0].message


def test_rows_may_ask_for_a_queue_or_owner(world, session):
    out = upserter(session, world).apply([rec("Q", department="Support"), rec("O", assigned_to="agent2"),
                                          rec("X", department="Nope")])
    assert statuses(out) == ["created", "created", "error"]
    q, o = get(session, world, out[0].contact_id), get(session, world, out[1].contact_id)
    assert (q["visibility"], q["department_id"]) == ("department", world.d2)
    assert (o["visibility"], o["owner_id"]) == ("private", world.users["agent2"])
    assert "department" in out[2].message


def test_invalid_phone_is_kept_raw_and_flagged(world, session):
    out = upserter(session, world).apply([rec("Odd", phones=["call me maybe", "+1 408 555 0101", "201"])])
    assert out[0].status == "created"
    phones = get(session, world, out[0].contact_id)["phones"]
    assert [(p["number"], p["kind"], p["valid"]) for p in phones] == [
        ("call me maybe", "invalid", False), ("+1 408 555 0101", "e164", True), ("201", "internal", True)]


def test_row_errors_do_not_stop_the_others_and_outcomes_align(world, session):
    CustomFieldRepository(session, world.principal("admin")).create({"name": "size", "field_type": "number"})
    up = upserter(session, world)
    records = [rec("R1", email="r1@x.org"), rec("R2", status="zombie"), rec("R3", email="r3@x.org"),
               rec("R4", custom={"size": "huge"}), rec("R5", emails=(EmailIn("not an email"),)),
               rec("R6", custom={"nope": "1"}), rec("R7")]
    out = up.apply(records)
    assert statuses(out) == ["created", "error", "created", "error", "error", "error", "created"]
    assert "status" in out[1].message and "custom.size" in out[3].message
    assert "emails[0].address" in out[4].message and "custom.nope" in out[5].message
    for r, o in zip(records, out, strict=True):
        if o.status == "created":
            assert get(session, world, o.contact_id)["first_name"] == r.first_name
        else:
            assert o.contact_id is None
    assert rows(session, "contacts") == 3
    assert up.counts == {"created": 3, "updated": 0, "skipped": 0, "error": 4}


def test_large_batch_with_mixed_shapes(world, session):
    records = [rec(f"P{i}", email=f"p{i}@x.org", title="T" if i % 2 else None,
                   phones=[f"+1 408 555 {i:04d}"] if i % 3 else ()) for i in range(250)]
    out = upserter(session, world).apply(records)
    assert statuses(out) == ["created"] * 250
    again = upserter(session, world).apply([rec(f"Q{i}", email=f"p{i}@x.org", notes="n" if i % 2 else None)
                                            for i in range(250)])
    assert statuses(again) == ["updated"] * 250
    assert [o.contact_id for o in again] == [o.contact_id for o in out]
    assert rows(session, "contacts") == 250
    c = get(session, world, out[4].contact_id)
    assert (c["first_name"], c["title"], len(c["phones"])) == ("Q4", None, 1)


# ---------------------------------------------------------------------------- sync mode


def test_sync_inserts_and_updates_by_external_id(world, session):
    src = make_source(session, world.tenant)
    out = syncer(session, world, src, 1).apply([rec("Ext", external_id="e1", email="e1@x.org"),
                                                rec("Ext2", external_id="e2")])
    assert statuses(out) == ["created", "created"]
    c = get(session, world, out[0].contact_id)
    assert (c["source_id"], c["external_id"], c["visibility"], c["locally_modified"]) == (src, "e1", "global", False)
    # same e-mail but a different external id is another contact; same external id is the same one
    out2 = syncer(session, world, src, 2).apply([rec("Ext renamed", external_id="e1"),
                                                 rec("Other", external_id="e3", email="e1@x.org")])
    assert statuses(out2) == ["updated", "created"]
    assert out2[0].contact_id == out[0].contact_id
    assert get(session, world, out[0].contact_id)["first_name"] == "Ext renamed"
    missing = syncer(session, world, src, 3).apply([rec("No id")])
    assert missing[0].status == "error" and "external_id" in missing[0].message


def test_sync_keeps_local_edits(world, session):
    src = make_source(session, world.tenant)
    cid = syncer(session, world, src, 1).apply([rec("Remote", external_id="e1", title="Remote title")]
                                               )[0].contact_id
    ContactRepository(session, world.principal("admin")).update(cid, {"title": "Local title"})
    out = syncer(session, world, src, 2).apply([rec("Remote 2", external_id="e1", title="Remote title 2")])
    assert (out[0].status, out[0].contact_id) == ("skipped", cid)
    c = get(session, world, cid)
    assert (c["first_name"], c["title"], c["locally_modified"]) == ("Remote", "Local title", True)


def test_delete_external_is_idempotent(world, session):
    src = make_source(session, world.tenant)
    out = syncer(session, world, src, 1).apply([rec("A", external_id="a"), rec("B", external_id="b")])
    up = syncer(session, world, src, 2)
    assert up.delete_external(["a"]) == 1
    assert up.delete_external(["a"]) == 0
    assert up.delete_external(["unknown"]) == 0
    assert up.delete_external([]) == 0
    with pytest.raises(NotFound):
        get(session, world, out[0].contact_id)
    assert get(session, world, out[1].contact_id)["first_name"] == "B"
    # a tombstone is not a local deletion: the source may bring the contact back
    assert syncer(session, world, src, 3).apply([rec("A", external_id="a")])[0].status == "created"


def test_delete_external_touches_only_its_source(world, session):
    a, b = make_source(session, world.tenant, "A"), make_source(session, world.tenant, "B")
    syncer(session, world, a, 1).apply([rec("From A", external_id="same")])
    kept = syncer(session, world, b, 1).apply([rec("From B", external_id="same")])[0].contact_id
    assert syncer(session, world, a, 2).delete_external(["same"]) == 1
    assert get(session, world, kept)["first_name"] == "From B"


def test_delete_absent_removes_only_unseen_contacts_of_that_source(world, session):
    a, b = make_source(session, world.tenant, "A"), make_source(session, world.tenant, "B")
    first = syncer(session, world, a, 1).apply([rec(n, external_id=n) for n in ("a1", "a2", "a3", "a4")])
    other = syncer(session, world, b, 1).apply([rec("b1", external_id="b1")])[0].contact_id
    local = ContactRepository(session, world.principal("admin")).create({"first_name": "Local"})["id"]
    ContactRepository(session, world.principal("admin")).update(first[2].contact_id, {"title": "edited"})
    session.commit()
    run2 = syncer(session, world, a, 2)
    out = run2.apply([rec("a1", external_id="a1"), rec("a3", external_id="a3"),
                      rec("a4", external_id="a4", status="zombie")])
    # a3 is locally modified (skipped) and a4 failed validation: both were seen, neither goes
    assert statuses(out) == ["updated", "skipped", "error"]
    assert run2.delete_absent() == 1
    session.commit()
    left = {c["first_name"] for c in ContactRepository(session, world.principal("admin")).list(
        ContactQuery(limit=50))["items"]}
    assert left == {"a1", "a3", "a4", "b1", "Local"}
    assert get(session, world, other)["first_name"] == "b1"
    assert get(session, world, local)["first_name"] == "Local"
    # the next run sees nothing of A: everything of A goes, B stays
    assert syncer(session, world, a, 3).delete_absent() == 3
    assert rows(session, "contacts") == 2


def test_delete_absent_in_a_dry_run_deletes_nothing(world, session):
    src = make_source(session, world.tenant)
    syncer(session, world, src, 1).apply([rec("a1", external_id="a1"), rec("a2", external_id="a2")])
    session.commit()
    before = snapshot(session)
    dry = syncer(session, world, src, 2, dry_run=True)
    dry.apply([rec("a1", external_id="a1")])
    assert dry.delete_absent() == 1  # reports what it would remove
    assert dry.delete_external(["a1"]) == 1
    assert snapshot(session) == before


def test_delete_absent_needs_a_run(world, session):
    src = make_source(session, world.tenant)
    syncer(session, world, src, 1).apply([rec("a1", external_id="a1")])
    with pytest.raises(ValidationError):
        upserter(session, world, source_id=src).delete_absent()
    assert rows(session, "contacts") == 1


def test_sync_into_a_department(world, session):
    src = make_source(session, world.tenant)
    out = syncer(session, world, src, 1, visibility="department", department_id=world.d2).apply(
        [rec("Support contact", external_id="s1")])
    c = get(session, world, out[0].contact_id)
    assert (c["visibility"], c["department_id"]) == ("department", world.d2)
    assert ContactRepository(session, world.principal("agent1")).list(ContactQuery())["items"] == []
