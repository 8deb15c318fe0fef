"""Billing's view of sales' order events (tolerant readers: the fields billing relies on; billing
never reads sales' database nor imports its code).

Consumed:
- ``sales.order_approved``: opens the order's receivable (amount: the order's total, its currency,
  the due date of its payment terms, customer, owner, department);
- ``sales.order_cancelled``: an approved order cancelled closes its receivable while nothing is
  paid (heard before ``order_approved``, it opens the receivable closed);
- ``sales.order_owner_changed``: the order's receivable while being collected, and its payments
  awaiting review, go to the new owner and department (the newest change heard wins).

``order_approved`` may carry the payment plan prepared on the order (``payment_plan``: instalments
with their amounts and due dates resolved; optional, absent from older producers): it becomes the
receivable's live plan.
"""
from __future__ import annotations

import datetime as dt

from marshmallow import EXCLUDE, Schema, fields

__all__ = ["OrderApproved", "OrderCancelled", "OrderOwnerChanged", "OrderPlanInstalment"]


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


class OrderPlanInstalment(Schema):
    """An instalment of the plan prepared on the order, as ``order_approved`` resolves it."""
    class Meta:
        unknown = EXCLUDE

    amount = fields.Decimal(required=True, places=2)
    due_date = fields.Date(required=True)
    remind_days_before = fields.Integer(load_default=None, allow_none=True)


class OrderApproved(_Order):
    """Consumer view of sales' ``order_approved``."""
    contract_id = fields.String(load_default=None, allow_none=True)
    payment_terms = fields.String(load_default=None, allow_none=True)
    due_days = fields.Integer(load_default=None, allow_none=True)
    due_date = fields.Date(load_default=None, allow_none=True)
    payment_plan = fields.List(fields.Nested(OrderPlanInstalment), load_default=None, allow_none=True)


class OrderCancelled(_Order):
    """Consumer view of sales' ``order_cancelled``."""
    reason = fields.String(load_default=None, allow_none=True)
    previous_status = fields.String(required=True)
    cancelled_at = fields.AwareDateTime(required=True, default_timezone=dt.timezone.utc)


class OrderOwnerChanged(_Order):
    """Consumer view of sales' ``order_owner_changed`` (``owner_id``, ``department_id``: the new ones;
    ``occurred_at``: when, which orders two changes heard out of order)."""
    previous_owner_id = fields.String(load_default=None, allow_none=True)
