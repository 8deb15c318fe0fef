"""The events of quotes (exchange ``sales.events``).

- ``quote_accepted``   the customer accepted an approved quote: it became a draft order
                       (``order_id``) with its lines
"""
from __future__ import annotations

from marshmallow import Schema, fields

from crm_kit.runtime.events import EventType

__all__ = ["QuoteAcceptedPayload", "QUOTE_ACCEPTED"]


class QuoteAcceptedPayload(Schema):
    id = fields.String(required=True)
    number = fields.String(required=True)
    opportunity_id = fields.String(required=True)
    customer_id = fields.String(required=True)
    owner_id = fields.String(required=True, allow_none=True)
    department_id = fields.String(required=True, allow_none=True)
    order_id = fields.String(required=True, metadata={"description": "the draft order the quote became"})
    status = fields.String(required=True)
    subtotal = fields.Decimal(required=True, as_string=True, places=2)
    discount_amount = fields.Decimal(required=True, as_string=True, places=2)
    total = fields.Decimal(required=True, as_string=True, places=2)
    currency = fields.String(required=True)
    valid_until = fields.Date(required=True)
    accepted_at = fields.DateTime(required=True)
    created_at = fields.DateTime(required=True)
    occurred_at = fields.DateTime(required=True)


QUOTE_ACCEPTED = EventType(
    "quote_accepted", QuoteAcceptedPayload, version=1,
    description="The customer accepted an approved, unexpired quote: it became a draft order (`order_id`) "
                "with its lines.",
    example={
        "id": "01933d50-0000-7000-8000-000000000001", "number": "QT-2026-000001",
        "opportunity_id": "01933d10-0000-7000-8000-000000000004",
        "customer_id": "01933d20-0000-7000-8000-000000000007", "owner_id": "u-sales-1", "department_id": "d-east",
        "order_id": "01933d40-0000-7000-8000-000000000003", "status": "accepted", "subtotal": "12000.00",
        "discount_amount": "600.00", "total": "11400.00", "currency": "CNY", "valid_until": "2026-03-31",
        "accepted_at": "2026-03-02T09:30:00+00:00", "created_at": "2026-02-20T08:00:00+00:00",
        "occurred_at": "2026-03-02T09:30:00+00:00"})
