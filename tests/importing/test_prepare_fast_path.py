"""The import hot path's shortcuts give exactly what the general code gives.

``prepare_record`` checks a builder's record in one pass (``_checked_values``) and asks
``validate_contact`` only for unusual values; ``ContactRecord.of`` builds a record without the
frozen dataclass's per-field ``__setattr__``. Both must be invisible: same values, same errors.
"""

from __future__ import annotations

import dataclasses

import pytest

from plugin_host.records import ContactRecord, EmailIn, PhoneIn
from plugin_host.repo.errors import ValidationError
from plugin_host.repo.upsert import _checked_values, _record_data, prepare_record
from plugin_host.repo.validation import validate_contact

USUAL = [
    ContactRecord(first_name=" Ana ", last_name="Lima", company="Acme", contact_type="Lead", notes="a\nb",
                  phones=(PhoneIn(" (212) 555-0123 ", "Mobile"),),
                  emails=(EmailIn(" A.Lima@Example.COM ", " Business "),)),
    ContactRecord(first_name="Bo", phones=(PhoneIn("   ", "work"), PhoneIn("+49 30 1234567", "")), emails=()),
    ContactRecord(company="Globex", status="", acquisition_source="", preferred_channel="", opt_in_sms=True),
    ContactRecord(last_name="", title="", emails=(EmailIn(" ", "other"),), phones=()),
    ContactRecord(external_crm_id="crm-1", language="de", timezone="Europe/Berlin", opt_in_email=False),
]
UNUSUAL = [
    ContactRecord(first_name="x" * 10_000),  # too long
    ContactRecord(contact_type="wizard"),  # not a choice
    ContactRecord(emails=(EmailIn("not-an-address", "work"),)),
    ContactRecord(phones=(PhoneIn("212 555 0123", "pager-ish"),)),  # unknown label
    ContactRecord(emails=(EmailIn("a@example.com", "carrier pigeon"),)),
    ContactRecord(opt_in_sms="yes"),  # type: ignore[arg-type]
    ContactRecord(first_name=42),  # type: ignore[arg-type]
]


def _general(rec: ContactRecord, clears: bool) -> dict:
    data, cleared = _record_data(rec, clears)
    values = validate_contact(data, partial=True)
    values.update(dict.fromkeys(cleared))
    return values


@pytest.mark.parametrize("clears", [False, True])
@pytest.mark.parametrize("rec", USUAL, ids=range(len(USUAL)))
def test_the_one_pass_check_equals_validate_contact(rec: ContactRecord, clears: bool) -> None:
    fast = _checked_values(rec, clears)
    assert fast is not None, "a builder's usual record must take the one-pass check"
    assert fast == _general(rec, clears)


@pytest.mark.parametrize("clears", [False, True])
@pytest.mark.parametrize("rec", UNUSUAL, ids=range(len(UNUSUAL)))
def test_unusual_values_get_validate_contacts_own_error(rec: ContactRecord, clears: bool) -> None:
    assert _checked_values(rec, clears) is None
    with pytest.raises(ValidationError) as general:
        _general(rec, clears)
    with pytest.raises(ValidationError) as prepared:
        prepare_record(rec, "US", blank_clears=clears)
    assert str(prepared.value) == str(general.value)


def test_blank_clears_empties_text_and_clears_optional_choices_only() -> None:
    rec = ContactRecord(first_name="", contact_type="", preferred_channel="", phones=(PhoneIn(" "),))
    assert _checked_values(rec, False) == {}
    assert _checked_values(rec, True) == {"first_name": "", "phones": [], "preferred_channel": None}


def test_contact_record_of_is_the_constructor() -> None:
    values = {"first_name": "Ana", "phones": (PhoneIn("1", "work"),), "custom": {"vip": "yes"}, "visibility": "Owner"}
    built = ContactRecord.of(values)
    assert built == ContactRecord(**values)
    assert repr(built) == repr(ContactRecord(**values))
    assert dataclasses.replace(built, last_name="Lima") == ContactRecord(**values, last_name="Lima")
    with pytest.raises(dataclasses.FrozenInstanceError):
        built.first_name = "Bo"  # type: ignore[misc]
    assert ContactRecord.of({}) == ContactRecord()
