"""Events the leads service publishes, and the ones it consumes.

Published (exchange ``leads.events``, routing key = event type):
- ``lead_created``     a lead was created
- ``lead_converted``   a lead was converted; customers creates or links the
                       customer and contact, sales creates the opportunity
- ``lead_updated``     a user edited a lead's fields (names what changed, carries the
                       fields other contexts report on)
- ``lead_deleted``     a lead was deleted (analytics and marketing stop counting it)
- ``lead_assigned``    a lead got an owner (assigned, claimed, or distributed by its pool)
- ``lead_status_changed`` a status change no more specific event tells (invalidate, discard,
                       restore, the first follow-up)
- ``lead_returned``    the owner gave the lead back to its pool, with a reason
- ``lead_recycled``    the pool took the lead back (no follow-up for its recycle period)
Consumed:
- ``customers.customer_converted_from_lead``: records the customer/contact ids (not those of a
  customer or contact already deleted)
- ``customers.customer_deleted``: leads pointing at the customer or one of its contacts lose the ids
- ``customers.contact_deleted``: leads pointing at the contact lose ``contact_id``
- ``customers.customers_merged``: leads pointing at the merged customer point at the survivor
"""
from __future__ import annotations

from marshmallow import EXCLUDE, Schema, fields

from crm_kit.runtime.events import EventType

# Each payload is dumped from the lead itself (``uow.emit(EVENT, lead, **what_it_does_not_hold)``):
# a field named otherwise than the lead's attribute says which (``attribute="id"``).


class LeadCreatedPayload(Schema):
    lead_id = fields.String(required=True, attribute="id")
    name = fields.String(required=True)
    company = fields.String(required=True, allow_none=True)
    source = fields.String(required=True)
    campaign_id = fields.String(required=True, allow_none=True)
    status = fields.String(required=True)
    pool_id = fields.String(required=True, allow_none=True)
    owner_id = fields.String(required=True, allow_none=True)
    department_id = fields.String(required=True, allow_none=True)
    created_at = fields.DateTime(required=True)


class ConvertedOpportunity(Schema):
    name = fields.String(required=True)
    amount = fields.Decimal(required=True, as_string=True, places=2)
    expected_close_date = fields.Date(required=True, allow_none=True)


class LeadConvertedPayload(Schema):
    lead_id = fields.String(required=True, attribute="id")
    name = fields.String(required=True, metadata={"description": "Contact person's name."})
    company = fields.String(required=True, allow_none=True,
                            metadata={"description": "Customer name; the person's name when null."})
    phone = fields.String(required=True, allow_none=True)
    email = fields.String(required=True, allow_none=True)
    source = fields.String(required=True)
    campaign_id = fields.String(required=True, allow_none=True)
    region = fields.String(required=True, allow_none=True)
    industry = fields.String(required=True, allow_none=True)
    owner_id = fields.String(required=True, allow_none=True)
    department_id = fields.String(required=True, allow_none=True)
    converted_at = fields.DateTime(required=True)
    opportunity = fields.Nested(ConvertedOpportunity, required=True, allow_none=True)


class LeadUpdatedPayload(Schema):
    lead_id = fields.String(required=True, attribute="id")
    version = fields.Integer(required=True)
    changed = fields.List(fields.String(), required=True, metadata={"description": "Fields that changed."})
    name = fields.String(required=True)
    company = fields.String(required=True, allow_none=True)
    source = fields.String(required=True)
    campaign_id = fields.String(required=True, allow_none=True)
    status = fields.String(required=True)
    owner_id = fields.String(required=True, allow_none=True)
    department_id = fields.String(required=True, allow_none=True)
    updated_at = fields.DateTime(required=True)


class LeadDeletedPayload(Schema):
    lead_id = fields.String(required=True, attribute="id")
    status = fields.String(required=True, metadata={"description": "The state it was deleted in."})
    campaign_id = fields.String(required=True, allow_none=True)
    owner_id = fields.String(required=True, allow_none=True)
    department_id = fields.String(required=True, allow_none=True)
    deleted_at = fields.DateTime(required=True)


LEAD_CREATED = EventType("lead_created", LeadCreatedPayload, version=1,
                         description="A lead was created (by a user, an import or a campaign).")
LEAD_CONVERTED = EventType("lead_converted", LeadConvertedPayload, version=1,
                           description="A lead was converted. Customers creates or links the customer "
                                       "and its primary contact; sales creates the opportunity if asked.")

LEAD_UPDATED = EventType("lead_updated", LeadUpdatedPayload, version=1,
                         description="A user edited a lead; `changed` names the fields, the payload carries "
                                     "the current values of the fields other contexts report on.")
LEAD_DELETED = EventType("lead_deleted", LeadDeletedPayload, version=1,
                         description="A lead was deleted (only possible before it was followed up or converted).")


class CustomerConvertedFromLead(Schema):
    """Consumer view of customers' ``customer_converted_from_lead`` (fields we rely on)."""

    class Meta:
        unknown = EXCLUDE

    lead_id = fields.String(required=True)
    customer_id = fields.String(required=True)
    contact_id = fields.String(required=True, allow_none=True)


class CustomerDeleted(Schema):
    """Consumer view of customers' ``customer_deleted`` (fields we rely on)."""

    class Meta:
        unknown = EXCLUDE

    customer_id = fields.String(required=True)
    contact_ids = fields.List(fields.String(), required=True)
    deleted_at = fields.DateTime(required=True)


class ContactDeleted(Schema):
    """Consumer view of customers' ``contact_deleted`` (fields we rely on)."""

    class Meta:
        unknown = EXCLUDE

    contact_id = fields.String(required=True)
    deleted_at = fields.DateTime(required=True)


class CustomersMerged(Schema):
    """Consumer view of customers' ``customers_merged`` (fields we rely on): the merged customer is
    gone, its contacts (same ids) are the survivor's."""

    class Meta:
        unknown = EXCLUDE

    survivor_id = fields.String(required=True)
    merged_id = fields.String(required=True)
    merged_at = fields.DateTime(required=True)


class LeadAssignedPayload(Schema):
    lead_id = fields.String(required=True, attribute="id")
    pool_id = fields.String(required=True, allow_none=True)
    owner_id = fields.String(required=True)
    department_id = fields.String(required=True, allow_none=True)
    previous_owner_id = fields.String(required=True, allow_none=True)
    via = fields.String(required=True, metadata={"description": "assign, claim or distribution"})
    status = fields.String(required=True)
    assigned_at = fields.DateTime(required=True)


class LeadStatusChangedPayload(Schema):
    lead_id = fields.String(required=True, attribute="id")
    action = fields.String(required=True, metadata={"description": "invalidate, discard, restore, follow_up"})
    from_status = fields.String(required=True)
    to_status = fields.String(required=True, attribute="status")
    pool_id = fields.String(required=True, allow_none=True)
    owner_id = fields.String(required=True, allow_none=True)
    department_id = fields.String(required=True, allow_none=True)
    changed_at = fields.DateTime(required=True)


class LeadReturnedPayload(Schema):
    lead_id = fields.String(required=True, attribute="id")
    pool_id = fields.String(required=True, allow_none=True)
    previous_owner_id = fields.String(required=True)
    reason = fields.String(required=True, attribute="return_reason")
    from_status = fields.String(required=True)
    returned_at = fields.DateTime(required=True)


class LeadRecycledPayload(Schema):
    lead_id = fields.String(required=True, attribute="id")
    pool_id = fields.String(required=True)
    previous_owner_id = fields.String(required=True, allow_none=True)
    from_status = fields.String(required=True)
    last_activity_at = fields.DateTime(required=True, allow_none=True,
                                       metadata={"description": "last follow-up, else the assignment"})
    recycled_at = fields.DateTime(required=True)


LEAD_ASSIGNED = EventType("lead_assigned", LeadAssignedPayload, version=1,
                          description="A lead got an owner: assigned by a pool admin, manager or admin, claimed "
                                      "by a pool member, or distributed by its pool on creation.")
LEAD_STATUS_CHANGED = EventType("lead_status_changed", LeadStatusChangedPayload, version=1,
                                description="A lead changed status through invalidate, discard, restore or its "
                                            "first follow-up (assign, claim, return, recycle and convert have "
                                            "their own events).")
LEAD_RETURNED = EventType("lead_returned", LeadReturnedPayload, version=1,
                          description="The owner gave a lead back to its pool (now unassigned), with a reason.")
LEAD_RECYCLED = EventType("lead_recycled", LeadRecycledPayload, version=1,
                          description="A pool took a lead back (now unassigned): no follow-up for the pool's "
                                      "recycle period.")

