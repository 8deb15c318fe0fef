"""Billing's payment events made the targets' collection facts (``targets.record_collection``):
a confirmed payment counts in ``collected_amount`` for its order's owner and department, on the day
it was paid (``paid_at``); a reversed (refunded) one no longer counts. One row per payment, replaced
only by a newer fact (the event's ``occurred_at``), so a redelivered or late event changes nothing."""
from __future__ import annotations

from crm_kit.runtime.uow import UnitOfWork
from services.sales.application.targets import record_collection

STATUSES = {"payment_confirmed": "confirmed", "payment_reversed": "reversed"}


def collection_fact(event: dict, event_type: str) -> dict:
    return {"payment_id": event["id"], "order_id": event.get("order_id"), "customer_id": event.get("customer_id"),
            "owner_id": event.get("owner_id"), "department_id": event.get("department_id"),
            "amount": str(event["amount"]), "currency": event["currency"], "status": STATUSES[event_type],
            "collected_at": event["paid_at"].isoformat(), "occurred_at": event["occurred_at"].isoformat()}


def on_payment_event(uow: UnitOfWork, event: dict, event_type: str) -> bool:
    return record_collection(uow, collection_fact(event, event_type))
