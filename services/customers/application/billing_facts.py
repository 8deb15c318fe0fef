"""Billing's payment events made facts about the customer's business (``apply_business_fact``):
kind ``payment``, the payment's amount, the status the event says (``confirmed`` or ``reversed``;
submitted and rejected payments never count, so customers does not listen to them). Only a
confirmed payment counts in the customer's ``paid_total`` (and so in ``outstanding`` = approved
orders − paid); a reversed one no longer does. The fact's time is the event's ``occurred_at``: a
late or redelivered event never undoes a newer one (``domain.deal.supersedes``), so a
``payment_confirmed`` arriving after its ``payment_reversed`` leaves it reversed."""
from __future__ import annotations

from crm_kit.runtime.uow import UnitOfWork
from services.customers.application.business import apply_business_fact

PAYMENT_STATUSES = {"payment_confirmed": "confirmed", "payment_reversed": "reversed"}


def payment_fact(event: dict, event_type: str) -> dict:
    return {"kind": "payment", "ref_id": event["id"], "customer_id": event["customer_id"],
            "status": PAYMENT_STATUSES[event_type], "amount": str(event["amount"]),
            "occurred_at": event["occurred_at"].isoformat()}


def on_payment_event(uow: UnitOfWork, event: dict, event_type: str) -> bool:
    return apply_business_fact(uow, payment_fact(event, event_type))
