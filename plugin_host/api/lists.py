"""Lists (static and dynamic, live counts, members), tags, accounts and custom-field definitions."""

from __future__ import annotations

from typing import Any

from plugin_host.api import api, repo, writes
from plugin_host.api import schemas as s
from plugin_host.repo import (
    AccountRepository,
    ContactQuery,
    ContactRepository,
    CustomFieldRepository,
    ListRepository,
    TagRepository,
)

SEC = ["bearerAuth", "cookieAuth"]


@api.get("/lists")
@api.output(s.ListOut(many=True))
@api.doc(tags=["Lists"], summary="Lists the caller may see, with live counts", security=SEC)
def all_lists() -> Any:
    return repo(ListRepository).all()


@api.post("/lists")
@api.input(s.ListIn, arg_name="data")
@api.output(s.ListOut, status_code=201)
@api.doc(tags=["Lists"], summary="Create a static or dynamic list", security=SEC, responses=[403, 422])
@writes
def create_list(data: dict[str, Any]) -> Any:
    return repo(ListRepository).create(data), 201


@api.get("/lists/<int:list_id>")
@api.output(s.ListOut)
@api.doc(tags=["Lists"], summary="A list with its live count", security=SEC, responses=[404])
def get_list(list_id: int) -> Any:
    return repo(ListRepository).get(list_id)


@api.patch("/lists/<int:list_id>")
@api.input(s.ListPatch, arg_name="data")
@api.output(s.ListOut)
@api.doc(tags=["Lists"], summary="Rename a list or change its criteria", security=SEC, responses=[403, 404, 422])
@writes
def update_list(list_id: int, data: dict[str, Any]) -> Any:
    return repo(ListRepository).update(list_id, data)


@api.delete("/lists/<int:list_id>")
@api.output({}, status_code=204)
@api.doc(tags=["Lists"], summary="Delete a list (its contacts stay)", security=SEC, responses=[403, 404])
@writes
def delete_list(list_id: int) -> Any:
    repo(ListRepository).delete(list_id)
    return "", 204


@api.get("/lists/<int:list_id>/members")
@api.input(s.ContactsQuery, location="query", arg_name="args")
@api.output(s.ContactPage)
@api.doc(tags=["Lists"], summary="The list's contacts (search, A–Z and paging apply)", security=SEC,
         responses=[404])
def list_members(list_id: int, args: dict[str, Any]) -> Any:
    with_total = args.pop("with_total", False)
    query = ContactQuery(**{**args, "list_id": list_id})
    contacts = repo(ContactRepository)
    page = contacts.list(query)
    if with_total:
        page["total"] = contacts.count(query)
    return page


@api.post("/lists/<int:list_id>/members")
@api.input(s.MembersIn, arg_name="data")
@api.output(s.CountOut)
@api.doc(tags=["Lists"], summary="Add contacts to a static list", security=SEC, responses=[403, 404, 422])
@writes
def add_members(list_id: int, data: dict[str, Any]) -> Any:
    return {"count": repo(ListRepository).add_members(list_id, data["contact_ids"])}


@api.delete("/lists/<int:list_id>/members")
@api.input(s.MembersIn, arg_name="data")
@api.output(s.CountOut)
@api.doc(tags=["Lists"], summary="Remove contacts from a static list (the contacts stay)", security=SEC,
         responses=[403, 404, 422])
@writes
def remove_members(list_id: int, data: dict[str, Any]) -> Any:
    return {"count": repo(ListRepository).remove_members(list_id, data["contact_ids"])}


@api.get("/tags")
@api.output(s.TagOut(many=True))
@api.doc(tags=["Tags"], summary="Tags with the number of contacts the caller may read", security=SEC)
def all_tags() -> Any:
    return repo(TagRepository).all()


@api.patch("/tags/<int:tag_id>")
@api.input(s.NameIn, arg_name="data")
@api.output(s.TagOut)
@api.doc(tags=["Tags"], summary="Rename a tag", security=SEC, responses=[403, 404, 422])
@writes
def rename_tag(tag_id: int, data: dict[str, Any]) -> Any:
    return repo(TagRepository).rename(tag_id, data["name"])


@api.delete("/tags/<int:tag_id>")
@api.output({}, status_code=204)
@api.doc(tags=["Tags"], summary="Delete a tag from every contact", security=SEC, responses=[403, 404])
@writes
def delete_tag(tag_id: int) -> Any:
    repo(TagRepository).delete(tag_id)
    return "", 204


@api.get("/accounts")
@api.output(s.AccountOut(many=True))
@api.doc(tags=["Accounts"], summary="Accounts (companies)", security=SEC)
def all_accounts() -> Any:
    return repo(AccountRepository).all()


@api.post("/accounts")
@api.input(s.AccountIn, arg_name="data")
@api.output(s.AccountOut, status_code=201)
@api.doc(tags=["Accounts"], summary="Create an account", security=SEC, responses=[403, 422])
@writes
def create_account(data: dict[str, Any]) -> Any:
    return repo(AccountRepository).create(data), 201


@api.delete("/accounts/<int:account_id>")
@api.output({}, status_code=204)
@api.doc(tags=["Accounts"], summary="Delete an account (contacts are unlinked)", security=SEC,
         responses=[403, 404])
@writes
def delete_account(account_id: int) -> Any:
    repo(AccountRepository).delete(account_id)
    return "", 204


@api.get("/custom-fields")
@api.output(s.CustomFieldOut(many=True))
@api.doc(tags=["Custom fields"], summary="Custom-field definitions", security=SEC)
def all_custom_fields() -> Any:
    return repo(CustomFieldRepository).all()


@api.post("/custom-fields")
@api.input(s.CustomFieldIn, arg_name="data")
@api.output(s.CustomFieldOut, status_code=201)
@api.doc(tags=["Custom fields"], summary="Define a custom field", security=SEC, responses=[403, 422])
@writes
def create_custom_field(data: dict[str, Any]) -> Any:
    return repo(CustomFieldRepository).create(data), 201


@api.delete("/custom-fields/<int:field_id>")
@api.output({}, status_code=204)
@api.doc(tags=["Custom fields"], summary="Delete a custom field and its values", security=SEC,
         responses=[403, 404])
@writes
def delete_custom_field(field_id: int) -> Any:
    repo(CustomFieldRepository).delete(field_id)
    return "", 204
