"""Decoding, delimiter/header options and every bad input giving a clear file or row error."""

from __future__ import annotations

import codecs

import pytest

from plugin_host.importing import ImportFileError, detect_delimiter, open_import

PBX = "name,last_name,company,contact_type,phone,phone_label,email,email_label,fbUserId,notes\r\n"


def test_empty_file(formats):
    for data in (b"", b"  \r\n\r\n", codecs.BOM_UTF8):
        with pytest.raises(ImportFileError, match="empty"):
            open_import(data, formats)


@pytest.mark.parametrize(
    ("data", "what"),
    [
        (b"PK\x03\x04\x14\x00rest", "Excel workbook"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1", "xls"),
        (b"name,x\x00\x00\x01\x02\xff", "NUL bytes"),
        (b"%PDF-1.7\n", "PDF"),
    ],
)
def test_binary_files(formats, data, what):
    with pytest.raises(ImportFileError, match=what):
        open_import(data, formats)


def test_utf16_with_bom_and_without(records):
    text = PBX + "Zoë,Ørsted,Å AB,lead,+4512345678,mobile,z@a.dk,business,,\r\n"
    for data in (
        codecs.BOM_UTF16_LE + text.encode("utf-16-le"),
        codecs.BOM_UTF16_BE + text.encode("utf-16-be"),
        text.encode("utf-16-be"),
    ):
        [rec] = records(data)
        assert (rec.first_name, rec.last_name, rec.company) == ("Zoë", "Ørsted", "Å AB")


def test_cp1252_file_is_read_with_legacy_code_page(read):
    parsed, rows = read((PBX + "Jürgen,Müller,Café €,customer,,,,,,Grüße\r\n").encode("cp1252"))
    assert parsed.encoding == "cp1252" and "legacy code page cp1252" in parsed.warnings[0]
    assert (rows[0].record.first_name, rows[0].record.company, rows[0].record.notes) == ("Jürgen", "Café €", "Grüße")


def test_other_legacy_code_page(read):
    parsed, rows = read((PBX + "Łukasz,Żółć,,,,,,,,\r\n").encode("cp1250"), legacy_codepage="cp1250")
    assert parsed.encoding == "cp1250" and rows[0].record.last_name == "Żółć"


def test_undefined_legacy_byte_is_a_file_error_not_a_dropped_char(formats):
    with pytest.raises(
        ImportFileError, match=r"cannot be read as cp1252: byte 0x81 at offset 100 .*No character was dropped"
    ):
        open_import((PBX + "A,B,,,,,,,,x").encode("ascii") + b"\x81\r\n", formats)


def test_unknown_code_page(formats):
    with pytest.raises(ImportFileError, match="Unknown legacy code page"):
        open_import(PBX.encode(), formats, legacy_codepage="klingon")


def test_invalid_utf8_in_an_otherwise_utf8_file_falls_back_per_byte(read):
    data = (PBX + "Zoë,Müller,,,,,,,,ok\r\n").encode("utf-8") + b"Andr\xe9,Dupont,,,,,,,,\r\n"
    parsed, rows = read(data)
    assert parsed.encoding == "utf-8+cp1252"
    assert "not valid UTF-8" in parsed.warnings[0] and "cp1252" in parsed.warnings[0]
    assert [r.record.first_name for r in rows] == ["Zoë", "André"]


def test_header_matching_nothing_is_named(formats):
    parsed = open_import(b"foo,bar,baz\r\n1,2,3\r\n", formats)
    problem = parsed.preview().warnings[-1]
    assert "'foo', 'bar', 'baz'" in problem
    with pytest.raises(ImportFileError, match=r"the header \('foo', 'bar', 'baz'\) matches no known format or field"):
        list(parsed.iter_rows())


def test_header_matching_nothing_without_generic_format(formats):
    only_pbx = [f for f in formats if f.name == "pbx_csv"]
    with pytest.raises(ImportFileError, match=r"matches no import format.*'foo'"):
        open_import(b"foo,bar\r\n1,2\r\n", only_pbx)


def test_ragged_rows_are_row_errors(read):
    data = (
        PBX
        + "Ann,Lee,,,,,,,,\r\nToo,Few,cells\r\nToo,Many,,,,,,,,,extra\r\nTrailing,Comma,,,,,,,,,\r\nBob,Ray,,,,,,,,\r\n"
    )
    _, rows = read(data.encode())
    assert [r.row_number for r in rows] == [2, 3, 4, 5, 6]
    assert rows[1].error == "Row 3 has 3 cells but the header has 10 columns." and rows[1].record is None
    assert rows[2].error == "Row 4 has 11 cells but the header has 10 columns."
    assert rows[3].error is None and rows[3].record.first_name == "Trailing"  # trailing empty cell tolerated
    assert rows[4].record.first_name == "Bob"


def test_invalid_enum_value_is_a_row_error_naming_field_and_column(read):
    data = "First Name,Status,Opt In SMS\r\nAnn,foo,maybe\r\nBob,Do Not Contact,yes\r\n"
    _, rows = read(data.encode())
    assert rows[0].error == (
        "Row 2: status: 'foo' is not one of active, inactive, do_not_contact (column 'Status'); "
        "opt_in_sms: 'maybe' is not a yes/no value (yes, no, true, false, 1, 0) (column 'Opt In SMS')"
    )
    assert (rows[1].record.status, rows[1].record.opt_in_sms) == ("do_not_contact", True)


def test_row_with_nothing_to_import(read):
    _, rows = read((PBX + ",,,customer,,,,,,only a note\r\n").encode())
    assert rows[0].record is None and "nothing to import" in rows[0].error


def test_one_megabyte_cell_is_accepted(records):
    big = "x" * 1_000_000
    [rec] = records((PBX + f'Ann,Lee,,,,,,,,"{big}"\r\n').encode())
    assert rec.notes == big


def test_cell_above_the_cap_is_a_clear_file_error(formats):
    parsed = open_import((PBX + 'Ann,Lee,,,,,,,,"' + "y" * 5000 + '"\r\n').encode(), formats, max_cell_chars=1000)
    with pytest.raises(ImportFileError, match=r"Row 2 .*longer than the limit of 1,000 characters.*unbalanced quote"):
        list(parsed.iter_rows())


def test_unknown_format_name_and_bad_mapping(formats):
    with pytest.raises(ImportFileError, match=r"Unknown import format 'xlsx'.*pbx_csv"):
        open_import(PBX.encode(), formats, format_name="xlsx")
    with pytest.raises(ImportFileError, match="mapping has 2 targets but the file has 10 columns"):
        open_import(PBX.encode(), formats, mapping=["first_name", None])
    with pytest.raises(ImportFileError, match=r"Column 1 \('name'\): unknown target 'frist_name'"):
        open_import(PBX.encode(), formats, mapping=["frist_name"] + [None] * 9)


@pytest.mark.parametrize(
    ("sample", "expected"),
    [
        ("a,b,c\n1,2,3\n", ","),
        ("a;b;c\n1;2;3\n", ";"),
        ("a\tb\tc\n1\t2\t3\n", "\t"),
        ("a|b|c\n1|2|3\n", "|"),
        ('name;notes;x\n"Müller, Hans";"a, b, c";1\nA;"[\'112\', \'112\']";2\n', ";"),
        ("Name;E-Mail-Adresse;Firma\nRobin, Ex;r@x.de;Co, Ltd\n", ";"),
        ("single\nvalue\n", ","),
    ],
)
def test_delimiter_detection(sample, expected):
    assert detect_delimiter(sample) == expected


def test_delimiter_override_and_header_switch(read):
    data = b"Ann|Lee|+1 555 0100\r\nBob|Ray|+1 555 0101\r\n"
    parsed, rows = read(data, delimiter="pipe", has_header=False, mapping=["first_name", "last_name", "mobile"])
    assert parsed.header == ("Column 1", "Column 2", "Column 3") and parsed.delimiter == "|"
    assert [r.row_number for r in rows] == [1, 2]
    assert [(r.record.first_name, r.record.phones[0].label) for r in rows] == [("Ann", "mobile"), ("Bob", "mobile")]
    forced, _ = read(b"a;b\r\n1;2\r\n", delimiter=",", mapping=["first_name"])
    assert forced.header == ("a;b",)


def test_no_header_without_mapping_asks_for_one(formats):
    parsed = open_import(b"Ann,Lee\r\n", formats, has_header=False)
    assert all(c.target is None for c in parsed.preview().columns)
    with pytest.raises(ImportFileError, match="Map the columns by hand"):
        list(parsed.iter_rows())


def test_broken_vcard_is_reported_and_others_import(read):
    data = (
        b"BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Good One\r\nN:One;Good;;;\r\nTEL;TYPE=CELL:+1 555 0100\r\nEND:VCARD\r\n"
        b"BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Broken Card\r\nN:Card;Broken;;;\r\nBEGIN:VCARD\r\nEND:VCARD\r\n"
        b"BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Second Good\r\nEMAIL;TYPE=WORK:s@example.com\r\nEND:VCARD\r\n"
        b"BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Truncated\r\n"
    )
    parsed, rows = read(data)
    assert parsed.format == "vcard"
    assert rows[0].record.first_name == "Good" and rows[0].record.phones[0].label == "mobile"
    assert rows[1].record is None and rows[1].error.startswith("card 2 'Broken Card': cannot be read")
    assert (rows[2].record.first_name, rows[2].record.last_name) == ("Second", "Good")
    assert rows[3].error == "card 4 'Truncated': the card has BEGIN:VCARD but no END:VCARD (file truncated?)"
