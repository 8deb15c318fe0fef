"""Collections: the dunning run (``as_of``, ``dry_run``) and its result, the aging report, the
overdue receivables and their summary per owner."""
from __future__ import annotations

from marshmallow import Schema, fields, validate

from crm_kit.records.schemas import InputSchema, ListQuery
from services.billing.domain.aging import BUCKETS
from services.billing.schemas.common import day, ident, money, when

_CURRENCY = {"validate": validate.Regexp(r"^[A-Z]{3}$"), "metadata": {"description": "ISO 4217, e.g. CNY."}}


class DunningRunRequest(InputSchema):
    as_of = when(load_default=None, allow_none=True, metadata={"description": "Default now."})
    dry_run = fields.Boolean(load_default=False)


class DunningNoticeOut(Schema):
    receivable_id = fields.String()
    instalment_id = fields.String(allow_none=True)
    level = fields.String()
    rule = fields.Dict()


class DunningRunResult(Schema):
    """What the dunning rule sent (or, ``dry_run``, would send), as of ``as_of``."""
    as_of = fields.DateTime()
    dry_run = fields.Boolean()
    policy = fields.String(metadata={"description": "The ladder applied: name:offset_days,..."})
    count = fields.Integer(metadata={"description": "Notices sent (each a receivable_dunning event)."})
    levels = fields.Dict(keys=fields.String(), values=fields.Integer(), metadata={"description": "Per level."})
    notices = fields.List(fields.Nested(DunningNoticeOut), metadata={"description": "The first 100 of them."})
    events = fields.Dict(keys=fields.String(), values=fields.Integer())


class AgingQuery(Schema):
    class Meta:
        unknown = "raise"

    as_of = day(load_default=None, allow_none=True, metadata={"description": "The report's day (default today, UTC)."})
    currency = fields.String(load_default=None, **_CURRENCY)
    owner_id = ident(load_default=None)


class AgingBucketOut(Schema):
    bucket = fields.String(metadata={"description": ", ".join(BUCKETS)})
    amount = money()
    count = fields.Integer()


class AgingCurrencyOut(Schema):
    currency = fields.String()
    total = money()
    count = fields.Integer(metadata={"description": "Dues: instalments of plans, receivables without one."})
    buckets = fields.List(fields.Nested(AgingBucketOut))


class AgingReport(Schema):
    """The outstanding amounts in scope by days overdue on ``as_of``, per currency (never added up
    across currencies); each currency's buckets add up to its total."""
    as_of = fields.Date()
    currencies = fields.List(fields.Nested(AgingCurrencyOut))


class OverdueListQuery(ListQuery):
    owner_id = ident(load_default=None)
    currency = fields.String(load_default=None, **_CURRENCY)


class OverdueSummaryQuery(Schema):
    class Meta:
        unknown = "raise"

    group_by = fields.String(load_default="owner", validate=validate.OneOf(("owner",)))
    owner_id = ident(load_default=None)
    currency = fields.String(load_default=None, **_CURRENCY)


class OverdueOwnerOut(Schema):
    owner_id = fields.String(allow_none=True)
    currency = fields.String()
    count = fields.Integer()
    outstanding_amount = money()


class OverdueSummary(Schema):
    """The overdue receivables in scope: how many and how much is outstanding, per owner and currency."""
    group_by = fields.String()
    items = fields.List(fields.Nested(OverdueOwnerOut))
