"""What other contexts tell about a customer's business, as a fact ``apply_business_fact`` takes
(internal: no RPC takes it; each future event handler maps its event's payload onto it), and the
deal fields and summary the customer's overview returns."""
from __future__ import annotations

import datetime as dt

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from services.customers.domain.deal import FACT_KINDS, STATUSES


class _BusinessFact(Schema):
    """One fact: ``kind`` and the other context's id (``ref_id``), the customer it concerns, the
    status it gave (``domain.deal.STATUSES[kind]``), its amount, when it said so (``occurred_at``:
    the event's) and, when the event carries it, when the record was created (``opened_at``)."""

    class Meta:
        unknown = "raise"

    kind = fields.String(required=True, validate=validate.OneOf(FACT_KINDS))
    ref_id = fields.String(required=True, validate=validate.Length(min=1, max=36))
    customer_id = fields.String(required=True, validate=validate.Length(min=1, max=36))
    status = fields.String(required=True, validate=validate.Length(min=1, max=20))
    amount = fields.Decimal(required=True, places=2, validate=validate.Range(min=0, max=10 ** 16 - 1))
    occurred_at = fields.AwareDateTime(required=True, default_timezone=dt.timezone.utc)
    opened_at = fields.AwareDateTime(load_default=None, allow_none=True, default_timezone=dt.timezone.utc)

    @validates_schema
    def _status_of_its_kind(self, data, **kwargs):
        kind, status = data.get("kind"), data.get("status")
        if kind in STATUSES and status not in STATUSES[kind]:
            raise ValidationError(f"Must be one of: {', '.join(STATUSES[kind])}.", "status")


class CustomerDealOut(Schema):
    """A customer's deal status (成交客户) and what it is kept from: the money summary, the open
    opportunities, when it became a deal customer, its last deal and newest opportunity."""
    deal_status = fields.String(metadata={"description": "prospect | deal"})
    deal_at = fields.DateTime(allow_none=True, metadata={"description": "when it became a deal customer"})
    last_deal_at = fields.DateTime(allow_none=True)
    last_opportunity_at = fields.DateTime(allow_none=True,
                                          metadata={"description": "when its newest opportunity was opened"})
    open_opportunities = fields.Integer()
    summary = fields.Method("_summary", metadata={
        "type": "object", "description": "opportunity_total, order_total, paid_total, outstanding (decimal strings)"})

    def _summary(self, obj):
        return {"opportunity_total": str(obj.opportunity_total), "order_total": str(obj.order_total),
                "paid_total": str(obj.paid_total), "outstanding": str(obj.order_total - obj.paid_total)}
