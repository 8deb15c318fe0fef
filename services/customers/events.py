"""Events the customers service publishes, and the ones it consumes.

Published (exchange ``customers.events``):
- ``customer_created``               a customer was created (from a lead or by hand)
- ``customer_converted_from_lead``   a converted lead now has its customer (new or
                                     linked by name) and contact; leads records the ids
- ``customer_updated``               a user edited a customer (names what changed, carries
                                     the fields other contexts show: name, kind, owner...)
- ``customer_deleted``               a customer (and its contacts) was deleted; leads clears the
                                     customer and contact ids of the leads pointing at them
- ``contact_deleted``                a user deleted one contact (a customer's deletion tells its
                                     contacts in ``customer_deleted`` instead); leads clears
                                     ``contact_id`` where it points at it
Consumed:
- ``leads.lead_converted``           create or link the customer and its primary contact
"""
from __future__ import annotations

from marshmallow import EXCLUDE, Schema, fields

from crm_kit.runtime.events import EventType

# Each payload is dumped from the record itself (``uow.emit(EVENT, customer, **what_it_does_not_hold)``):
# a field named otherwise than the record's attribute says which (``attribute="id"``).


class CustomerCreatedPayload(Schema):
    customer_id = fields.String(required=True, attribute="id")
    name = fields.String(required=True)
    kind = fields.String(required=True)
    owner_id = fields.String(required=True, allow_none=True)
    department_id = fields.String(required=True, allow_none=True)
    source_lead_id = fields.String(required=True, allow_none=True)
    source_campaign_id = fields.String(required=True, allow_none=True)
    primary_contact_id = fields.String(required=True, allow_none=True)
    created_at = fields.DateTime(required=True)


class CustomerConvertedFromLeadPayload(Schema):
    lead_id = fields.String(required=True, attribute="source_lead_id")
    customer_id = fields.String(required=True, attribute="id")
    contact_id = fields.String(required=True, allow_none=True)
    customer_created = fields.Boolean(required=True,
                                      metadata={"description": "False when linked to an existing customer."})


class CustomerUpdatedPayload(Schema):
    customer_id = fields.String(required=True, attribute="id")
    version = fields.Integer(required=True)
    changed = fields.List(fields.String(), required=True, metadata={"description": "Fields that changed."})
    name = fields.String(required=True)
    kind = fields.String(required=True)
    level = fields.String(required=True, allow_none=True)
    industry = fields.String(required=True, allow_none=True)
    region = fields.String(required=True, allow_none=True)
    owner_id = fields.String(required=True, allow_none=True)
    department_id = fields.String(required=True, allow_none=True)
    updated_at = fields.DateTime(required=True)


class CustomerDeletedPayload(Schema):
    customer_id = fields.String(required=True, attribute="id")
    name = fields.String(required=True)
    owner_id = fields.String(required=True, allow_none=True)
    department_id = fields.String(required=True, allow_none=True)
    contact_ids = fields.List(fields.String(), required=True,
                              metadata={"description": "Its contacts, deleted with it."})
    deleted_at = fields.DateTime(required=True)


class ContactDeletedPayload(Schema):
    contact_id = fields.String(required=True, attribute="id")
    customer_id = fields.String(required=True, metadata={"description": "The customer it belonged to (kept)."})
    was_primary = fields.Boolean(required=True, attribute="is_primary")
    deleted_at = fields.DateTime(required=True)


CUSTOMER_CREATED = EventType("customer_created", CustomerCreatedPayload, version=1,
                             description="A customer was created.")
CUSTOMER_CONVERTED_FROM_LEAD = EventType(
    "customer_converted_from_lead", CustomerConvertedFromLeadPayload, version=1,
    description="A converted lead got its customer (created, or linked by normalised name) and contact.")

CUSTOMER_UPDATED = EventType("customer_updated", CustomerUpdatedPayload, version=1,
                             description="A user edited a customer; `changed` names the fields, the payload "
                                         "carries the current values of the fields other contexts show.")
CUSTOMER_DELETED = EventType("customer_deleted", CustomerDeletedPayload, version=1,
                             description="A customer was deleted, with its contacts (never one that has deals). "
                                         "Leads pointing at it or at its contacts lose those ids.")
CONTACT_DELETED = EventType("contact_deleted", ContactDeletedPayload, version=1,
                            description="A user deleted a contact (its customer stays). Not emitted for the "
                                        "contacts of a deleted customer: `customer_deleted` names them.")


class LeadConverted(Schema):
    """Consumer view of leads' ``lead_converted`` (the fields customers relies on)."""

    class Meta:
        unknown = EXCLUDE

    lead_id = fields.String(required=True)
    name = fields.String(required=True)
    company = fields.String(required=True, allow_none=True)
    phone = fields.String(load_default=None, allow_none=True)
    email = fields.String(load_default=None, allow_none=True)
    campaign_id = fields.String(load_default=None, allow_none=True)
    region = fields.String(load_default=None, allow_none=True)
    industry = fields.String(load_default=None, allow_none=True)
    owner_id = fields.String(load_default=None, allow_none=True)
    department_id = fields.String(load_default=None, allow_none=True)
