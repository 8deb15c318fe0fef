"""The events the customers service publishes (exchange ``customers.events``).

Each payload is dumped from the record itself (``uow.emit(EVENT, customer, **what_it_does_not_hold)``):
a field named otherwise than the record's attribute says which (``attribute="id"``). Adding a field
keeps the version (consumers are tolerant readers); removing or changing one is a new version.

- ``customer_created``               a customer was created (by hand, by import, from a lead)
- ``customer_converted_from_lead``   a converted lead now has its customer (new or linked by name)
                                     and contact; leads records the ids
- ``customer_updated``               a user edited a customer: what changed, and the fields other
                                     contexts show or segment on (level, industry, region, tags, size)
- ``customer_owner_changed``         the owner changed, for whatever reason (claim, assign, return,
                                     recycle, transfer, merge, lead conversion into an existing one)
- ``customer_claimed``               a pool member took a customer from a pool
- ``customer_returned``              an owner gave a customer back to a pool, with a reason
- ``customer_recycled``              a pool's rule took a customer back: the rule and its inputs
- ``customer_became_deal``           a customer became a deal customer (成交客户): the trigger
- ``customers_merged``               a duplicate went into another customer; whoever holds the
                                     duplicate's id moves it to the survivor
- ``customer_deleted``               a customer (and its contacts) was deleted
- ``contact_created`` / ``contact_updated`` / ``contact_deleted``   a contact's life
- ``follow_up_recorded``             a follow-up activity was recorded on a customer
"""
from __future__ import annotations

from marshmallow import Schema, fields, validate

from crm_kit.runtime.events import EventType

OWNER_CHANGE_KINDS = ("claim", "assign", "return", "recycle", "transfer", "merge", "convert")


class CustomerCreatedPayload(Schema):
    customer_id = fields.String(required=True, attribute="id")
    name = fields.String(required=True)
    kind = fields.String(required=True)
    level = fields.String(required=True, allow_none=True)
    industry = fields.String(required=True, allow_none=True)
    region = fields.String(required=True, allow_none=True)
    size = fields.String(required=True, allow_none=True)
    tags = fields.List(fields.String(), required=True)
    source = fields.String(required=True, allow_none=True)
    owner_id = fields.String(required=True, allow_none=True)
    department_id = fields.String(required=True, allow_none=True)
    pool_id = fields.String(required=True, allow_none=True)
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
    size = fields.String(required=True, allow_none=True)
    tags = fields.List(fields.String(), required=True)
    deal_status = fields.String(required=True)
    owner_id = fields.String(required=True, allow_none=True)
    department_id = fields.String(required=True, allow_none=True)
    updated_at = fields.DateTime(required=True)


class CustomerOwnerChangedPayload(Schema):
    """Who owns the customer now and why. Deliberately nothing about its opportunities, orders or
    their stages: a consumer cannot take an owner change for a reason to reset them."""
    customer_id = fields.String(required=True, attribute="id")
    owner_id = fields.String(required=True, allow_none=True,
                             metadata={"description": "The new owner; null when it went into a pool."})
    department_id = fields.String(required=True, allow_none=True)
    previous_owner_id = fields.String(required=True, allow_none=True)
    pool_id = fields.String(required=True, allow_none=True,
                            metadata={"description": "The pool it is in now (null: owned), or came from."})
    kind = fields.String(required=True, validate=validate.OneOf(OWNER_CHANGE_KINDS))
    reason = fields.String(required=True, allow_none=True)
    changed_at = fields.DateTime(required=True)


class CustomerClaimedPayload(Schema):
    customer_id = fields.String(required=True, attribute="id")
    owner_id = fields.String(required=True)
    department_id = fields.String(required=True, allow_none=True)
    pool_id = fields.String(required=True, metadata={"description": "The pool it was claimed from."})
    claimed_at = fields.DateTime(required=True)


class CustomerReturnedPayload(Schema):
    customer_id = fields.String(required=True, attribute="id")
    previous_owner_id = fields.String(required=True)
    pool_id = fields.String(required=True, metadata={"description": "The pool it went back to."})
    reason = fields.String(required=True)
    returned_at = fields.DateTime(required=True)


class RecycleRuleApplied(Schema):
    """Which rule recycled the customer, and with which inputs."""
    level = fields.String(required=True, allow_none=True, metadata={"description": "the rule's level (null: any)"})
    clock = fields.String(required=True, validate=validate.OneOf(("no_follow_up", "no_opportunity", "no_deal")))
    days = fields.Integer(required=True)
    since = fields.DateTime(required=True, metadata={"description": "the time the clock counted from"})
    due_at = fields.DateTime(required=True)
    inputs = fields.Dict(keys=fields.String(), values=fields.DateTime(allow_none=True), required=True,
                         metadata={"description": "the customer's times the clock counted from (owner_since, "
                                                  "and last_followed_at / last_opportunity_at / deal_at, "
                                                  "last_deal_at; created_at when owner_since is unknown)"})


class CustomerRecycledPayload(Schema):
    customer_id = fields.String(required=True, attribute="id")
    previous_owner_id = fields.String(required=True)
    pool_id = fields.String(required=True)
    rule = fields.Nested(RecycleRuleApplied, required=True)
    as_of = fields.DateTime(required=True)
    recycled_at = fields.DateTime(required=True)


class CustomerBecameDealPayload(Schema):
    customer_id = fields.String(required=True, attribute="id")
    trigger = fields.String(required=True, validate=validate.OneOf(("opportunity_won", "order_approved",
                                                                    "contract_signed")))
    ref_id = fields.String(required=True, metadata={"description": "the opportunity, order or contract"})
    owner_id = fields.String(required=True, allow_none=True)
    deal_at = fields.DateTime(required=True)


class CustomersMergedPayload(Schema):
    survivor_id = fields.String(required=True)
    merged_id = fields.String(required=True, metadata={"description": "Gone: move what points at it to survivor_id."})
    contact_ids = fields.List(fields.String(), required=True,
                              metadata={"description": "The merged customer's contacts, now the survivor's."})
    merged_at = fields.DateTime(required=True)


class CustomerDeletedPayload(Schema):
    customer_id = fields.String(required=True, attribute="id")
    name = fields.String(required=True)
    owner_id = fields.String(required=True, allow_none=True)
    department_id = fields.String(required=True, allow_none=True)
    contact_ids = fields.List(fields.String(), required=True,
                              metadata={"description": "Its contacts, deleted with it."})
    deleted_at = fields.DateTime(required=True)


class ContactPayload(Schema):
    contact_id = fields.String(required=True, attribute="id")
    customer_id = fields.String(required=True)
    name = fields.String(required=True)
    title = fields.String(required=True, allow_none=True)
    email = fields.String(required=True, allow_none=True)
    is_primary = fields.Boolean(required=True)
    owner_id = fields.String(required=True, allow_none=True)


class ContactCreatedPayload(ContactPayload):
    created_at = fields.DateTime(required=True)


class ContactUpdatedPayload(ContactPayload):
    version = fields.Integer(required=True)
    changed = fields.List(fields.String(), required=True)
    updated_at = fields.DateTime(required=True)


class ContactDeletedPayload(Schema):
    contact_id = fields.String(required=True, attribute="id")
    customer_id = fields.String(required=True, metadata={"description": "The customer it belonged to (kept)."})
    was_primary = fields.Boolean(required=True, attribute="is_primary")
    deleted_at = fields.DateTime(required=True)


class FollowUpRecordedPayload(Schema):
    follow_up_id = fields.String(required=True, attribute="id")
    customer_id = fields.String(required=True)
    contact_id = fields.String(required=True, allow_none=True)
    kind = fields.String(required=True)
    author_id = fields.String(required=True, allow_none=True)
    next_contact_at = fields.DateTime(required=True, allow_none=True)
    created_at = fields.DateTime(required=True)


CUSTOMER_CREATED = EventType("customer_created", CustomerCreatedPayload, version=1,
                             description="A customer was created (by hand, by import, or from a converted lead).")
CUSTOMER_CONVERTED_FROM_LEAD = EventType(
    "customer_converted_from_lead", CustomerConvertedFromLeadPayload, version=1,
    description="A converted lead got its customer (created, or linked by normalised name) and contact.")
CUSTOMER_UPDATED = EventType("customer_updated", CustomerUpdatedPayload, version=1,
                             description="A user edited a customer; `changed` names the fields, the payload "
                                         "carries the current values other contexts show or segment on.")
CUSTOMER_OWNER_CHANGED = EventType(
    "customer_owner_changed", CustomerOwnerChangedPayload, version=1,
    description="A customer's owner changed (`kind` says how). Nothing about its opportunities or orders "
                "changes with it.")
CUSTOMER_CLAIMED = EventType("customer_claimed", CustomerClaimedPayload, version=1,
                             description="A pool member claimed a customer from a public pool.")
CUSTOMER_RETURNED = EventType("customer_returned", CustomerReturnedPayload, version=1,
                              description="An owner returned a customer to a public pool, with a reason.")
CUSTOMER_RECYCLED = EventType("customer_recycled", CustomerRecycledPayload, version=1,
                              description="A pool's recycle rule took a customer back from its owner; `rule` "
                                          "names the rule and its inputs.")
CUSTOMER_BECAME_DEAL = EventType("customer_became_deal", CustomerBecameDealPayload, version=1,
                                 description="A customer became a deal customer (成交客户) by a configured trigger.")
CUSTOMERS_MERGED = EventType("customers_merged", CustomersMergedPayload, version=1,
                             description="A duplicate customer was merged into another; every context holding "
                                         "the merged id moves it to the survivor.")
CUSTOMER_DELETED = EventType("customer_deleted", CustomerDeletedPayload, version=1,
                             description="A customer was deleted, with its contacts (never one that has deals). "
                                         "Leads pointing at it or at its contacts lose those ids.")
CONTACT_CREATED = EventType("contact_created", ContactCreatedPayload, version=1,
                            description="A contact was added to a customer.")
CONTACT_UPDATED = EventType("contact_updated", ContactUpdatedPayload, version=1,
                            description="A contact was edited; `changed` names the fields.")
CONTACT_DELETED = EventType("contact_deleted", ContactDeletedPayload, version=1,
                            description="A user deleted a contact (its customer stays). Not emitted for the "
                                        "contacts of a deleted customer: `customer_deleted` names them.")
FOLLOW_UP_RECORDED = EventType("follow_up_recorded", FollowUpRecordedPayload, version=1,
                               description="A follow-up activity (call, visit, ...) was recorded on a customer.")
