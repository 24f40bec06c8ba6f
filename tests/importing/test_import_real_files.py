"""Every real exporter file in shared/data imports with the right names, phones, e-mails, company, notes."""

from __future__ import annotations

import pytest
from importing_support import SHARED_DATA

from plugin_host.records import EmailIn, PhoneIn

REAL = SHARED_DATA / "real"
EZ = REAL / "ez-vcard"


def test_shared_data_dir_is_found():
    assert (SHARED_DATA / "pbx_example.csv").is_file()


def test_pbx_example(read):
    parsed, rows = read((SHARED_DATA / "pbx_example.csv").read_bytes())
    assert parsed.format == "pbx_csv" and parsed.delimiter == ","
    recs = [r.record for r in rows]
    assert [r.row_number for r in rows] == [2, 3, 4, 5, 6]
    noah = recs[0]
    assert (noah.first_name, noah.last_name, noah.company, noah.contact_type) == (
        "Noah",
        "Bianchi",
        "PulseNet",
        "customer",
    )
    assert noah.phones == (PhoneIn("+14085550101", "home"),)
    assert noah.emails == (EmailIn("noah.bianchi@pulsenet.com", "private"),)
    assert noah.fb_user_id == "222000000000" and noah.notes == "Needs pricing clarification."
    assert recs[1].contact_type == "lead" and recs[1].phones[0].label == "work"
    assert recs[2].phones[0].label == "mobile" and recs[2].emails[0].label == "business"
    assert recs[4].phones == (PhoneIn("+16175550105", "other"),) and recs[4].emails[0].label == "other"


def test_outlook_2007_german(records, read):
    parsed, _ = read((REAL / "outlook_importer" / "outlook_2007_de.csv").read_bytes())
    assert parsed.format == "outlook_csv" and len(parsed.header) == 92
    [robin] = records((REAL / "outlook_importer" / "outlook_2007_de.csv").read_bytes())
    assert (robin.first_name, robin.last_name, robin.company) == ("Robin", "Example", "Coding Robin")
    assert robin.phones == (PhoneIn("+49 1600000", "work"),)
    assert robin.emails == (EmailIn("robin@example.de", "other"),)
    assert robin.notes is None  # the Notes cell holds only a line break
    assert robin.custom is None and robin.title is None  # "Anrede" and 0.0.00 dates are not imported


def test_windows_live_mail_german(records, read):
    data = (REAL / "outlook_importer" / "livemail_de.csv").read_bytes()
    parsed, _ = read(data)
    assert parsed.delimiter == ";" and parsed.format == "outlook_csv"
    [robin] = records(data)
    assert (robin.first_name, robin.last_name, robin.company) == ("Robin", "Example", "Coding Robin")
    assert robin.phones == (PhoneIn("+49 160 00000000000", "home"),)
    assert robin.emails == (EmailIn("robin@example.de", "other"),)


def _one(records, name):
    [card] = records((EZ / name).read_bytes())
    return card


def test_iphone(records):
    c = _one(records, "John_Doe_IPHONE.vcf")
    assert (c.first_name, c.last_name, c.company, c.org_department) == ("John", "Doe", "IBM", "Accounting")
    assert c.phones[0] == PhoneIn("905-555-1234", "mobile")
    assert PhoneIn("905-888-1234", "fax") in c.phones and PhoneIn("905-777-1234", "work") in c.phones
    assert PhoneIn("905-222-1234", "other") in c.phones  # item2.TEL + X-ABLabel AssistantPhone
    assert len(c.phones) == 7
    assert c.emails == (EmailIn("john.doe@ibm.com", "other"),)


def test_mac_address_book(records):
    c = _one(records, "John_Doe_MAC_ADDRESS_BOOK.vcf")
    assert c.phones[0] == PhoneIn("905-777-1234", "work")
    assert PhoneIn("905-555-1234", "mobile") in c.phones and PhoneIn("905-666-1234", "home") in c.phones
    assert c.emails == (EmailIn("john.doe@ibm.com", "business"),)
    assert c.notes.startswith('THIS SOFTWARE IS PROVIDED BY THE COPYRIGHT HOLDERS AND CONTRIBUTORS "AS IS"')


def test_gmail_cards(records):
    c = _one(records, "gmail-single2.vcf")
    assert (c.first_name, c.last_name, c.company, c.title) == ("VCard", "Test", "TheCompany", "TheJobTitle")
    assert PhoneIn("5555551115", "mobile") in c.phones and PhoneIn("5555551117", "fax") in c.phones
    assert PhoneIn("5555551121", "other") in c.phones  # item3 custom label
    assert EmailIn("homeemail@example.com", "private") in c.emails
    assert EmailIn("workemail@example.com", "business") in c.emails
    assert c.notes.splitlines()[:2] == ["note line 1", "note line 2"]
    single = _one(records, "gmail-single.vcf")
    assert single.phones == (PhoneIn("555 555 1111", "mobile"), PhoneIn("555 555 2222", "other"))
    assert single.notes.startswith("This is GMail's note field.\nIt should be added as a NOTE type.")
    listed = records((EZ / "gmail-list.vcf").read_bytes())
    assert [(c.first_name, c.last_name, c.emails[0].address) for c in listed] == [
        ("Arnold", "Smith", "asmithk@gmail.com"),
        ("Chris", "Beatle", "chrisy55d@yahoo.com"),
        ("Doug", "White", "dwhite@gmail.com"),
    ]


def test_outlook_vcards_quoted_printable(records):
    c = _one(records, "outlook-2003.vcf")
    assert (c.first_name, c.last_name, c.company, c.org_department) == ("John", "Doe", "Company, The", "TheDepartment")
    assert c.notes == "This is the note field!!\nSecond line\n\nThird line is empty"
    assert c.phones == (
        PhoneIn("BusinessPhone", "work"),
        PhoneIn("HomePhone", "home"),
        PhoneIn("MobilePhone", "mobile"),
        PhoneIn("BusinessFaxPhone", "fax"),
    )
    assert c.emails == (EmailIn("jdoe@hotmail.com", "other"),)
    m = _one(records, "outlook-2007.vcf")
    assert (m.first_name, m.last_name, m.company) == ("Michael", "Angstadt", "TheCompany")
    assert m.phones[2] == PhoneIn("(111) 555-4444", "mobile")
    assert m.notes.startswith("This is the NOTE field\t\nI assume it encodes this text inside")
    ms = _one(records, "John_Doe_MS_OUTLOOK.vcf")
    assert ms.phones[:2] == (PhoneIn("(905) 555-1234", "work"), PhoneIn("(905) 666-1234", "home"))
    assert ms.emails == (EmailIn("john.doe@ibm.cm", "other"),)


def test_android_many_cards_with_quoted_printable_utf8(records):
    cards = records((EZ / "John_Doe_ANDROID.vcf").read_bytes())
    assert len(cards) == 6
    assert cards[0].emails == (EmailIn("john.doe@company.com", "other"),) and cards[0].tags == ("My Contacts",)
    assert cards[2].last_name == "Ñ Ñ Ñ Ñ" and cards[2].phones == (PhoneIn("123456789", "mobile"),)
    assert cards[4].phones == (PhoneIn("123456", "mobile"), PhoneIn("123456", "work"), PhoneIn("123456", "fax"))
    assert cards[4].emails[0] == EmailIn("bob@company.com", "business")
    assert cards[5].phones == (PhoneIn("55556666", "mobile"),)  # the card after the broken base64 photo


@pytest.mark.parametrize(
    ("name", "first", "last", "company", "phone", "email"),
    [
        ("John_Doe_BLACK_BERRY.vcf", "john", "Doe", "Acme Solutions", PhoneIn("+96123456789", "mobile"), None),
        (
            "John_Doe_EVOLUTION.vcf",
            "John",
            "Doe",
            "IBM",
            PhoneIn("905-666-1234", "mobile"),
            EmailIn("john.doe@ibm.com", "business"),
        ),
        (
            "John_Doe_GMAIL.vcf",
            "John",
            "Doe",
            "IBM",
            PhoneIn("905-555-1234", "mobile"),
            EmailIn("john.doe@ibm.com", "private"),
        ),
        (
            "John_Doe_LOTUS_NOTES.vcf",
            "John",
            "Doe",
            "IBM",
            PhoneIn("+1 (212) 204-34456", "mobile"),
            EmailIn("john.doe@ibm.com", "business"),
        ),
        (
            "fullcontact.vcf",
            "FirstName",
            "LastName",
            "Organization1",
            PhoneIn("555-555-1111", "home"),
            EmailIn("home@example.com", "private"),
        ),
        (
            "rfc6350-example.vcf",
            "Simon",
            "Perreault",
            "Viagenie",
            PhoneIn("+1-418-656-9254 ext. 102", "work"),
            EmailIn("simon.perreault@viagenie.ca", "business"),
        ),
        (
            "thunderbird-MoreFunctionsForAddressBook-extension.vcf",
            "John",
            "Doe",
            "TheOrganization",
            PhoneIn("555-555-1111", "work"),
            EmailIn("doe.john@hotmail.com", "other"),
        ),
    ],
)
def test_single_card_files(records, name, first, last, company, phone, email):
    c = _one(records, name)
    assert (c.first_name, c.last_name, c.company) == (first, last, company)
    assert c.phones[0] == phone
    assert (c.emails[0] if c.emails else None) == email


def test_rfc2426_two_cards_named_from_fn(records):
    cards = records((EZ / "rfc2426-example.vcf").read_bytes())
    assert [(c.first_name, c.last_name, c.company) for c in cards] == [
        ("Frank", "Dawson", "Lotus Development Corporation"),
        ("Tim", "Howes", "Netscape Communications Corp."),
    ]
    assert cards[0].phones == (PhoneIn("+1-919-676-9515", "work"), PhoneIn("+1-919-676-9564", "fax"))
    assert cards[0].emails[0] == EmailIn("Frank_Dawson@Lotus.com", "other")


def test_thunderbird_notes_keep_line_breaks(records):
    c = _one(records, "thunderbird-MoreFunctionsForAddressBook-extension.vcf")
    assert c.notes.startswith("This is the notes field.\nSecond Line\n\nFourth Line")
    assert PhoneIn("555-555-4444", "other") in c.phones  # pager


def test_every_shared_file_imports(read):
    for path in sorted(p for p in SHARED_DATA.rglob("*") if p.suffix in (".csv", ".vcf")):
        _, rows = read(path.read_bytes())
        assert rows and all(r.error is None and r.record for r in rows), path.name
