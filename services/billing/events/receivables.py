"""The events of receivables and their plans (exchange ``billing.events``).

- ``receivable_opened``    an approved order's receivable was opened (amount, currency, due date)
- ``receivable_settled``   a receivable became paid in full (again, after a refund and new payments)
- ``receivable_overdue``   the overdue timer found it past its due date or one of its instalments past
                           its own (``mark_overdue_receivables``; ``rule`` names the rule and its inputs), once
- ``instalment_due``       an instalment's reminder day came (``remind_instalments``): its owner is to
                           remind the customer before the due date; ``rule`` as above, once

Every receivable payload carries ``id, order_id, order_number, customer_id, owner_id, department_id,
currency, amount, paid_amount, outstanding_amount, due_date, status, occurred_at``, dumped from the
receivable itself (what it does not hold as keywords).
"""
from __future__ import annotations

from marshmallow import Schema, fields

from crm_kit.runtime.events import EventType

__all__ = ["ReceivableOpenedPayload", "ReceivableSettledPayload", "ReceivableOverduePayload",
           "InstalmentDuePayload", "RECEIVABLE_OPENED", "RECEIVABLE_SETTLED", "RECEIVABLE_OVERDUE",
           "INSTALMENT_DUE"]


def _money(**kwargs):
    return fields.Decimal(required=True, places=2, as_string=True, **kwargs)


class _ReceivablePayload(Schema):
    id = fields.String(required=True, metadata={"description": "The receivable's id."})
    order_id = fields.String(required=True)
    order_number = fields.String(required=True)
    customer_id = fields.String(required=True)
    owner_id = fields.String(required=True, allow_none=True)
    department_id = fields.String(required=True, allow_none=True)
    currency = fields.String(required=True)
    amount = _money()
    paid_amount = _money()
    outstanding_amount = _money()
    due_date = fields.Date(required=True, allow_none=True)
    status = fields.String(required=True)
    occurred_at = fields.DateTime(required=True)


class ReceivableOpenedPayload(_ReceivablePayload):
    contract_id = fields.String(required=True, allow_none=True)
    payment_terms = fields.String(required=True, allow_none=True)
    opened_at = fields.DateTime(required=True, metadata={"description": "When its order was approved."})


class ReceivableSettledPayload(_ReceivablePayload):
    settled_at = fields.DateTime(required=True)


class ReceivableOverduePayload(_ReceivablePayload):
    days_overdue = fields.Integer(required=True)
    rule = fields.Dict(required=True, metadata={
        "description": "The rule that fired and its inputs: rule (due_date_passed, instalment_overdue), "
                       "due_date, as_of, days_overdue, instalment_number."})


class InstalmentDuePayload(Schema):
    id = fields.String(required=True, metadata={"description": "The instalment's id."})
    receivable_id = fields.String(required=True)
    order_id = fields.String(required=True)
    order_number = fields.String(required=True)
    customer_id = fields.String(required=True)
    owner_id = fields.String(required=True, allow_none=True, metadata={"description": "Who is reminded."})
    department_id = fields.String(required=True, allow_none=True)
    number = fields.Integer(required=True)
    currency = fields.String(required=True)
    amount = _money()
    paid_amount = _money()
    outstanding_amount = _money()
    due_date = fields.Date(required=True)
    remind_days_before = fields.Integer(required=True)
    rule = fields.Dict(required=True, metadata={
        "description": "The rule that fired and its inputs: rule (instalment_due_soon), due_date, as_of, "
                       "days_until_due, instalment_number."})
    occurred_at = fields.DateTime(required=True)


_ID, _ORDER, _CUSTOMER = ("01933b50-1f00-7a00-8000-0000000ee001", "01933b50-1f00-7a00-8000-0000000bb001",
                          "01933b50-1f00-7a00-8000-0000000cc001")
_OWNER, _DEPT = "01933b50-1f00-7a00-8000-00000000a002", "01933b50-1f00-7a00-8000-00000000d001"
_BASE = {"id": _ID, "order_id": _ORDER, "order_number": "SO-2026-000123", "customer_id": _CUSTOMER,
         "owner_id": _OWNER, "department_id": _DEPT, "currency": "CNY", "amount": "11520.00",
         "paid_amount": "0.00", "outstanding_amount": "11520.00", "due_date": "2026-04-01", "status": "open",
         "occurred_at": "2026-03-02T09:00:01+00:00"}

RECEIVABLE_OPENED = EventType(
    "receivable_opened", ReceivableOpenedPayload, version=1,
    description="An approved order's receivable was opened: its amount, currency and the due date of its "
                "payment terms.",
    example={**_BASE, "contract_id": None, "payment_terms": "30 days net", "opened_at": "2026-03-02T09:00:00+00:00"})
RECEIVABLE_SETTLED = EventType(
    "receivable_settled", ReceivableSettledPayload, version=1,
    description="A receivable was paid in full (confirmed payments less refunds reach its amount).",
    example={**_BASE, "paid_amount": "11520.00", "outstanding_amount": "0.00", "status": "paid",
             "settled_at": "2026-03-20T10:00:00+00:00", "occurred_at": "2026-03-20T10:00:00+00:00"})
RECEIVABLE_OVERDUE = EventType(
    "receivable_overdue", ReceivableOverduePayload, version=1,
    description="The overdue timer found a receivable past its due date (or one of its instalments past its "
                "own) while not paid, once; rule names the rule and its inputs.",
    example={**_BASE, "paid_amount": "5000.00", "outstanding_amount": "6520.00", "status": "overdue",
             "days_overdue": 2, "rule": {"rule": "due_date_passed", "due_date": "2026-04-01",
                                         "as_of": "2026-04-03T01:00:00+00:00", "days_overdue": 2},
             "occurred_at": "2026-04-03T01:00:00+00:00"})
INSTALMENT_DUE = EventType(
    "instalment_due", InstalmentDuePayload, version=1,
    description="An instalment of a payment plan comes due within its reminder days: its owner is reminded, "
                "once; rule names the rule and its inputs.",
    example={"id": "01933b50-1f00-7a00-8000-0000000ff001", "receivable_id": _ID, "order_id": _ORDER,
             "order_number": "SO-2026-000123", "customer_id": _CUSTOMER, "owner_id": _OWNER, "department_id": _DEPT,
             "number": 1, "currency": "CNY", "amount": "5760.00", "paid_amount": "0.00",
             "outstanding_amount": "5760.00", "due_date": "2026-03-15", "remind_days_before": 3,
             "rule": {"rule": "instalment_due_soon", "due_date": "2026-03-15", "as_of": "2026-03-12T01:00:00+00:00",
                      "days_until_due": 3, "instalment_number": 1},
             "occurred_at": "2026-03-12T01:00:00+00:00"})
