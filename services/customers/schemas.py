"""What the customers RPC API accepts and returns.

Inputs derive from ``InputSchema``: unknown fields are refused, and fields the
server owns are refused with 422 "set by the server" (``id``, ``owner_id``,
``department_id``, ``status``, ``version``, ``created_at``, ``updated_at`` and
``CUSTOMER_SERVER_OWNED`` / ``CONTACT_SERVER_OWNED`` below). Updates are partial.

The RPC API's schemas are collected from this module (``crm_kit.records.schemas.api_schemas``: each
under its name without a trailing ``Out``); a name starting with ``_`` would be internal. Pages of a
list are ``page_of(<Item>Out)``.
"""
from __future__ import annotations

from marshmallow import Schema, fields, validate

from crm_kit.records.schemas import InputSchema, ListQuery, not_blank, page_of, partial_of
from services.customers.domain import DEAL_STATUSES, KINDS, LEVELS, profile_completeness

# Set by the platform (pools, sales/billing events, conversion), never by an edit.
CUSTOMER_SERVER_OWNED = (
    "name_key", "pool_id", "deal_status", "claim_count", "last_followed_at", "source_lead_id",
    "source_campaign_id", "opportunity_total", "order_total", "paid_total", "summary",
    "profile_completeness", "contacts", "created_by")
CONTACT_SERVER_OWNED = ("phone_key",)


class CustomerCreate(InputSchema):
    """A customer entered by hand: the caller owns it; the name must be new (normalised)."""

    class Meta(InputSchema.Meta):
        server_owned = CUSTOMER_SERVER_OWNED

    name = fields.String(required=True, validate=[validate.Length(min=1, max=200), not_blank])
    kind = fields.String(load_default="company", validate=validate.OneOf(KINDS))
    industry = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=100))
    size = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=50))
    level = fields.String(load_default=None, allow_none=True, validate=validate.OneOf(LEVELS))
    region = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=100))
    address = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=2000))
    tags = fields.List(fields.String(validate=validate.Length(min=1, max=50)), load_default=list,
                       validate=validate.Length(max=50))
    follow_stage = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=50))


CustomerUpdate = partial_of(CustomerCreate, "CustomerUpdate",
                            doc="Edit a customer: only the fields given change; server-owned fields are refused.")


class ContactCreate(InputSchema):
    """A contact of a customer the caller may change."""

    class Meta(InputSchema.Meta):
        server_owned = CONTACT_SERVER_OWNED

    customer_id = fields.String(required=True, validate=validate.Length(min=1, max=36))
    name = fields.String(required=True, validate=[validate.Length(min=1, max=200), not_blank])
    title = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=100))
    phone = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=40))
    email = fields.Email(load_default=None, allow_none=True, validate=validate.Length(max=254))
    birthday = fields.Date(load_default=None, allow_none=True)
    is_primary = fields.Boolean(load_default=False)


# A contact stays with its customer: customer_id cannot change.
ContactUpdate = partial_of(ContactCreate, "ContactUpdate", exclude=("customer_id",),
                           doc="Edit a contact: only the fields given change; server-owned fields are refused.")


class ContactOut(Schema):
    """A contact as every RPC returns it."""
    id = fields.String()
    customer_id = fields.String()
    name = fields.String()
    title = fields.String(allow_none=True)
    phone = fields.String(allow_none=True)
    email = fields.String(allow_none=True)
    birthday = fields.Date(allow_none=True)
    is_primary = fields.Boolean()
    owner_id = fields.String(allow_none=True)
    version = fields.Integer()
    created_at = fields.DateTime()
    updated_at = fields.DateTime()


class CustomerOut(Schema):
    """A customer as every RPC returns it (with its contacts and money summary)."""
    id = fields.String()
    name = fields.String()
    kind = fields.String()
    industry = fields.String(allow_none=True)
    size = fields.String(allow_none=True)
    level = fields.String(allow_none=True)
    region = fields.String(allow_none=True)
    address = fields.String(allow_none=True)
    tags = fields.List(fields.String())
    owner_id = fields.String(allow_none=True)
    department_id = fields.String(allow_none=True)
    pool_id = fields.String(allow_none=True)
    deal_status = fields.String()
    follow_stage = fields.String(allow_none=True)
    claim_count = fields.Integer()
    last_followed_at = fields.DateTime(allow_none=True)
    profile_completeness = fields.Method("_completeness", metadata={"type": "number"})
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
        return profile_completeness(obj)

    def _summary(self, obj):
        return {
            "opportunity_total": str(obj.opportunity_total),
            "order_total": str(obj.order_total),
            "paid_total": str(obj.paid_total),
            "outstanding": str(obj.order_total - obj.paid_total),
        }


class CustomerListQuery(ListQuery):
    owner_id = fields.String(load_default=None)
    deal_status = fields.String(load_default=None, validate=validate.OneOf(DEAL_STATUSES))
    level = fields.String(load_default=None, validate=validate.OneOf(LEVELS))
    kind = fields.String(load_default=None, validate=validate.OneOf(KINDS))


class ContactListQuery(ListQuery):
    customer_id = fields.String(load_default=None)


CustomerList = page_of(CustomerOut)
ContactList = page_of(ContactOut)


class HistoryQuery(ListQuery):
    """``limit`` and ``cursor`` of a record's audit history."""
