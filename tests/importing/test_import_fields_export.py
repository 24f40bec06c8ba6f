"""Mapping targets, value rules, blank-clears, formula neutralising and export -> import round trips."""

from __future__ import annotations

import io

import pytest

from plugin_host.importing import RowError, build_record, iter_pbx_csv, suggest_mapping, write_vcards
from plugin_host.importing.export import PBX_HEADER, neutralise
from plugin_host.records import ContactRecord, EmailIn, PhoneIn


def test_alias_map_is_case_space_underscore_insensitive():
    header = [
        "First Name",
        "FName",
        "given_name",
        "Vorname",
        "Prénom",
        "SURNAME",
        "e-mail",
        "Cell Phone",
        "department",
        "Assigned Queue",
        "source",
        "Phone 2",
        "Tags",
        "List",
        "cf:Shoe size",
        "Whatever",
    ]
    assert suggest_mapping(header) == [
        "first_name",
        "first_name",
        "first_name",
        "first_name",
        "first_name",
        "last_name",
        "email",
        "mobile",
        "org_department",
        "department",
        "acquisition_source",
        "phone",
        "_tag",
        "_list",
        "cf:Shoe size",
        None,
    ]
    assert suggest_mapping(["name", "last_name"]) == ["first_name", "last_name"]  # the PBX layout
    assert suggest_mapping(["Name", "Email"]) == ["_full_name", "email"]


def test_build_record_all_kinds_of_targets():
    header = ["Name", "Phone", "Phone Type", "Work", "Mail", "Mail Type", "Tags", "List", "Shoe", "Scope", "Opt"]
    mapping = [
        "_full_name",
        "phone",
        "phone_label",
        "phone:home",
        "email",
        "email_label",
        "_tag",
        "_list",
        "cf:shoe",
        "visibility",
        "opt_in_email",
    ]
    cells = [
        "Doe, Jane",
        "+1 555 0100",
        "Cell",
        "555 0101",
        "j@x.io",
        "Work",
        "vip; gold ;vip",
        "Q3",
        "42",
        "Queue",
        "Yes",
    ]
    rec = build_record(header, cells, mapping)
    assert (rec.first_name, rec.last_name) == ("Jane", "Doe")
    assert rec.phones == (PhoneIn("+1 555 0100", "mobile"), PhoneIn("555 0101", "home"))
    assert rec.emails == (EmailIn("j@x.io", "business"),)
    assert (rec.tags, rec.lists, rec.custom) == (("vip", "gold"), ("Q3",), {"shoe": "42"})
    assert (rec.visibility, rec.opt_in_email) == ("department", True)


def test_plain_phone_is_work_and_unknown_labels_are_other():
    rec = build_record(["p", "l", "p2", "l2"], ["1", "", "2", "Satellite"], ["phone", "phone_label"] * 2)
    assert rec.phones == (PhoneIn("1", "work"), PhoneIn("2", "other"))
    assert build_record(["p"], ["3"], ["phone"]).phones == (PhoneIn("3", "work"),)


def test_contact_type_is_strict_in_generic_csv_lenient_in_pbx(read):
    with pytest.raises(RowError, match="contact_type: 'vendor' is not one of customer, lead"):
        build_record(["n", "t"], ["A", "vendor"], ["first_name", "contact_type"])
    header = ",".join(PBX_HEADER) + "\r\n"
    _, rows = read((header + "A,B,,vendor,,,,,,\r\n").encode())
    assert rows[0].record.contact_type == "customer"


def test_blank_means_not_provided_unless_blank_clears():
    header, mapping = ["f", "l", "p", "s", "t"], ["first_name", "last_name", "phone", "status", "_tag"]
    rec = build_record(header, ["Ann", " ", "", "", ""], mapping)
    assert (rec.last_name, rec.phones, rec.status, rec.tags) == (None, None, None, None)
    rec = build_record(header, ["Ann", " ", "", "", ""], mapping, blank_clears=True)
    assert (rec.last_name, rec.phones, rec.status, rec.tags) == ("", (), "", ())
    assert rec.company is None  # not mapped: still "not provided"


def test_neutralising_quote_is_stripped_on_import():
    rec = build_record(["n", "notes"], ["'=HYPERLINK(1)", "'-1"], ["first_name", "notes"])
    assert (rec.first_name, rec.notes) == ("=HYPERLINK(1)", "-1")
    assert build_record(["n"], ["'Connor"], ["first_name"]).first_name == "'Connor"  # ordinary apostrophe kept


def test_neutralise_rules():
    assert neutralise("=SUM(A1)") == "'=SUM(A1)"
    assert neutralise("@cmd") == "'@cmd" and neutralise("\tx") == "'\tx" and neutralise("-2+3") == "'-2+3"
    assert neutralise("+14085550101", phone=True) == "+14085550101"
    assert neutralise("+1 (408) 555-0101 ext. 12", phone=True) == "+1 (408) 555-0101 ext. 12"
    assert neutralise("+1+cmd|' /C calc'!A0", phone=True).startswith("'")
    assert neutralise("=1+1", phone=True) == "'=1+1" and neutralise("+14085550101") == "'+14085550101"


CONTACTS = [
    ContactRecord(
        first_name="Noah",
        last_name="Bianchi",
        company="PulseNet",
        contact_type="customer",
        phones=(PhoneIn("+14085550101", "home"), PhoneIn("+14085550199", "mobile"), PhoneIn("200", "work")),
        emails=(EmailIn("noah@pulsenet.com", "private"), EmailIn("n.b@pulsenet.com", "business")),
        fb_user_id="222000000000",
        notes='Line 1\nLine 2, with comma; and "quotes"',
    ),
    ContactRecord(
        first_name="=cmd|' /C calc'!A0",
        last_name="@Evil",
        company="-Minus",
        contact_type="lead",
        phones=(PhoneIn("-1-800", "other"),),
        emails=None,
        notes="+leading plus",
    ),
    ContactRecord(
        first_name="Zoë",
        last_name="Ørsted",
        company="Å AB",
        contact_type="lead",
        phones=None,
        emails=(EmailIn("z@a.dk", "other"),),
    ),
]


def _pbx_fields(rec: ContactRecord):
    return (
        rec.first_name,
        rec.last_name,
        rec.company,
        rec.contact_type,
        rec.phones,
        rec.emails,
        rec.fb_user_id,
        rec.notes,
    )


def test_pbx_csv_round_trip(records):
    text = "".join(iter_pbx_csv(CONTACTS))
    assert text.splitlines()[0] == ",".join(PBX_HEADER)
    assert "'=cmd" in text and "'@Evil" in text and ",+14085550101," in text
    assert len(text.splitlines()) > 4  # continuation rows for Noah's extra phones/e-mails
    back = records(text.encode("utf-8"))
    assert [_pbx_fields(r) for r in back] == [_pbx_fields(c) for c in CONTACTS]


def test_pbx_continuation_rows_only_merge_the_same_contact(records):
    header = ",".join(PBX_HEADER) + "\r\n"
    data = header + "Ann,Lee,Co,customer,1,work,,,,note\r\nAnn,Lee,Co,customer,2,home,,,,\r\n"
    data += "Ann,Lee,Other Co,customer,3,home,,,,\r\nAnn,Lee,Other Co,customer,4,home,,,,has notes\r\n"
    back = records(data.encode())
    assert [len(r.phones) for r in back] == [2, 1, 1]
    assert back[0].phones == (PhoneIn("1", "work"), PhoneIn("2", "home"))


def test_vcard_round_trip(records):
    contacts = [
        ContactRecord(
            first_name="Noah",
            last_name="Bianchi",
            company="PulseNet",
            org_department="Sales",
            title="CTO",
            notes="Line 1\nLine 2; semi, comma",
            tags=("vip", "q3"),
            external_id="uid-1",
            phones=(
                PhoneIn("+14085550101", "home"),
                PhoneIn("+14085550199", "mobile"),
                PhoneIn("+1", "work"),
                PhoneIn("+2", "fax"),
                PhoneIn("+3", "other"),
            ),
            emails=(EmailIn("a@b.c", "private"), EmailIn("d@e.f", "business"), EmailIn("g@h.i", "other")),
        ),
        ContactRecord(first_name="Zoë", last_name="Ørsted", emails=(EmailIn("z@a.dk", "other"),)),
    ]
    buf = io.StringIO()
    assert write_vcards(contacts, buf) == 2
    back = records(buf.getvalue().encode("utf-8"))
    keys = (
        "first_name",
        "last_name",
        "company",
        "org_department",
        "title",
        "notes",
        "tags",
        "external_id",
        "phones",
        "emails",
    )
    assert [[getattr(r, k) for k in keys] for r in back] == [[getattr(c, k) for k in keys] for c in contacts]
