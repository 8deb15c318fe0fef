"""A public pool (公海): what creating and changing one accepts, and how it is returned."""
from __future__ import annotations

from marshmallow import RAISE, Schema, ValidationError, fields, validate, validates_schema

from crm_kit.records.schemas import InputSchema, ListQuery, not_blank, page_of, partial_of
from services.customers.domain.masking import HIDEABLE
from services.customers.domain.pools import MAX_DAYS, pool_rule_errors
from services.customers.domain.records import LEVELS

_clock = dict(load_default=None, allow_none=True, validate=validate.Range(min=1, max=MAX_DAYS))
_id = validate.Length(min=1, max=36)


class PoolRecycleRule(Schema):
    """One recycle rule of a pool, for the customers of ``level`` (null: of any level without a rule
    of its own). At least one clock; ``warning_days`` fewer than the shortest clock; one rule per level.
    The follow-ups work's recycle job runs them."""

    class Meta:
        unknown = RAISE

    level = fields.String(load_default=None, allow_none=True, validate=validate.OneOf(LEVELS))
    no_follow_up_days = fields.Integer(**_clock, metadata={
        "description": "no follow-up for this many days, counted from the later of the last follow-up and "
                       "the time the owner received the customer"})
    no_opportunity_days = fields.Integer(**_clock, metadata={"description": "no new opportunity for this many days"})
    no_deal_days = fields.Integer(**_clock, metadata={"description": "no deal for this many days since receipt"})
    exempt_deals = fields.Boolean(load_default=True, metadata={"description": "deal customers are never recycled"})
    exempt_open_opportunities = fields.Boolean(load_default=False, metadata={
        "description": "customers with open opportunities are never recycled"})
    warning_days = fields.Integer(**_clock, metadata={"description": "remind the owner this many days before"})


class CustomerPoolCreate(InputSchema):
    """A public pool and its rules; ``null`` limits mean no limit. Every id in ``admin_ids`` /
    ``member_ids`` is a user's (the gateway checks them)."""

    class Meta(InputSchema.Meta):
        server_owned = ("created_by",)

    name = fields.String(required=True, validate=[validate.Length(min=1, max=200), not_blank])
    description = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=2000))
    admin_ids = fields.List(fields.String(validate=_id), load_default=list, validate=validate.Length(max=200))
    member_ids = fields.List(fields.String(validate=_id), load_default=list, validate=validate.Length(max=1000))
    claiming_enabled = fields.Boolean(load_default=True)
    max_held = fields.Integer(load_default=None, allow_none=True, validate=validate.Range(min=0, max=100000),
                              metadata={"description": "customers from this pool a member may hold at once"})
    max_claims_per_day = fields.Integer(load_default=None, allow_none=True, validate=validate.Range(min=0, max=100000))
    reclaim_cooldown_days = fields.Integer(load_default=0, validate=validate.Range(min=0, max=MAX_DAYS), metadata={
        "description": "days before a previous owner may claim the customer back"})
    protection_days = fields.Integer(load_default=0, validate=validate.Range(min=0, max=MAX_DAYS), metadata={
        "description": "days during which a customer newly put in the pool cannot be claimed"})
    recycle_enabled = fields.Boolean(load_default=False)
    recycle_rules = fields.List(fields.Nested(PoolRecycleRule), load_default=list,
                                validate=validate.Length(max=len(LEVELS) + 1))
    recycle_department_ids = fields.List(fields.String(validate=_id), load_default=list,
                                         validate=validate.Length(max=200), metadata={
        "description": "whose customers the pool takes (their owner's department); empty: everyone's"})
    priority = fields.Integer(load_default=0, validate=validate.Range(min=0, max=1000), metadata={
        "description": "higher first, among pools that would take the same customer"})
    hidden_fields = fields.List(fields.String(validate=validate.OneOf(tuple(HIDEABLE))), load_default=list,
                                validate=validate.Length(max=len(HIDEABLE)), metadata={
        "description": "masked (null, named in masked_fields) for the pool's members until they claim"})
    return_reasons = fields.List(fields.String(validate=[validate.Length(min=1, max=200), not_blank]),
                                 load_default=list, validate=validate.Length(max=50), metadata={
        "description": "when not empty, a return to this pool must give one of them"})

    @validates_schema
    def _rules(self, data, partial=None, **kwargs):
        """The rules between fields (``services.customers.domain.pools``) within the request; an
        update is checked on the pool as it leaves it (``domain.pools.pool_update``)."""
        if partial:
            return
        errors = pool_rule_errors(data)
        if errors:
            raise ValidationError(errors)


CustomerPoolUpdate = partial_of(
    CustomerPoolCreate, "CustomerPoolUpdate",
    doc="Change a pool: only the fields given change (lists replace the whole list). The rules between fields "
        "hold for the pool as changed: recycle_enabled needs a rule; one rule per level; warning_days fewer "
        "than the rule's shortest clock.")


class CustomerPoolOut(Schema):
    id = fields.String()
    name = fields.String()
    description = fields.String(allow_none=True)
    admin_ids = fields.List(fields.String())
    member_ids = fields.List(fields.String())
    claiming_enabled = fields.Boolean()
    max_held = fields.Integer(allow_none=True)
    max_claims_per_day = fields.Integer(allow_none=True)
    reclaim_cooldown_days = fields.Integer()
    protection_days = fields.Integer()
    recycle_enabled = fields.Boolean()
    recycle_rules = fields.List(fields.Nested(PoolRecycleRule))
    recycle_department_ids = fields.List(fields.String())
    priority = fields.Integer()
    hidden_fields = fields.List(fields.String())
    return_reasons = fields.List(fields.String())
    created_by = fields.String(allow_none=True)
    version = fields.Integer()
    created_at = fields.DateTime()
    updated_at = fields.DateTime()


CustomerPoolList = page_of(CustomerPoolOut)


class CustomerPoolListQuery(ListQuery):
    """Pools the caller administers or works in (admins: every pool), newest first."""


class PoolCustomerListQuery(ListQuery):
    """The customers of a pool, newest first; the pool's hidden fields are masked for its members."""
    level = fields.String(load_default=None, validate=validate.OneOf(LEVELS))
