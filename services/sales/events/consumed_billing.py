"""Sales' view of billing's payment events (tolerant readers: the fields sales relies on).

Consumed (for the targets' ``collected_amount``, ``application.collections``):
- ``billing.payment_confirmed``: a payment collected, counted for the order's owner and department
  on the day it was paid;
- ``billing.payment_reversed``: a confirmed payment refunded: it no longer counts.
"""
from __future__ import annotations

import datetime as dt

from marshmallow import EXCLUDE, Schema, fields

__all__ = ["BillingPayment"]


class BillingPayment(Schema):
    """Consumer view of billing's ``payment_confirmed`` and ``payment_reversed``."""

    class Meta:
        unknown = EXCLUDE

    id = fields.String(required=True)
    order_id = fields.String(load_default=None, allow_none=True)
    customer_id = fields.String(load_default=None, allow_none=True)
    owner_id = fields.String(load_default=None, allow_none=True)
    department_id = fields.String(load_default=None, allow_none=True)
    amount = fields.Decimal(required=True, places=2)
    currency = fields.String(required=True)
    paid_at = fields.AwareDateTime(required=True, default_timezone=dt.timezone.utc)
    occurred_at = fields.AwareDateTime(required=True, default_timezone=dt.timezone.utc)
