"""Request and response schemas; the OpenAPI document is generated from these and the routes."""

from __future__ import annotations

from apiflask import Schema, fields
from apiflask.validators import Length, OneOf, Range

from plugin_host.permissions import TOKEN_SCOPES
from plugin_host.records import (
    ACQUISITION_SOURCES,
    CONTACT_TYPES,
    EMAIL_LABELS,
    PHONE_LABELS,
    STATUSES,
    VISIBILITIES,
)
from plugin_host.repo.activities import DIRECTIONS, KINDS
from plugin_host.repo.query import LETTERS
from plugin_host.repo.validation import CHANNELS

Str = fields.String
Int = fields.Integer
Bool = fields.Boolean
#: ids are 64-bit integers in the database; larger numbers are invalid input, not a server error
MAX_ID = 2**63 - 1


class PhoneIn(Schema):
    number = Str(required=True, validate=Length(1, 100))
    label = Str(load_default="other", validate=OneOf(PHONE_LABELS))


class EmailIn(Schema):
    address = Str(required=True, validate=Length(3, 254))
    label = Str(load_default="other", validate=OneOf(EMAIL_LABELS))


class PhoneOut(Schema):
    number = Str(required=True)
    e164 = Str(allow_none=True)
    extension = Str(allow_none=True)
    label = Str(required=True)
    kind = Str(required=True, metadata={"description": "e164, internal (extension/short number) or invalid"})
    valid = Bool(required=True)


class EmailOut(Schema):
    address = Str(required=True)
    label = Str(required=True)


def _contact_fields(out: bool) -> dict:
    opt = {"allow_none": True}
    d = {
        "first_name": Str(validate=Length(0, 200), **opt), "last_name": Str(validate=Length(0, 200), **opt),
        "company": Str(validate=Length(0, 200), **opt), "account_id": Int(**opt),
        "contact_type": Str(validate=OneOf(CONTACT_TYPES)), "title": Str(validate=Length(0, 200), **opt),
        "org_department": Str(validate=Length(0, 200), **opt), "status": Str(validate=OneOf(STATUSES)),
        "acquisition_source": Str(validate=OneOf(ACQUISITION_SOURCES), **opt),
        "preferred_channel": Str(validate=OneOf(CHANNELS), **opt), "language": Str(validate=Length(0, 35), **opt),
        "timezone": Str(validate=Length(0, 64), **opt), "notes": Str(validate=Length(0, 20000), **opt),
        "fb_user_id": Str(validate=Length(0, 64), **opt), "external_crm_id": Str(validate=Length(0, 200), **opt),
        "external_crm_provider": Str(validate=Length(0, 100), **opt), "opt_in_email": Bool(),
        "opt_in_sms": Bool(), "opt_in_whatsapp": Bool(),
        "tags": fields.List(Str(validate=Length(1, 100)), validate=Length(max=100)),
        "custom": fields.Dict(keys=Str(), values=fields.Raw(allow_none=True)),
    }
    if out:
        d.update(phones=fields.List(fields.Nested(PhoneOut)), emails=fields.List(fields.Nested(EmailOut)))
    else:
        d.update(phones=fields.List(fields.Nested(PhoneIn), validate=Length(max=50)),
                 emails=fields.List(fields.Nested(EmailIn), validate=Length(max=50)))
    return d


ContactUpdate = Schema.from_dict(_contact_fields(False), name="ContactUpdate")
ContactCreate = Schema.from_dict({
    **_contact_fields(False),
    "visibility": Str(validate=OneOf(VISIBILITIES), metadata={"description": "All=global, Queue=department, "
                                                                              "Owner=private"}),
    "department_id": Int(allow_none=True), "owner_id": Int(allow_none=True)}, name="ContactCreate")
ContactOut = Schema.from_dict({
    **_contact_fields(True), "id": Int(required=True), "display_name": Str(required=True),
    "visibility": Str(required=True), "department_id": Int(allow_none=True), "owner_id": Int(allow_none=True),
    "source_id": Int(allow_none=True), "external_id": Str(allow_none=True), "locally_modified": Bool(),
    "version": Int(required=True), "created_by": Int(allow_none=True), "updated_by": Int(allow_none=True),
    "created_at": Str(), "updated_at": Str(), "lists": fields.List(Str()), "activity_count": Int()},
    name="Contact")


class ContactPage(Schema):
    items = fields.List(fields.Nested(ContactOut), required=True)
    next = Str(allow_none=True, metadata={"description": "cursor for the next page (pass as `after`)"})
    total = Int(allow_none=True, metadata={"description": "only with `with_total=true`"})


class ContactsQuery(Schema):
    q = Str(validate=Length(0, 200), metadata={"description": "name, company, e-mail or phone"})
    match = Str(load_default="auto", validate=OneOf(["auto", "prefix", "substring"]))
    letter = Str(validate=OneOf(list(LETTERS)), metadata={"description": "A–Z jump, # for others"})
    status = Str(validate=OneOf(STATUSES))
    acquisition_source = Str(validate=OneOf(ACQUISITION_SOURCES))
    source_id = Int(validate=Range(1, MAX_ID))
    account_id = Int(validate=Range(1, MAX_ID))
    contact_type = Str(validate=OneOf(CONTACT_TYPES))
    tag = Str(validate=Length(1, 100), metadata={"description": "substring of a tag name"})
    has_activities = Bool()
    list_id = Int(validate=Range(1, MAX_ID))
    visibility = Str(validate=OneOf(VISIBILITIES))
    department_id = Int(validate=Range(1, MAX_ID))
    after = Str(validate=Length(1, 600))
    limit = Int(load_default=50, validate=Range(1, 200))
    with_total = Bool(load_default=False)


class BulkIn(Schema):
    ids = fields.List(Int(validate=Range(1, MAX_ID)), required=True, validate=Length(1, 10000))
    action = Str(required=True, validate=OneOf(["add_tag", "remove_tag", "add_to_list", "assign_to_queue",
                                                "delete"]))
    tag = Str(validate=Length(1, 100))
    list_id = Int(validate=Range(1, MAX_ID))
    department_id = Int(validate=Range(1, MAX_ID))


class BulkOut(Schema):
    action = Str(required=True)
    done = Int(required=True)
    denied = fields.List(Int(), required=True)
    not_found = fields.List(Int(), required=True)


class ConvertIn(Schema):
    visibility = Str(required=True, validate=OneOf(VISIBILITIES))
    department_id = Int(allow_none=True, validate=Range(1, MAX_ID))
    owner_id = Int(allow_none=True, validate=Range(1, MAX_ID))


class ActivityIn(Schema):
    kind = Str(required=True, validate=OneOf(KINDS))
    direction = Str(allow_none=True, validate=OneOf(DIRECTIONS))
    summary = Str(validate=Length(0, 500))
    body = Str(allow_none=True, validate=Length(0, 100000))
    occurred_at = fields.DateTime(allow_none=True)
    duration_seconds = Int(allow_none=True, validate=Range(0, 10**7))
    department_id = Int(allow_none=True, validate=Range(1, MAX_ID))
    source = Str(allow_none=True, validate=Length(0, 64))
    external_id = Str(allow_none=True, validate=Length(0, 255))


class ActivityPost(ActivityIn):
    contact_id = Int(validate=Range(1, MAX_ID))
    number = Str(validate=Length(1, 64), metadata={"description": "log against the caller-ID match instead"})


class ActivityOut(Schema):
    id = Int(required=True)
    contact_id = Int(required=True)
    kind = Str(required=True)
    direction = Str(allow_none=True)
    summary = Str()
    body = Str(allow_none=True)
    user_id = Int(allow_none=True)
    agent = Str(allow_none=True)
    department_id = Int(allow_none=True)
    occurred_at = Str(required=True)
    duration_seconds = Int(allow_none=True)
    source = Str(allow_none=True)
    external_id = Str(allow_none=True)


class TimelineQuery(Schema):
    limit = Int(load_default=100, validate=Range(1, 1000))
    order = Str(load_default="asc", validate=OneOf(["asc", "desc"]))


class LookupQuery(Schema):
    number = Str(required=True, validate=Length(1, 64))


class LookupOut(Schema):
    number = Str(required=True)
    e164 = Str(allow_none=True)
    match = Str(required=True, metadata={"description": "e164, national, suffix, extension, ambiguous or none"})
    name = Str(allow_none=True, metadata={"description": "display name for the PBX (first match)"})
    contacts = fields.List(fields.Nested(ContactOut), required=True)


class ListIn(Schema):
    name = Str(required=True, validate=Length(1, 200))
    kind = Str(load_default="static", validate=OneOf(["static", "dynamic"]))
    description = Str(validate=Length(0, 2000))
    criteria = fields.Dict(keys=Str(), values=fields.Raw(allow_none=True))
    visibility = Str(validate=OneOf(VISIBILITIES))
    department_id = Int(allow_none=True, validate=Range(1, MAX_ID))
    owner_id = Int(allow_none=True, validate=Range(1, MAX_ID))


class ListPatch(Schema):
    name = Str(validate=Length(1, 200))
    description = Str(validate=Length(0, 2000))
    criteria = fields.Dict(keys=Str(), values=fields.Raw(allow_none=True))


class ListOut(Schema):
    id = Int(required=True)
    name = Str(required=True)
    kind = Str(required=True)
    description = Str()
    criteria = fields.Dict()
    visibility = Str()
    department_id = Int(allow_none=True)
    owner_id = Int(allow_none=True)
    created_at = Str()
    count = Int(metadata={"description": "live count of the members you may read"})


class MembersIn(Schema):
    contact_ids = fields.List(Int(validate=Range(1, MAX_ID)), required=True, validate=Length(1, 10000))


class CountOut(Schema):
    count = Int(required=True)


class TagOut(Schema):
    id = Int(required=True)
    name = Str(required=True)
    count = Int()


class NameIn(Schema):
    name = Str(required=True, validate=Length(1, 200))


class AccountIn(Schema):
    name = Str(required=True, validate=Length(1, 200))
    website = Str(allow_none=True, validate=Length(0, 300))


class AccountOut(Schema):
    id = Int(required=True)
    name = Str(required=True)
    website = Str(allow_none=True)


class CustomFieldIn(Schema):
    name = Str(required=True, validate=Length(1, 64))
    label = Str(validate=Length(0, 200))
    field_type = Str(load_default="text", validate=OneOf(["text", "number", "date", "select", "checkbox",
                                                          "textarea"]))
    options = fields.List(Str(validate=Length(1, 200)))
    required = Bool()
    sort_order = Int(validate=Range(-10000, 10000))
    entity = Str(load_default="contact", validate=OneOf(["contact", "account", "lead"]))


class CustomFieldOut(Schema):
    id = Int(required=True)
    entity = Str()
    name = Str(required=True)
    label = Str()
    field_type = Str()
    options = fields.List(Str())
    required = Bool()
    sort_order = Int()


class MemberOut(Schema):
    user_id = Int(required=True)
    is_admin = Bool(required=True)


class DepartmentOut(Schema):
    id = Int(required=True)
    name = Str(required=True)
    members = fields.List(fields.Nested(MemberOut))


class MembershipIn(Schema):
    is_admin = Bool(load_default=False)


class UserIn(Schema):
    username = Str(required=True, validate=Length(2, 120))
    password = Str(validate=Length(8, 200), load_only=True)
    display_name = Str(validate=Length(0, 200))
    email = Str(allow_none=True, validate=Length(0, 254))
    is_admin = Bool()
    extension = Str(allow_none=True, validate=Length(0, 32))
    can_import = Bool()


class UserPatch(Schema):
    password = Str(validate=Length(8, 200), load_only=True)
    display_name = Str(validate=Length(0, 200))
    email = Str(allow_none=True, validate=Length(0, 254))
    is_admin = Bool()
    extension = Str(allow_none=True, validate=Length(0, 32))
    can_import = Bool()
    is_active = Bool()


class UserOut(Schema):
    id = Int(required=True)
    username = Str(required=True)
    display_name = Str()
    email = Str(allow_none=True)
    is_admin = Bool()
    extension = Str(allow_none=True)
    can_import = Bool()
    is_active = Bool()


class TokenIn(Schema):
    name = Str(required=True, validate=Length(1, 200))
    scopes = fields.List(Str(validate=OneOf(TOKEN_SCOPES)), required=True, validate=Length(1, 4))
    expires_days = Int(allow_none=True, validate=Range(1, 3650))
    user_id = Int(validate=Range(1, MAX_ID))


class TokenOut(Schema):
    id = Int(required=True)
    name = Str(required=True)
    prefix = Str(required=True)
    scopes = fields.List(Str(), required=True)
    user_id = Int()
    created_at = Str()
    last_used_at = Str(allow_none=True)
    expires_at = Str(allow_none=True)
    revoked = Bool()
    token = Str(metadata={"description": "the secret, returned once at creation"})


class AuditQuery(Schema):
    entity = Str(validate=Length(1, 32))
    before_id = Int(validate=Range(1, MAX_ID))
    limit = Int(load_default=100, validate=Range(1, 500))


class AuditOut(Schema):
    id = Int(required=True)
    user_id = Int(allow_none=True)
    action = Str(required=True)
    entity = Str(required=True)
    entity_id = Str(allow_none=True)
    details = fields.Dict()
    at = Str(required=True)


class MeOut(Schema):
    user_id = Int(required=True)
    username = Str(required=True)
    tenant_id = Int(required=True)
    tenant = Str(required=True)
    role = Str(required=True)
    member_departments = fields.List(Int())
    admin_departments = fields.List(Int())
    scopes = fields.List(Str())
    auth = Str(metadata={"description": "session or token"})
    csrf_token = Str(allow_none=True, metadata={"description": "send as X-CSRF-Token on cookie writes"})
    permissions = fields.Dict(keys=Str(), values=fields.Raw())
