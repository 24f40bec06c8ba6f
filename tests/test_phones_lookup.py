"""Phone normalisation (several countries, extensions, short numbers, garbage) and caller-ID lookup."""

from __future__ import annotations

import pytest

from plugin_host.phones import normalise
from plugin_host.repo import ContactRepository, LookupRepository

# ---------------------------------------------------------------------------- normalisation


@pytest.mark.parametrize(("raw", "region", "e164", "national"), [
    # US: every common way of writing the same number
    ("(408) 555-0101", "US", "+14085550101", "4085550101"),
    ("408.555.0101", "US", "+14085550101", "4085550101"),
    ("1-408-555-0101", "US", "+14085550101", "4085550101"),
    ("+1 408 555 0101", "DE", "+14085550101", "4085550101"),
    ("011 44 20 7946 0958", "US", "+442079460958", "2079460958"),  # US international prefix
    # Germany: trunk 0, slash notation, "(0)" in international form
    ("030 1234567", "DE", "+49301234567", "301234567"),
    ("030/1234567", "DE", "+49301234567", "301234567"),
    ("+49 (0)30 1234567", "US", "+49301234567", "301234567"),
    ("0049 30 1234567", "DE", "+49301234567", "301234567"),
    # United Kingdom
    ("020 7946 0958", "GB", "+442079460958", "2079460958"),
    ("07700 900123", "GB", "+447700900123", "7700900123"),
    ("+44 (0)20 7946 0958", "US", "+442079460958", "2079460958"),
    # France
    ("01 23 45 67 89", "FR", "+33123456789", "123456789"),
    ("06 12 34 56 78", "FR", "+33612345678", "612345678"),
    ("+33 6 12 34 56 78", "US", "+33612345678", "612345678"),
    # Switzerland dialled with the IDD 00 from a European region, and in national form
    ("0041 44 668 18 00", "DE", "+41446681800", "446681800"),
    ("0041 44 668 18 00", "FR", "+41446681800", "446681800"),
    ("044 668 18 00", "CH", "+41446681800", "446681800"),
    # 00 is the international prefix nearly everywhere: a US-region tenant importing a
    # European phone book must not flag "0041 ..." as invalid (no US number starts with 0).
    ("0041 44 668 18 00", "US", "+41446681800", "446681800"),
    ("0049 30 1234567", "US", "+49301234567", "301234567"),
])
def test_normalise_to_e164(raw, region, e164, national):
    n = normalise(raw, region)
    assert n.kind == "e164"
    assert n.valid
    assert n.e164 == e164
    assert n.national == national
    assert n.raw == raw
    assert n.extension is None
    assert n.digits == e164[1:]
    assert n.digits_rev == e164[1:][::-1]


@pytest.mark.parametrize(("raw", "e164", "extension"), [
    ("+1 408 555 0101 x123", "+14085550101", "123"),
    ("408-555-0101 ext. 12", "+14085550101", "12"),
    ("(408) 555-0101 extension 7", "+14085550101", "7"),
    ("+14085550101;ext=77", "+14085550101", "77"),
    ("tel:+1-408-555-0101;ext=77", "+14085550101", "77"),
])
def test_extensions_are_split_off_and_kept(raw, e164, extension):
    n = normalise(raw, "US")
    assert (n.kind, n.e164, n.extension) == ("e164", e164, extension)
    assert n.raw == raw
    # the extension never leaks into the digits used for suffix matching
    assert n.digits == e164[1:]


@pytest.mark.parametrize(("raw", "region", "digits"), [
    ("112", "DE", "112"),
    ("911", "US", "911"),
    ("110", "DE", "110"),
    ("201", "US", "201"),
    (" 4711 ", "DE", "4711"),
    ("116117", "DE", "116117"),
])
def test_short_numbers_and_internal_extensions_are_never_forced_into_e164(raw, region, digits):
    n = normalise(raw, region)
    assert n.kind == "internal"
    assert n.valid
    assert n.e164 is None and n.national is None
    assert n.digits == digits
    assert n.raw == raw.strip()


@pytest.mark.parametrize(("raw", "region"), [
    ("hello", "US"),
    ("n/a", "DE"),
    ("12 34", "US"),  # too short for a public number, not a plain extension either
    ("+1", "US"),
    ("+999 123", "US"),  # no such country code
    ("12345678901234567890", "US"),  # far too long
    ("+4930123456789012345", "DE"),
])
def test_garbage_is_kept_raw_and_flagged_invalid(raw, region):
    n = normalise(raw, region)
    assert n.kind == "invalid"
    assert not n.valid
    assert n.e164 is None
    assert n.raw == raw


@pytest.mark.parametrize(("raw", "region", "digits"), [
    ("555-0101", "US", "5550101"),  # a US local number without its area code
    ("7946 0958", "GB", "79460958"),  # a London number without its area code
    ("555-0101 x12", "US", "5550101"),
])
def test_local_only_numbers_are_not_given_a_bogus_e164(raw, region, digits):
    """"+15550101" is not anybody's number: a local-only number cannot be put into E.164."""
    n = normalise(raw, region)
    assert n.e164 is None
    assert n.kind == "invalid"
    assert n.raw == raw
    # ...but its digits are kept (without the extension) so the suffix lookup still finds it
    assert n.digits == digits


def test_blank_is_invalid_not_an_error():
    assert normalise("", "US").kind == "invalid"
    assert normalise("   ", "US").kind == "invalid"


# ---------------------------------------------------------------------------- caller-ID lookup


def _contact(session, world, who, name, *numbers, **extra):
    repo = ContactRepository(session, world.principal(who))
    return repo.create({"first_name": name, "phones": [{"number": n, "label": "work"} for n in numbers], **extra})["id"]


def _lookup(session, world, who, number, **kw):
    return LookupRepository(session, world.principal(who), **kw).lookup(number)


def test_e164_match_from_a_differently_formatted_number(world, session):
    cid = _contact(session, world, "admin", "Noah", "+1 408 555 0101")
    _contact(session, world, "admin", "Other", "+1 408 555 0199")
    session.commit()
    for incoming in ("(408) 555-0101", "4085550101", "+14085550101", "1-408-555-0101", "011 1 408 555 0101"):
        res = _lookup(session, world, "admin", incoming)
        assert res["match"] == "e164", incoming
        assert [c["id"] for c in res["contacts"]] == [cid], incoming
        assert res["e164"] == "+14085550101"


def test_e164_match_ignores_the_extension_of_the_stored_number(world, session):
    cid = _contact(session, world, "admin", "Noah", "+1 408 555 0101 x123")
    session.commit()
    res = _lookup(session, world, "admin", "+1 (408) 555-0101")
    assert (res["match"], [c["id"] for c in res["contacts"]]) == ("e164", [cid])


def test_e164_match_returns_every_contact_sharing_the_number(world, session):
    a = _contact(session, world, "admin", "Anna", "+1 408 555 0101")
    b = _contact(session, world, "admin", "Bert", "(408) 555-0101")
    session.commit()
    res = _lookup(session, world, "admin", "408 555 0101")
    assert res["match"] == "e164"
    assert sorted(c["id"] for c in res["contacts"]) == sorted([a, b])


def test_national_match_when_the_country_code_differs(world, session):
    # stored under the wrong country: same national significant number
    cid = _contact(session, world, "admin", "Wrongcc", "+44 20 7946 0958")
    session.commit()
    res = _lookup(session, world, "admin", "(207) 946-0958")  # US region: +1 207 946 0958
    assert res["match"] == "national"
    assert [c["id"] for c in res["contacts"]] == [cid]


def test_last_seven_digits_match(world, session):
    cid = _contact(session, world, "admin", "Local", "555-0101")  # stored without area code
    session.commit()
    res = _lookup(session, world, "admin", "+1 408 555 0101")
    assert res["match"] == "suffix"
    assert [c["id"] for c in res["contacts"]] == [cid]


def test_suffix_needs_enough_digits(world, session):
    _contact(session, world, "admin", "Local", "555-0101")
    session.commit()
    res = _lookup(session, world, "admin", "50101 99")  # only 7 digits, none of them the suffix
    assert res["match"] == "none" and res["contacts"] == []


def test_ambiguous_last_seven_digits_are_refused(world, session):
    _contact(session, world, "admin", "One", "555-0199")
    _contact(session, world, "admin", "Two", "+1 212 555 0199")
    session.commit()
    res = _lookup(session, world, "admin", "+1 408 555 0199")
    assert res["match"] == "ambiguous"
    assert res["contacts"] == []


def test_two_numbers_of_one_contact_are_not_ambiguous(world, session):
    cid = _contact(session, world, "admin", "Twice", "555-0199", "+1 212 555 0199")
    session.commit()
    res = _lookup(session, world, "admin", "+1 408 555 0199")
    assert (res["match"], [c["id"] for c in res["contacts"]]) == ("suffix", [cid])


def test_internal_extension_matches_exactly(world, session):
    ext = _contact(session, world, "admin", "Reception", "201")
    _contact(session, world, "admin", "Long", "+1 408 555 2010")
    _contact(session, world, "admin", "Other ext", "2010")
    session.commit()
    res = _lookup(session, world, "admin", "201")
    assert (res["match"], [c["id"] for c in res["contacts"]]) == ("extension", [ext])
    assert _lookup(session, world, "admin", "20")["contacts"] == []
    assert _lookup(session, world, "admin", "202")["match"] == "none"


def test_a_public_number_never_matches_an_internal_extension(world, session):
    _contact(session, world, "admin", "Reception", "0101")
    session.commit()
    assert _lookup(session, world, "admin", "+1 408 555 0101")["contacts"] == []


def test_lookup_respects_permissions(world, session):
    private = _contact(session, world, "agent1", "Secret", "+1 408 555 0177", visibility="private")
    session.commit()
    assert [c["id"] for c in _lookup(session, world, "agent1", "408-555-0177")["contacts"]] == [private]
    assert [c["id"] for c in _lookup(session, world, "admin", "408-555-0177")["contacts"]] == [private]
    res = _lookup(session, world, "agent2", "408-555-0177")
    assert res["contacts"] == [] and res["match"] == "none"
    # the department admin of agent1's department still may not read agent1's private contacts
    assert _lookup(session, world, "dadmin", "408-555-0177")["contacts"] == []
    # and another tenant never
    assert _lookup(session, world, "other_admin", "+1 408 555 0177")["contacts"] == []


def test_department_contact_found_by_its_members_only(world, session):
    cid = _contact(session, world, "admin", "Sales desk", "+1 408 555 0188", visibility="department",
                   department_id=world.d1)
    session.commit()
    assert [c["id"] for c in _lookup(session, world, "agent1", "4085550188")["contacts"]] == [cid]
    assert _lookup(session, world, "agent2", "4085550188")["contacts"] == []


def test_invisible_contacts_neither_match_nor_make_a_suffix_ambiguous(world, session):
    visible = _contact(session, world, "admin", "Global", "555-0166")
    _contact(session, world, "agent2", "Hidden", "+1 212 555 0166", visibility="private")
    session.commit()
    res = _lookup(session, world, "agent1", "+1 408 555 0166")
    assert (res["match"], [c["id"] for c in res["contacts"]]) == ("suffix", [visible])
    # the admin sees both, so for the admin the suffix is ambiguous
    assert _lookup(session, world, "admin", "+1 408 555 0166")["match"] == "ambiguous"


def test_other_tenant_numbers_never_match(world, session):
    from plugin_host.directory import principal_for

    ContactRepository(session, principal_for(session, world.users["other_admin"]), region="DE").create(
        {"first_name": "Globex", "phones": [{"number": "+1 408 555 0155"}, {"number": "201"}]})
    session.commit()
    for who in ("admin", "agent1"):
        assert _lookup(session, world, who, "+1 408 555 0155")["contacts"] == []
        assert _lookup(session, world, who, "201")["contacts"] == []


def test_lookup_uses_the_tenant_region(world, session):
    from plugin_host.directory import principal_for

    p = principal_for(session, world.users["other_admin"])
    cid = ContactRepository(session, p, region="DE").create(
        {"first_name": "Berlin", "phones": [{"number": "030 1234567"}]})["id"]
    session.commit()
    res = LookupRepository(session, p, region="DE").lookup("030/1234567")
    assert (res["match"], [c["id"] for c in res["contacts"]]) == ("e164", [cid])
    assert res["e164"] == "+49301234567"


def test_lookup_answer_has_the_contacts_phones_and_emails_in_order(world, session):
    repo = ContactRepository(session, world.principal("admin"))
    a = repo.create({"first_name": "Zoe", "phones": [{"number": "+1 408 555 0141", "label": "work"},
                                                     {"number": "201", "label": "other"},
                                                     {"number": "+49 30 1234567", "label": "home"}],
                     "emails": [{"address": "zoe@example.com", "label": "business"},
                                {"address": "z@example.org", "label": "private"}]})["id"]
    b = repo.create({"first_name": "Adam", "phones": [{"number": "(408) 555-0141"}]})["id"]
    session.commit()
    res = _lookup(session, world, "admin", "+14085550141")
    assert [c["id"] for c in res["contacts"]] == [b, a], "ordered by name"
    for c in res["contacts"]:
        full = repo.get(c["id"])
        assert c["phones"] == full["phones"] and c["emails"] == full["emails"]
        assert {k: c[k] for k in ("display_name", "version", "visibility")} == \
            {k: full[k] for k in ("display_name", "version", "visibility")}
    how, ids = LookupRepository(session, world.principal("admin")).match_ids("+14085550141")
    assert (how, ids) == ("e164", sorted([a, b]))


def test_a_hidden_e164_match_falls_through_to_the_next_tier(world, session):
    # the agent may not read the exact-number match, so the national-number match answers
    _contact(session, world, "agent2", "Hidden", "+1 207 946 0958", visibility="private")
    wrong_cc = _contact(session, world, "admin", "Wrongcc", "+44 20 7946 0958")
    session.commit()
    assert _lookup(session, world, "agent2", "(207) 946-0958")["match"] == "e164"
    res = _lookup(session, world, "agent1", "(207) 946-0958")
    assert (res["match"], [c["id"] for c in res["contacts"]]) == ("national", [wrong_cc])


def test_many_contacts_sharing_a_number_are_answered(world, session):
    # more candidates than come with the permission check: the rows are read in a second statement
    from plugin_host.repo import lookup

    n = lookup.FULL_ROWS_UP_TO + 5
    ids = [_contact(session, world, "admin", f"Shared {i:02}", "+1 408 555 0123") for i in range(n)]
    session.commit()
    res = _lookup(session, world, "admin", "4085550123")
    assert res["match"] == "e164"
    assert [c["id"] for c in res["contacts"]] == sorted(ids)[: lookup.CONTACTS_PER_TIER]
    assert all(c["phones"][0]["e164"] == "+14085550123" for c in res["contacts"])


def test_the_best_tier_answers_even_when_later_tiers_hold_more_contacts(world, session):
    # A is found by every tier, B by the suffix only: the answer is A alone (e164), not "ambiguous"
    a = _contact(session, world, "admin", "Exact", "+1 408 555 0177")
    _contact(session, world, "admin", "Suffix only", "+44 20 555 0177")
    session.commit()
    for who in ("admin", "agent1"):
        res = _lookup(session, world, who, "+1 408 555 0177")
        assert (res["match"], [c["id"] for c in res["contacts"]]) == ("e164", [a]), who
        assert res["contacts"][0]["phones"][0]["e164"] == "+14085550177"
