"""Sales targets: what setting one accepts, how they are returned with their attainment, the list's
filters, and (internal) the collection fact billing's events will be mapped onto."""
from __future__ import annotations

import datetime as dt

from marshmallow import Schema, fields, validate

from crm_kit.records.schemas import InputSchema, ListQuery
from services.sales.domain.targets import METRICS, SCOPES

MAX_AMOUNT = 10 ** 16 - 1
CURRENCY = r"^[A-Z]{3}$"
YEARS = validate.Range(min=2000, max=2999)
MONTHS = validate.Range(min=1, max=12)
COLLECTION_STATUSES = ("confirmed", "reversed")


def _id(**kwargs):
    return fields.String(validate=validate.Length(min=1, max=36), **kwargs)


def money(**kwargs):
    return fields.Decimal(as_string=True, places=2, validate=validate.Range(min=0, max=MAX_AMOUNT), **kwargs)


class TargetCreate(InputSchema):
    """A target for a year (``month`` null) or a month, for the company, a department
    (``department_id``) or a person (``user_id``), for one metric in one currency."""

    class Meta(InputSchema.Meta):
        server_owned = ("period", "scope_key", "created_by", "attained", "attainment_percent")

    year = fields.Integer(required=True, validate=YEARS)
    month = fields.Integer(load_default=None, allow_none=True, validate=MONTHS,
                           metadata={"description": "1-12; null: the whole year"})
    scope = fields.String(required=True, validate=validate.OneOf(SCOPES))
    department_id = _id(load_default=None, allow_none=True, metadata={"description": "scope department"})
    user_id = _id(load_default=None, allow_none=True, metadata={"description": "scope user"})
    metric = fields.String(required=True, validate=validate.OneOf(METRICS))
    currency = fields.String(load_default="CNY", validate=validate.Regexp(CURRENCY))
    amount = money(required=True)
    note = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=500))


class TargetUpdate(InputSchema):
    """Change a target's amount or note (what it is for does not change: delete it and set another)."""
    amount = money()
    note = fields.String(allow_none=True, validate=validate.Length(max=500))


class TargetOut(Schema):
    """A target with its attainment: ``attained`` (approved orders' totals, or payments collected, in
    the period, the scope and the currency) and ``attainment_percent`` (null for a zero target)."""
    id = fields.String()
    year = fields.Integer()
    month = fields.Integer(allow_none=True)
    period = fields.String(metadata={"description": "2026 or 2026-03"})
    scope = fields.String(metadata={"description": " | ".join(SCOPES)})
    department_id = fields.String(allow_none=True)
    user_id = fields.String(attribute="owner_id", allow_none=True)
    metric = fields.String(metadata={"description": " | ".join(METRICS)})
    currency = fields.String()
    amount = fields.Decimal(as_string=True, places=2)
    note = fields.String(allow_none=True)
    attained = fields.Decimal(as_string=True, places=2)
    attainment_percent = fields.Decimal(as_string=True, places=2, allow_none=True)
    created_by = fields.String(allow_none=True)
    version = fields.Integer()
    created_at = fields.DateTime()
    updated_at = fields.DateTime()


class TargetList(Schema):
    """A page of targets with their attainment, newest first."""
    items = fields.List(fields.Nested(TargetOut), required=True)
    next_cursor = fields.String(required=True, allow_none=True, metadata={
        "description": "Opaque: pass it as `cursor` for the next page; null on the last page."})


class TargetListQuery(ListQuery):
    """Filters of the target list, within what the caller may see."""
    year = fields.Integer(load_default=None, validate=YEARS)
    month = fields.Integer(load_default=None, validate=MONTHS)
    yearly = fields.Boolean(load_default=None, metadata={"description": "true: yearly targets only; false: monthly"})
    scope = fields.String(load_default=None, validate=validate.OneOf(SCOPES))
    department_id = _id(load_default=None)
    user_id = _id(load_default=None)
    metric = fields.String(load_default=None, validate=validate.OneOf(METRICS))
    currency = fields.String(load_default=None, validate=validate.Regexp(CURRENCY))


class _CollectionFact(Schema):
    """A payment collected or reversed, as billing's events will say it (internal): who it counts
    for, how much, when it was collected, and when billing said so (``occurred_at``)."""

    class Meta:
        unknown = "raise"

    payment_id = _id(required=True)
    order_id = _id(load_default=None, allow_none=True)
    customer_id = _id(load_default=None, allow_none=True)
    owner_id = _id(load_default=None, allow_none=True)
    department_id = _id(load_default=None, allow_none=True)
    amount = fields.Decimal(required=True, places=2, validate=validate.Range(min=0, max=MAX_AMOUNT))
    currency = fields.String(required=True, validate=validate.Regexp(CURRENCY))
    status = fields.String(required=True, validate=validate.OneOf(COLLECTION_STATUSES))
    collected_at = fields.AwareDateTime(required=True, default_timezone=dt.timezone.utc)
    occurred_at = fields.AwareDateTime(required=True, default_timezone=dt.timezone.utc)
