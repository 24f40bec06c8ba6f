"""Outlook (EN desktop, Outlook.com, DE, FR) and Google (new, old) CSV built from the exact header rows."""

from __future__ import annotations

import csv
import io

from importing_support import LOCAL_DATA, SHARED_DATA

from plugin_host.records import EmailIn, PhoneIn


def test_outlook_english_desktop(read):
    parsed, rows = read((LOCAL_DATA / "outlook_en.csv").read_bytes())
    assert parsed.format == "outlook_csv" and len(parsed.header) == 92
    assert all(r.error is None for r in rows)
    peter, zoe = (r.record for r in rows)
    assert (peter.first_name, peter.last_name, peter.company) == ("Peter", "O'Neil", "Contoso Ltd")
    assert (peter.title, peter.org_department) == ("Account Manager", "Sales")  # "Title" (Mr.) is ignored
    assert set(peter.phones) == {
        PhoneIn("+1 425 555 0100", "work"),
        PhoneIn("+1 425 555 0199", "fax"),
        PhoneIn("(425) 555-0111", "home"),
        PhoneIn("+1 425 555 0122", "mobile"),
        PhoneIn("425 555 0133", "mobile"),
        PhoneIn("425 555 0144", "other"),
    }
    assert peter.emails == (
        EmailIn("peter@contoso.com", "other"),
        EmailIn("peter.oneil@example.net", "other"),
        EmailIn("p@example.org", "other"),
    )
    assert peter.notes == "Met at the fair.\nCall back in May."
    assert peter.tags == ("Customers", "VIP")
    assert (zoe.first_name, zoe.last_name, zoe.notes) == ("Zoë", "Brontë", None)
    assert set(zoe.phones) == {
        PhoneIn("020 7946 0000", "work"),
        PhoneIn("020 7946 0001", "other"),
        PhoneIn("020 7946 0002", "fax"),
        PhoneIn("020 7946 0003", "other"),
    }


def test_outlook_empty_dates_are_blank_even_when_mapped(read):
    data = (LOCAL_DATA / "outlook_en.csv").read_bytes()
    parsed, _ = read(data)
    mapping = list(parsed.mapping)
    mapping[parsed.header.index("Birthday")] = "cf:birthday"
    _, rows = read(data, mapping=mapping)
    assert rows[0].record.custom is None  # 0/0/00
    assert rows[1].record.custom == {"birthday": "3/22/1980"}


def test_outlook_com(records, read):
    data = (LOCAL_DATA / "outlook_com.csv").read_bytes()
    assert read(data)[0].format == "outlook_csv"
    [ana] = records(data)
    assert (ana.first_name, ana.last_name, ana.company, ana.title) == ("Ana", "García", "Fabrikam", "CTO")
    assert ana.phones == (
        PhoneIn("+34 912 345 678", "home"),
        PhoneIn("+34 913 000 000", "work"),
        PhoneIn("+34 612 345 678", "mobile"),
    )
    assert ana.emails == (EmailIn("ana@fabrikam.es", "other"),) and ana.notes == "Prefers WhatsApp"


def test_outlook_french_cp1252_semicolon(read):
    parsed, rows = read((LOCAL_DATA / "outlook_fr.csv").read_bytes())
    assert (parsed.format, parsed.delimiter, parsed.encoding) == ("outlook_csv", ";", "cp1252")
    assert parsed.warnings and "cp1252" in parsed.warnings[0]
    rec = rows[0].record
    assert (rec.first_name, rec.last_name, rec.company) == ("Élodie", "Lefèvre", "Café Noël SARL")
    assert (rec.title, rec.org_department, rec.tags) == ("Acheteuse", "Achats", ("Fournisseurs",))
    assert set(rec.phones) == {
        PhoneIn("01 23 45 67 89", "work"),
        PhoneIn("06 12 34 56 78", "mobile"),
        PhoneIn("01 23 45 67 00", "fax"),
        PhoneIn("01 98 76 54 32", "home"),
    }
    assert rec.emails == (EmailIn("elodie@cafe-noel.fr", "other"),) and rec.notes == "Ligne 1\nLigne 2"


def test_outlook_german_phone_columns(records):
    real = (SHARED_DATA / "real" / "outlook_importer" / "outlook_2007_de.csv").read_text("utf-8")
    header = next(csv.reader(io.StringIO(real)))
    cells = dict.fromkeys(header, "")
    cells.update(
        {
            "Vorname": "Jörg",
            "Nachname": "Weiß",
            "Firma": "Bäckerei Weiß",
            "Position": "Inhaber",
            "Abteilung": "Leitung",
            "Mobiltelefon": "0171 2345678",
            "Telefon privat": "030 1234567",
            "Fax geschäftlich": "030 7654321",
            "Haupttelefon": "030 111",
            "E-Mail 2: Adresse": "j@weiss.de",
            "Geburtstag": "0.0.00",
            "Kategorien": "Lieferant",
            "Notizen": "Erste Zeile\r\nZweite Zeile",
        }
    )
    buf = io.StringIO()
    csv.writer(buf, quoting=csv.QUOTE_ALL).writerows([header, [cells[h] for h in header]])
    [rec] = records(buf.getvalue().encode("utf-8"))
    assert (rec.first_name, rec.last_name, rec.company, rec.title) == ("Jörg", "Weiß", "Bäckerei Weiß", "Inhaber")
    assert set(rec.phones) == {
        PhoneIn("0171 2345678", "mobile"),
        PhoneIn("030 1234567", "home"),
        PhoneIn("030 7654321", "fax"),
        PhoneIn("030 111", "other"),
    }
    assert rec.emails == (EmailIn("j@weiss.de", "other"),)
    assert rec.notes == "Erste Zeile\nZweite Zeile" and rec.tags == ("Lieferant",)


def test_google_new_format(read):
    parsed, rows = read((LOCAL_DATA / "google_new.csv").read_bytes())
    assert (parsed.format, parsed.encoding) == ("google_csv", "utf-8-sig")
    assert parsed.header[0] == "First Name"  # BOM removed
    jurg, lea = (r.record for r in rows)
    assert (jurg.first_name, jurg.last_name, jurg.company) == ("Jürg", "Müller", "Bärn AG")
    assert (jurg.title, jurg.org_department, jurg.notes) == ("Leiter", "Einkauf", "Zeile 1\nZeile 2")
    assert jurg.phones == (PhoneIn("+41319280960", "mobile"), PhoneIn("+41792648866", "mobile"))
    assert jurg.emails == (
        EmailIn("juerg@baern.ch", "business"),
        EmailIn("jm@example.ch", "private"),
        EmailIn("juerg.m@example.ch", "private"),
    )
    assert jurg.tags == ("Navy",)  # "* myContacts" and "* starred" are Google system groups
    assert lea.phones == (PhoneIn("031 000 00 00", "fax"),) and lea.tags is None


def test_google_old_format_primary_first(read):
    parsed, rows = read((LOCAL_DATA / "google_old.csv").read_bytes())
    assert parsed.format == "google_csv"
    john, jane = (r.record for r in rows)
    assert (john.first_name, john.last_name, john.company, john.title) == ("John", "Doe", "Acme", "Boss")
    assert john.phones == (
        PhoneIn("555-0104", "mobile"),
        PhoneIn("555-0101", "other"),
        PhoneIn("555-0102", "work"),
        PhoneIn("555-0103", "fax"),
    )
    assert john.emails == (EmailIn("john@example.com", "private"), EmailIn("jdoe@work.example", "business"))
    assert john.tags == ("Test",) and john.notes == "Old format"
    assert (jane.first_name, jane.last_name) == ("Jane", "Roe")  # from the "Name" column


def test_preview_shows_columns_samples_and_targets(read, formats):
    from plugin_host.importing import open_import

    preview = open_import((LOCAL_DATA / "google_new.csv").read_bytes(), formats).preview(5)
    cols = {c.name: c for c in preview.columns}
    assert cols["Phone 1 - Value"].target == "phone" and cols["Phone 1 - Label"].target == "phone_label"
    assert cols["First Name"].samples == ("Jürg", "Lea") and cols["Photo"].target is None
    assert (preview.format, preview.delimiter_name, preview.encoding) == ("google_csv", "comma", "utf-8-sig")
    assert len(preview.rows) == 2 and preview.as_dict()["rows"][0]["record"]["first_name"] == "Jürg"
