"""The events of orders (exchange ``sales.events``).

- ``order_submitted``      an order was submitted for approval (``approval_state``: ``pending``, or
                           ``approved`` when nothing needed approving: ``order_approved`` follows)
- ``order_approved``       the approval engine approved it: lines, totals, currency, payment terms and
                           due date, the payment plan prepared on it (``payment_plan``, optional: billing
                           opens a receivable with it; customers mark the deal; targets count it)
- ``order_rejected``       an approver rejected it, with the reason
- ``order_cancelled``      a draft, rejected or approved (nothing paid, nothing shipped) order was
                           cancelled, with the reason
- ``order_shipped``        an approved order was shipped
- ``order_delivered``      a shipped order was delivered
- ``order_delivery_late``  an approved order passed its promised date undelivered (the periodic job
                           ``mark_late_deliveries``; ``rule`` names the rule and its inputs), once
- ``order_owner_changed``  the order changed owner (a salesperson leaving); nothing else changed

Every payload carries ``id, number, customer_id, owner_id, department_id, status, total, currency,
approved_at, occurred_at``; each dumped from the order itself, what it does not hold as keywords.
"""
from __future__ import annotations

from marshmallow import Schema, fields

from crm_kit.runtime.events import EventType

__all__ = ["OrderLinePayload", "PaymentPlanInstalmentPayload", "OrderSubmittedPayload", "OrderApprovedPayload",
           "OrderRejectedPayload", "OrderCancelledPayload", "OrderShippedPayload", "OrderDeliveredPayload",
           "OrderDeliveryLatePayload", "OrderOwnerChangedPayload", "ORDER_SUBMITTED", "ORDER_APPROVED",
           "ORDER_REJECTED", "ORDER_CANCELLED", "ORDER_SHIPPED", "ORDER_DELIVERED", "ORDER_DELIVERY_LATE",
           "ORDER_OWNER_CHANGED"]


def _money(**kwargs):
    return fields.Decimal(required=True, places=2, as_string=True, **kwargs)


class _OrderPayload(Schema):
    id = fields.String(required=True, metadata={"description": "The order's id."})
    number = fields.String(required=True)
    customer_id = fields.String(required=True)
    opportunity_id = fields.String(required=True, allow_none=True)
    owner_id = fields.String(required=True, allow_none=True)
    department_id = fields.String(required=True, allow_none=True)
    status = fields.String(required=True)
    total = _money()
    currency = fields.String(required=True)
    approved_at = fields.DateTime(required=True, allow_none=True)
    occurred_at = fields.DateTime(required=True)


class OrderLinePayload(Schema):
    product_id = fields.String(required=True)
    sku = fields.String(required=True)
    name = fields.String(required=True)
    unit = fields.String(required=True)
    quantity = fields.Decimal(required=True, as_string=True)
    unit_price = _money()
    discount_percent = _money()
    line_total = _money()


class PaymentPlanInstalmentPayload(Schema):
    number = fields.Integer(required=True)
    amount = _money()
    due_date = fields.Date(required=True)
    remind_days_before = fields.Integer(required=True)


class OrderSubmittedPayload(_OrderPayload):
    submitted_at = fields.DateTime(required=True)
    submitted_by = fields.String(required=True)
    approval_state = fields.String(required=True, metadata={
        "description": "pending, or approved when nothing needed approving (order_approved follows)."})


class OrderApprovedPayload(_OrderPayload):
    contract_id = fields.String(required=True, allow_none=True)
    quote_id = fields.String(required=True, allow_none=True)
    lines = fields.List(fields.Nested(OrderLinePayload), required=True)
    subtotal = _money()
    discount_percent = _money()
    discount_amount = _money()
    payment_terms = fields.String(required=True, allow_none=True)
    due_days = fields.Integer(required=True, allow_none=True)
    due_date = fields.Date(required=True, allow_none=True)
    promised_date = fields.Date(required=True, allow_none=True)
    payment_plan = fields.List(
        fields.Nested(PaymentPlanInstalmentPayload), allow_none=True, attribute="payment_plan_instalments",
        metadata={"description": "The payment plan prepared on the order, live from now on (billing makes it the "
                                 "receivable's plan): instalments numbered by due date, amounts adding up to the "
                                 "total, due dates resolved; null or absent: none (added in v1, optional)."})


class OrderRejectedPayload(_OrderPayload):
    reason = fields.String(required=True, attribute="rejected_reason")
    rejected_at = fields.DateTime(required=True)


class OrderCancelledPayload(_OrderPayload):
    reason = fields.String(required=True, attribute="cancelled_reason")
    cancelled_at = fields.DateTime(required=True)
    previous_status = fields.String(required=True)


class OrderShippedPayload(_OrderPayload):
    shipped_at = fields.DateTime(required=True)
    promised_date = fields.Date(required=True, allow_none=True)


class OrderDeliveredPayload(_OrderPayload):
    shipped_at = fields.DateTime(required=True)
    delivered_at = fields.DateTime(required=True)
    promised_date = fields.Date(required=True, allow_none=True)


class OrderDeliveryLatePayload(_OrderPayload):
    promised_date = fields.Date(required=True)
    days_late = fields.Integer(required=True)
    rule = fields.Dict(required=True, metadata={
        "description": "The rule that fired and its inputs: rule, promised_date, as_of, days_late."})


class OrderOwnerChangedPayload(_OrderPayload):
    previous_owner_id = fields.String(required=True, allow_none=True)


_ID, _CUSTOMER = "01933b50-1f00-7a00-8000-0000000bb001", "01933b50-1f00-7a00-8000-0000000cc001"
_OWNER, _DEPT = "01933b50-1f00-7a00-8000-00000000a002", "01933b50-1f00-7a00-8000-00000000d001"
_BASE = {"id": _ID, "number": "SO-2026-000123", "customer_id": _CUSTOMER, "opportunity_id": None,
         "owner_id": _OWNER, "department_id": _DEPT, "status": "approved", "total": "11520.00",
         "currency": "CNY", "approved_at": "2026-03-02T09:00:00+00:00", "occurred_at": "2026-03-02T09:00:00+00:00"}
_LINE = {"product_id": "01933b50-1f00-7a00-8000-0000000dd001", "sku": "CRM-PRO", "name": "CRM Pro licence",
         "unit": "seat", "quantity": "10.000", "unit_price": "1280.00", "discount_percent": "0.00",
         "line_total": "12800.00"}

ORDER_SUBMITTED = EventType(
    "order_submitted", OrderSubmittedPayload, version=1,
    description="An order was submitted for approval (approval_state pending, or approved when nothing "
                "needed approving).",
    example={**_BASE, "status": "pending_approval", "approved_at": None, "submitted_at": "2026-03-02T08:00:00+00:00",
             "submitted_by": _OWNER, "approval_state": "pending", "occurred_at": "2026-03-02T08:00:00+00:00"})
ORDER_APPROVED = EventType(
    "order_approved", OrderApprovedPayload, version=1,
    description="The approval engine approved an order: its lines, totals, currency, payment terms, due "
                "date and payment plan (billing opens a receivable with the plan live; customers mark the deal).",
    example={**_BASE, "contract_id": None, "quote_id": None, "lines": [_LINE], "subtotal": "12800.00",
             "discount_percent": "10.00", "discount_amount": "1280.00", "payment_terms": "30 days net",
             "due_days": 30, "due_date": "2026-04-01", "promised_date": "2026-03-20",
             "payment_plan": [{"number": 1, "amount": "5760.00", "due_date": "2026-03-16", "remind_days_before": 3},
                              {"number": 2, "amount": "5760.00", "due_date": "2026-04-01", "remind_days_before": 5}]})
ORDER_REJECTED = EventType(
    "order_rejected", OrderRejectedPayload, version=1,
    description="An approver rejected an order, with the reason (it may be edited and submitted again).",
    example={**_BASE, "status": "rejected", "approved_at": None, "reason": "Discount above policy",
             "rejected_at": "2026-03-02T09:00:00+00:00"})
ORDER_CANCELLED = EventType(
    "order_cancelled", OrderCancelledPayload, version=1,
    description="An order was cancelled (a draft, a rejected one, or an approved one with nothing paid "
                "or shipped), with the reason.",
    example={**_BASE, "status": "cancelled", "reason": "Customer withdrew", "previous_status": "approved",
             "cancelled_at": "2026-03-05T09:00:00+00:00", "occurred_at": "2026-03-05T09:00:00+00:00"})
ORDER_SHIPPED = EventType(
    "order_shipped", OrderShippedPayload, version=1,
    description="An approved order was shipped.",
    example={**_BASE, "shipped_at": "2026-03-10T09:00:00+00:00", "promised_date": "2026-03-20",
             "occurred_at": "2026-03-10T09:00:00+00:00"})
ORDER_DELIVERED = EventType(
    "order_delivered", OrderDeliveredPayload, version=1,
    description="A shipped order was delivered.",
    example={**_BASE, "shipped_at": "2026-03-10T09:00:00+00:00", "delivered_at": "2026-03-12T09:00:00+00:00",
             "promised_date": "2026-03-20", "occurred_at": "2026-03-12T09:00:00+00:00"})
ORDER_DELIVERY_LATE = EventType(
    "order_delivery_late", OrderDeliveryLatePayload, version=1,
    description="An approved order passed its promised date without delivery (once per promised date); "
                "rule names the rule and its inputs.",
    example={**_BASE, "promised_date": "2026-03-20", "days_late": 2,
             "rule": {"rule": "promised_date_passed", "promised_date": "2026-03-20",
                      "as_of": "2026-03-22T01:00:00+00:00", "days_late": 2},
             "occurred_at": "2026-03-22T01:00:00+00:00"})
ORDER_OWNER_CHANGED = EventType(
    "order_owner_changed", OrderOwnerChangedPayload, version=1,
    description="An order changed owner (a salesperson leaving); its lines, totals and state stay as they were.",
    example={**_BASE, "previous_owner_id": "01933b50-1f00-7a00-8000-00000000a003"})
