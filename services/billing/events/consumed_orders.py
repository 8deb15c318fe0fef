"""Billing's view of sales' order events (tolerant readers: the fields billing relies on; billing
never reads sales' database nor imports its code).

Consumed:
- ``sales.order_approved``: opens the order's receivable (amount: the order's total, its currency,
  the due date of its payment terms, customer, owner, department);
- ``sales.order_cancelled``: an approved order cancelled closes its receivable while nothing is
  paid (heard before ``order_approved``, it opens the receivable closed).
"""
from __future__ import annotations

import datetime as dt

from marshmallow import EXCLUDE, Schema, fields

__all__ = ["OrderApproved", "OrderCancelled"]


class _Order(Schema):
    class Meta:
        unknown = EXCLUDE

    id = fields.String(required=True)
    number = fields.String(required=True)
    customer_id = fields.String(required=True)
    owner_id = fields.String(load_default=None, allow_none=True)
    department_id = fields.String(load_default=None, allow_none=True)
    total = fields.Decimal(required=True, places=2)
    currency = fields.String(required=True)
    approved_at = fields.AwareDateTime(load_default=None, allow_none=True, default_timezone=dt.timezone.utc)
    occurred_at = fields.AwareDateTime(required=True, default_timezone=dt.timezone.utc)


class OrderApproved(_Order):
    """Consumer view of sales' ``order_approved``."""
    contract_id = fields.String(load_default=None, allow_none=True)
    payment_terms = fields.String(load_default=None, allow_none=True)
    due_days = fields.Integer(load_default=None, allow_none=True)
    due_date = fields.Date(load_default=None, allow_none=True)


class OrderCancelled(_Order):
    """Consumer view of sales' ``order_cancelled``."""
    reason = fields.String(load_default=None, allow_none=True)
    previous_status = fields.String(required=True)
    cancelled_at = fields.AwareDateTime(required=True, default_timezone=dt.timezone.utc)
