"""The events of payments (exchange ``billing.events``).

- ``payment_submitted``  a payment was recorded against a receivable, awaiting finance's review
- ``payment_confirmed``  finance confirmed it: the receivable's paid and outstanding amounts after it
                         (customers' paid total, sales targets' collected amount, analytics)
- ``payment_rejected``   finance rejected it, with the reason (or its order was cancelled)
- ``payment_reversed``   a refund (a credit entry) reversed a confirmed payment: its amount is
                         outstanding again; ``refund_*`` name the credit entry

Every payload carries ``id, number, receivable_id, order_id, customer_id, instalment_id, owner_id,
department_id, amount, currency, paid_at, method, status, receivable_paid_amount,
receivable_outstanding_amount, receivable_status, occurred_at``, dumped from the payment itself
(what it does not hold as keywords).
"""
from __future__ import annotations

from marshmallow import Schema, fields

from crm_kit.runtime.events import EventType

__all__ = ["PaymentSubmittedPayload", "PaymentConfirmedPayload", "PaymentRejectedPayload",
           "PaymentReversedPayload", "PAYMENT_SUBMITTED", "PAYMENT_CONFIRMED", "PAYMENT_REJECTED",
           "PAYMENT_REVERSED"]


def _money(**kwargs):
    return fields.Decimal(required=True, places=2, as_string=True, **kwargs)


class _PaymentPayload(Schema):
    id = fields.String(required=True, metadata={"description": "The payment's id."})
    number = fields.String(required=True)
    receivable_id = fields.String(required=True)
    order_id = fields.String(required=True)
    customer_id = fields.String(required=True)
    instalment_id = fields.String(required=True, allow_none=True)
    owner_id = fields.String(required=True, allow_none=True)
    department_id = fields.String(required=True, allow_none=True)
    amount = _money()
    currency = fields.String(required=True)
    paid_at = fields.DateTime(required=True)
    method = fields.String(required=True)
    status = fields.String(required=True)
    receivable_paid_amount = _money(metadata={"description": "The receivable's paid amount after this."})
    receivable_outstanding_amount = _money()
    receivable_status = fields.String(required=True)
    occurred_at = fields.DateTime(required=True)


class PaymentSubmittedPayload(_PaymentPayload):
    reviewer_id = fields.String(required=True, allow_none=True)
    submitted_by = fields.String(required=True, allow_none=True)


class PaymentConfirmedPayload(_PaymentPayload):
    reviewed_by = fields.String(required=True)
    reviewed_at = fields.DateTime(required=True)


class PaymentRejectedPayload(_PaymentPayload):
    reviewed_by = fields.String(required=True, allow_none=True)
    reviewed_at = fields.DateTime(required=True)
    reason = fields.String(required=True, attribute="rejected_reason")


class PaymentReversedPayload(_PaymentPayload):
    refund_id = fields.String(required=True)
    refund_number = fields.String(required=True)
    reason = fields.String(required=True)
    reviewer_id = fields.String(required=True, allow_none=True, metadata={"description": "Who made the refund."})
    refunded_at = fields.DateTime(required=True)


_BASE = {"id": "01933b50-1f00-7a00-8000-0000000aa101", "number": "PAY-2026-000042",
         "receivable_id": "01933b50-1f00-7a00-8000-0000000ee001", "order_id": "01933b50-1f00-7a00-8000-0000000bb001",
         "customer_id": "01933b50-1f00-7a00-8000-0000000cc001", "instalment_id": None,
         "owner_id": "01933b50-1f00-7a00-8000-00000000a002", "department_id": "01933b50-1f00-7a00-8000-00000000d001",
         "amount": "5000.00", "currency": "CNY", "paid_at": "2026-03-10T00:00:00+00:00", "method": "bank_transfer",
         "status": "pending_review", "receivable_paid_amount": "0.00", "receivable_outstanding_amount": "11520.00",
         "receivable_status": "open", "occurred_at": "2026-03-10T08:00:00+00:00"}
_FINANCE = "01933b50-1f00-7a00-8000-00000000a009"

PAYMENT_SUBMITTED = EventType(
    "payment_submitted", PaymentSubmittedPayload, version=1,
    description="A payment was recorded against a receivable and awaits finance's review.",
    example={**_BASE, "reviewer_id": _FINANCE, "submitted_by": "01933b50-1f00-7a00-8000-00000000a002"})
PAYMENT_CONFIRMED = EventType(
    "payment_confirmed", PaymentConfirmedPayload, version=1,
    description="Finance confirmed a payment: the receivable's paid and outstanding amounts after it.",
    example={**_BASE, "status": "confirmed", "receivable_paid_amount": "5000.00",
             "receivable_outstanding_amount": "6520.00", "receivable_status": "partially_paid",
             "reviewed_by": _FINANCE, "reviewed_at": "2026-03-11T09:00:00+00:00",
             "occurred_at": "2026-03-11T09:00:00+00:00"})
PAYMENT_REJECTED = EventType(
    "payment_rejected", PaymentRejectedPayload, version=1,
    description="Finance rejected a payment awaiting review, with the reason (or its order was cancelled).",
    example={**_BASE, "status": "rejected", "reviewed_by": _FINANCE, "reviewed_at": "2026-03-11T09:00:00+00:00",
             "reason": "Not on the bank statement", "occurred_at": "2026-03-11T09:00:00+00:00"})
PAYMENT_REVERSED = EventType(
    "payment_reversed", PaymentReversedPayload, version=1,
    description="A refund (a credit entry) reversed a confirmed payment: its amount is outstanding again.",
    example={**_BASE, "status": "reversed", "receivable_paid_amount": "0.00",
             "receivable_outstanding_amount": "11520.00", "receivable_status": "open",
             "refund_id": "01933b50-1f00-7a00-8000-0000000aa201", "refund_number": "RF-2026-000003",
             "reason": "Paid twice by the customer", "reviewer_id": _FINANCE,
             "refunded_at": "2026-03-12T09:00:00+00:00", "occurred_at": "2026-03-12T09:00:00+00:00"})
