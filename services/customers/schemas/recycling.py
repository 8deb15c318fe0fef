"""Running a pool's recycle rules now (``recycle_customer_pool``): the request and what moved, or
would move (``dry_run``), by which rule."""
from __future__ import annotations

from marshmallow import Schema, fields, validate

from crm_kit.records.schemas import InputSchema
from services.customers.domain.recycling import CLOCKS
from services.customers.schemas.follow_ups import when


class RecycleRequest(InputSchema):
    """Run the pool's recycle rules now, as of ``as_of`` (default now); ``dry_run``: answer what
    would move, moving nothing."""
    as_of = when(load_default=None, allow_none=True)
    dry_run = fields.Boolean(load_default=False)


class _RuleApplied(Schema):
    level = fields.String(allow_none=True, metadata={"description": "the rule's level (null: any other)"})
    clock = fields.String(validate=validate.OneOf(CLOCKS))
    days = fields.Integer()
    since = fields.DateTime(metadata={"description": "the time the clock counted from"})
    due_at = fields.DateTime()
    inputs = fields.Dict(keys=fields.String(), values=fields.DateTime(allow_none=True),
                         metadata={"description": "the customer's times the clock counted from"})


class _Recycled(Schema):
    customer_id = fields.String()
    name = fields.String()
    level = fields.String(allow_none=True)
    previous_owner_id = fields.String(metadata={"description": "who held it (holds it, in a dry run)"})
    department_id = fields.String(allow_none=True)
    rule = fields.Nested(_RuleApplied)


class RecycleResult(Schema):
    """``count`` customers went (would go) back to the pool; ``items`` names the first
    ``MAX_LISTED`` of them, in id order (``complete``: all of them)."""
    pool_id = fields.String()
    as_of = fields.DateTime()
    dry_run = fields.Boolean()
    count = fields.Integer()
    items = fields.List(fields.Nested(_Recycled))
    complete = fields.Boolean()
