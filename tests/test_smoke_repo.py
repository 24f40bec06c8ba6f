"""Smoke: a contact round-trips through the repository on every backend."""

from plugin_host.repo import ContactQuery, ContactRepository


def test_create_get_list(world, session):
    repo = ContactRepository(session, world.principal("admin"))
    c = repo.create({"first_name": "Noah", "last_name": "Bianchi", "company": "PulseNet",
                     "phones": [{"number": "+1 408 555 0101", "label": "home"}],
                     "emails": [{"address": "noah@pulsenet.com", "label": "private"}], "tags": ["vip"]})
    session.commit()
    assert c["phones"][0]["e164"] == "+14085550101"
    assert repo.get(c["id"])["tags"] == ["vip"]
    page = repo.list(ContactQuery(q="bian"))
    assert [x["id"] for x in page["items"]] == [c["id"]]
