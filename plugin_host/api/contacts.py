"""Contacts, bulk actions, scope conversion, timeline, activities and caller-ID lookup."""

from __future__ import annotations

from typing import Any

from flask import request

from plugin_host.api import api, repo, writes
from plugin_host.api import schemas as s
from plugin_host.app import hub
from plugin_host.repo import (
    ActivityRepository,
    ContactQuery,
    ContactRepository,
    LookupRepository,
    PreconditionFailed,
    ValidationError,
    etag,
)

SEC = ["bearerAuth", "cookieAuth"]


def _query(args: dict[str, Any]) -> tuple[ContactQuery, bool]:
    with_total = args.pop("with_total", False)
    return ContactQuery(**args), with_total


@api.get("/contacts")
@api.input(s.ContactsQuery, location="query", arg_name="args")
@api.output(s.ContactPage)
@api.doc(summary="List and search contacts", security=SEC, responses=[404],
         description="Filters, search (prefix and substring), A–Z letter and keyset pagination; only contacts "
                     "the caller may read.")
def list_contacts(args: dict[str, Any]) -> Any:
    query, with_total = _query(args)
    contacts = repo(ContactRepository)
    page = contacts.list(query)
    if with_total:
        page["total"] = contacts.count(query)
    return page


@api.post("/contacts")
@api.input(s.ContactCreate, arg_name="data")
@api.output(s.ContactOut, status_code=201)
@api.doc(summary="Create a contact", security=SEC, responses=[403, 422])
@writes
def create_contact(data: dict[str, Any]) -> Any:
    contact = repo(ContactRepository).create(data)
    return contact, 201, {"ETag": etag(contact), "Location": f"/api/v1/contacts/{contact['id']}"}


@api.get("/contacts/<int:contact_id>")
@api.output(s.ContactOut)
@api.doc(summary="Get a contact (with its ETag)", security=SEC, responses=[404])
def get_contact(contact_id: int) -> Any:
    contact = repo(ContactRepository).get(contact_id)
    return contact, 200, {"ETag": etag(contact)}


def _if_match(contact_id: int) -> int | None:
    """The version named by ``If-Match`` (None when absent or ``*``); another contact's ETag is stale too."""
    header = request.headers.get("If-Match")
    if not header or header.strip() == "*":
        return None
    try:
        cid, version = header.strip().removeprefix("W/").strip('"').rsplit("-", 1)
        if int(cid) != contact_id:
            raise PreconditionFailed("If-Match names another contact's ETag")
        return int(version)
    except ValueError:
        raise PreconditionFailed("If-Match must be an ETag returned by this API") from None


@api.patch("/contacts/<int:contact_id>")
@api.input(s.ContactUpdate(partial=True), arg_name="data")
@api.output(s.ContactOut)
@api.doc(summary="Update a contact", security=SEC, responses=[403, 404, 412, 422],
         description="Send `If-Match` with the ETag you read: a stale ETag gets 412 instead of overwriting "
                     "someone else's edit.")
@writes
def update_contact(contact_id: int, data: dict[str, Any]) -> Any:
    contact = repo(ContactRepository).update(contact_id, data, if_version=_if_match(contact_id))
    return contact, 200, {"ETag": etag(contact)}


@api.delete("/contacts/<int:contact_id>")
@api.output({}, status_code=204)
@api.doc(summary="Delete a contact", security=SEC, responses=[403, 404])
@writes
def delete_contact(contact_id: int) -> Any:
    repo(ContactRepository).delete(contact_id)
    return "", 204


@api.post("/contacts/bulk")
@api.input(s.BulkIn, arg_name="data")
@api.output(s.BulkOut)
@api.doc(summary="Bulk action on selected contacts", security=SEC, responses=[403, 404, 422],
         description="add_tag / remove_tag (tag), add_to_list (list_id), assign_to_queue (department_id) "
                     "or delete. Contacts the caller may not change are reported in `denied`.")
@writes
def bulk(data: dict[str, Any]) -> Any:
    params = {k: data[k] for k in ("tag", "list_id", "department_id") if k in data}
    return repo(ContactRepository).bulk(data["ids"], data["action"], **params)


@api.post("/contacts/<int:contact_id>/convert")
@api.input(s.ConvertIn, arg_name="data")
@api.output(s.ContactOut)
@api.doc(summary="Convert between global, department and private scope", security=SEC, responses=[403, 404])
@writes
def convert(contact_id: int, data: dict[str, Any]) -> Any:
    return repo(ContactRepository).convert(contact_id, data["visibility"], data.get("department_id"),
                                           data.get("owner_id"))


@api.get("/contacts/<int:contact_id>/timeline")
@api.input(s.TimelineQuery, location="query", arg_name="args")
@api.output(s.ActivityOut(many=True))
@api.doc(summary="The contact's activities in chronological order", security=SEC, responses=[404])
def timeline(contact_id: int, args: dict[str, Any]) -> Any:
    return repo(ActivityRepository).timeline(contact_id, args["limit"], newest_first=args["order"] == "desc")


@api.post("/contacts/<int:contact_id>/activities")
@api.input(s.ActivityIn, arg_name="data")
@api.output(s.ActivityOut, status_code=201)
@api.doc(summary="Log an activity on a contact", security=SEC, responses=[404, 422])
@writes
def add_activity(contact_id: int, data: dict[str, Any]) -> Any:
    return repo(ActivityRepository).add(contact_id, data), 201


@api.post("/activities")
@api.input(s.ActivityPost, arg_name="data")
@api.output(s.ActivityOut, status_code=201)
@api.doc(summary="Log a call/chat event by contact id or by caller number", security=SEC, responses=[404, 422],
         description="A PBX posts call events here with `number`; the caller-ID match (unambiguous) gets it.")
@writes
def post_activity(data: dict[str, Any]) -> Any:
    contact_id, number = data.pop("contact_id", None), data.pop("number", None)
    if contact_id is None:
        if not number:
            raise ValidationError({"contact_id": ["give contact_id or number"]})
        how, ids = repo(LookupRepository).match_ids(number)
        if len(ids) != 1:
            raise ValidationError({"number": [f"no single contact matches {number!r} ({how})"]})
        contact_id = ids[0]
    return repo(ActivityRepository).add(contact_id, data), 201


@api.get("/lookup")
@api.input(s.LookupQuery, location="query", arg_name="args")
@api.output(s.LookupOut)
@api.doc(summary="Caller-ID lookup by phone number", security=SEC,
         description="E.164 match, then national number, then the last N digits (ambiguous matches refused); "
                     "internal extensions match exactly. Only contacts the caller may read.")
def lookup(args: dict[str, Any]) -> Any:
    result = repo(LookupRepository).lookup(args["number"])
    first = result["contacts"][0] if result["contacts"] else None
    result["name"] = hub().pm.hook.contacts_hub_caller_id_name(contact=first) if first else None
    return result


