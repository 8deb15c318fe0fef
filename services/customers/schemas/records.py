"""A customer: what creating and editing one accepts, and how every RPC returns it."""
from __future__ import annotations

import datetime as dt

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from crm_kit.records.jsonschema import documented
from crm_kit.records.phones import PHONE_PATTERN, phone_number  # noqa: F401  (PHONE_PATTERN: tests, docs)
from crm_kit.records.schemas import InputSchema, not_blank, partial_of
from crm_kit.records.text import normalize_phone
from services.customers.domain import GENDERS, KINDS, LEVELS, SOURCES, individual_fields_refused

# Set by the platform (pools, sales/billing events, conversion), never by an edit.
CUSTOMER_SERVER_OWNED = (
    "name_key", "mobile_key", "telephone_key", "pool_id", "deal_status", "claim_count", "last_followed_at",
    "source_lead_id", "source_campaign_id", "opportunity_total", "order_total", "paid_total", "summary",
    "profile_completeness", "created_by", "owner_since", "previous_owner_id", "pool_since", "locked",
    "locked_at", "locked_by", "next_contact_at", "deal_at", "last_deal_at", "last_opportunity_at",
    "open_opportunities")


CONTACT_SERVER_OWNED = ("phone_key",)
MAX_CONTACTS = 20          # contacts created with their customer ("保存并新建联系人")

@documented({"description": "A date from 1900-01-01 to today."})
def _past_date(value: dt.date | None) -> None:
    if value is not None and not (dt.date(1900, 1, 1) <= value <= dt.date.today()):
        raise ValidationError("Must be a date from 1900-01-01 to today.")


def phone_field():
    return fields.String(load_default=None, allow_none=True, validate=[validate.Length(max=40), phone_number])


class ContactCreate(InputSchema):
    """A contact of a customer the caller may change; its phone (normalised) must be new among contacts."""

    class Meta(InputSchema.Meta):
        server_owned = CONTACT_SERVER_OWNED

    customer_id = fields.String(required=True, validate=validate.Length(min=1, max=36))
    name = fields.String(required=True, validate=[validate.Length(min=1, max=200), not_blank])
    title = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=100))
    phone = phone_field()
    email = fields.Email(load_default=None, allow_none=True, validate=validate.Length(max=254))
    birthday = fields.Date(load_default=None, allow_none=True, validate=_past_date)
    notes = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=2000))
    is_primary = fields.Boolean(load_default=False)


# A contact stays with its customer: customer_id cannot change.
ContactUpdate = partial_of(ContactCreate, "ContactUpdate", exclude=("customer_id",),
                           doc="Edit a contact: only the fields given change; server-owned fields are refused.")


class CustomerContactCreate(ContactCreate):
    """A contact created with its customer, in the same transaction (no ``customer_id``: the new one)."""

    class Meta(ContactCreate.Meta):
        exclude = ("customer_id",)


class CustomerCreate(InputSchema):
    """A customer entered by hand: the caller owns it. Refused (409 ``Duplicate``, naming the existing
    record and the field) when its normalised name, its mobile or telephone (against every customer's
    mobile and telephone), or a contact's phone (against every contact's) is already there."""

    class Meta(InputSchema.Meta):
        server_owned = CUSTOMER_SERVER_OWNED

    name = fields.String(required=True, validate=[validate.Length(min=1, max=200), not_blank])
    kind = fields.String(load_default="company", validate=validate.OneOf(KINDS))
    industry = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=100))
    size = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=50))
    level = fields.String(load_default=None, allow_none=True, validate=validate.OneOf(LEVELS))
    region = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=100))
    address = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=2000))
    latitude = fields.Float(load_default=None, allow_none=True, allow_nan=False,
                            validate=validate.Range(min=-90, max=90))
    longitude = fields.Float(load_default=None, allow_none=True, allow_nan=False,
                             validate=validate.Range(min=-180, max=180))
    mobile = phone_field()
    telephone = phone_field()
    email = fields.Email(load_default=None, allow_none=True, validate=validate.Length(max=254))
    website = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=200))
    gender = fields.String(load_default=None, allow_none=True, validate=validate.OneOf(GENDERS),
                           metadata={"description": "Individuals only."})
    birthday = fields.Date(load_default=None, allow_none=True, validate=_past_date,
                           metadata={"description": "Individuals only."})
    source = fields.String(load_default=None, allow_none=True, validate=validate.OneOf(SOURCES),
                           metadata={"description": "Where it came from: the lead source list."})
    notes = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=2000))
    tags = fields.List(fields.String(validate=validate.Length(min=1, max=50)), load_default=list,
                       validate=validate.Length(max=50))
    follow_stage = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=50))
    contacts = fields.List(fields.Nested(CustomerContactCreate), load_default=list,
                           validate=validate.Length(max=MAX_CONTACTS),
                           metadata={"description": "Contacts created with it, in the same transaction "
                                                    "(the first with is_primary, or the first, is primary)."})

    @validates_schema
    def _whole(self, data, partial=False, **kwargs):
        errors = individual_fields_refused(data.get("kind", "company"), data) if not partial else {}
        if not partial and (data.get("latitude") is None) != (data.get("longitude") is None):
            errors["latitude" if data.get("latitude") is None else "longitude"] = [
                "A location needs both latitude and longitude."]
        keys = [normalize_phone(c.get("phone")) for c in data.get("contacts") or ()]
        seen: set[str] = set()
        for i, key in enumerate(keys):
            if key and key in seen:
                errors.setdefault("contacts", {}).setdefault(i, {})["phone"] = [
                    "Another contact of this request has this phone."]
            seen.add(key)
        if errors:
            raise ValidationError(errors)


# An edit: the customer's own fields (contacts are added with ``create_contact``); kind and location
# rules are checked against the record as it becomes (``application.customer_record``).
CustomerUpdate = partial_of(CustomerCreate, "CustomerUpdate", exclude=("contacts",),
                            doc="Edit a customer: only the fields given change; server-owned fields are refused.")


class ContactOut(Schema):
    """A contact as every RPC returns it."""
    id = fields.String()
    customer_id = fields.String()
    name = fields.String()
    title = fields.String(allow_none=True)
    phone = fields.String(allow_none=True)
    email = fields.String(allow_none=True)
    birthday = fields.Date(allow_none=True)
    notes = fields.String(allow_none=True)
    is_primary = fields.Boolean()
    owner_id = fields.String(allow_none=True)
    department_id = fields.String(allow_none=True)
    version = fields.Integer()
    created_at = fields.DateTime()
    updated_at = fields.DateTime()


class CustomerOut(Schema):
    """A customer as every RPC returns it (with its contacts and money summary). A customer seen in a
    public pool by one of its members may have fields masked (null, named in ``masked_fields``)."""
    id = fields.String()
    name = fields.String()
    kind = fields.String()
    industry = fields.String(allow_none=True)
    size = fields.String(allow_none=True)
    level = fields.String(allow_none=True)
    region = fields.String(allow_none=True)
    address = fields.String(allow_none=True)
    latitude = fields.Float(allow_none=True)
    longitude = fields.Float(allow_none=True)
    mobile = fields.String(allow_none=True)
    telephone = fields.String(allow_none=True)
    email = fields.String(allow_none=True)
    website = fields.String(allow_none=True)
    gender = fields.String(allow_none=True)
    birthday = fields.Date(allow_none=True)
    source = fields.String(allow_none=True)
    notes = fields.String(allow_none=True)
    tags = fields.List(fields.String())
    owner_id = fields.String(allow_none=True)
    department_id = fields.String(allow_none=True)
    owner_since = fields.DateTime(allow_none=True)
    previous_owner_id = fields.String(allow_none=True)
    pool_id = fields.String(allow_none=True)
    pool_since = fields.DateTime(allow_none=True)
    locked = fields.Boolean()
    deal_status = fields.String()
    follow_stage = fields.String(allow_none=True)
    claim_count = fields.Integer(metadata={"description": "How many times its owner changed (领取次数)."})
    last_followed_at = fields.DateTime(allow_none=True)
    next_contact_at = fields.DateTime(allow_none=True)
    profile_completeness = fields.Method("_completeness", metadata={
        "type": "integer", "description": "Edited fields / editable fields, in percent (资料完善度)."})
    source_lead_id = fields.String(allow_none=True)
    source_campaign_id = fields.String(allow_none=True)
    summary = fields.Method("_summary", metadata={
        "type": "object", "description": "opportunity_total, order_total, paid_total, outstanding "
                                         "(decimal strings)"})
    contacts = fields.List(fields.Nested(ContactOut))
    version = fields.Integer()
    created_at = fields.DateTime()
    updated_at = fields.DateTime()

    def _completeness(self, obj):
        from services.customers.domain import profile_completeness
        return profile_completeness(obj)

    def _summary(self, obj):
        return {
            "opportunity_total": str(obj.opportunity_total),
            "order_total": str(obj.order_total),
            "paid_total": str(obj.paid_total),
            "outstanding": str(obj.order_total - obj.paid_total),
        }
