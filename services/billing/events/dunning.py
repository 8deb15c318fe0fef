"""The dunning event (exchange ``billing.events``).

- ``receivable_dunning``  a due (a receivable without a plan, or an instalment of its plan) reached a
                          level of the dunning ladder (``dun_receivables``): its owner is to chase the
                          customer; ``level`` and ``rule`` name the level and its inputs, once per due
                          and level

The payload carries the receivable's ``id, order_id, order_number, customer_id, owner_id,
department_id, currency, amount, paid_amount, outstanding_amount, due_date, status``, dumped from
the receivable, and the due's own figures as keywords.
"""
from __future__ import annotations

from marshmallow import Schema, fields

from crm_kit.runtime.events import EventType

__all__ = ["ReceivableDunningPayload", "RECEIVABLE_DUNNING"]


def _money(**kwargs):
    return fields.Decimal(required=True, places=2, as_string=True, **kwargs)


class ReceivableDunningPayload(Schema):
    id = fields.String(required=True, metadata={"description": "The receivable's id."})
    order_id = fields.String(required=True)
    order_number = fields.String(required=True)
    customer_id = fields.String(required=True)
    owner_id = fields.String(required=True, allow_none=True, metadata={"description": "Who chases the customer."})
    department_id = fields.String(required=True, allow_none=True)
    currency = fields.String(required=True)
    amount = _money()
    paid_amount = _money()
    outstanding_amount = _money()
    due_date = fields.Date(required=True, allow_none=True)
    status = fields.String(required=True)
    instalment_id = fields.String(required=True, allow_none=True, metadata={"description": "The due, when a plan's."})
    instalment_number = fields.Integer(required=True, allow_none=True)
    due_on = fields.Date(required=True, metadata={"description": "The due's date (the instalment's, or the "
                                                                 "receivable's)."})
    due_outstanding = _money(metadata={"description": "What is outstanding of the due."})
    level = fields.String(required=True)
    offset_days = fields.Integer(required=True)
    rule = fields.Dict(required=True, metadata={
        "description": "The rule that fired and its inputs: rule (dunning.<level>), offset_days, due_date, as_of, "
                       "days_from_due, outstanding, already_sent."})
    occurred_at = fields.DateTime(required=True)


RECEIVABLE_DUNNING = EventType(
    "receivable_dunning", ReceivableDunningPayload, version=1,
    description="A receivable (or an instalment of its plan) reached a level of the dunning ladder: its owner "
                "is to chase the customer, once per level; rule names the level and its inputs.",
    example={"id": "01933b50-1f00-7a00-8000-0000000ee001", "order_id": "01933b50-1f00-7a00-8000-0000000bb001",
             "order_number": "SO-2026-000123", "customer_id": "01933b50-1f00-7a00-8000-0000000cc001",
             "owner_id": "01933b50-1f00-7a00-8000-00000000a002",
             "department_id": "01933b50-1f00-7a00-8000-00000000d001", "currency": "CNY", "amount": "11520.00",
             "paid_amount": "0.00", "outstanding_amount": "11520.00", "due_date": "2026-04-01", "status": "overdue",
             "instalment_id": None, "instalment_number": None, "due_on": "2026-04-01",
             "due_outstanding": "11520.00", "level": "second_notice", "offset_days": 7,
             "rule": {"rule": "dunning.second_notice", "offset_days": 7, "due_date": "2026-04-01",
                      "as_of": "2026-04-09", "days_from_due": 8, "outstanding": "11520.00",
                      "already_sent": ["before_due", "first_notice"]},
             "occurred_at": "2026-04-09T01:00:00+00:00"})
