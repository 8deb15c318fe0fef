"""Sales' events made facts about the customer's business: each handler's payload (as the consumer
views in ``events.consumed`` load it) mapped onto ``apply_business_fact``'s fact, so the deal status
and the summary (opportunity and order totals, open opportunities) come from sales' events.

- opportunities (``opportunity_created`` / ``_updated`` / ``_stage_changed`` / ``_won`` / ``_lost``):
  kind ``opportunity``, its amount, the status it has -- an open one's stage when it is one of the
  stages customers knows (``domain.deal.OPEN_STAGES``), else ``open`` (a configured pipeline's own
  stage); won, lost, invalid as they are. ``opened_at``: its ``created_at``. An opportunity of no
  customer is nothing to keep;
- orders (``order_submitted`` / ``_approved`` / ``_rejected`` / ``_cancelled``): kind ``order``, its
  total, the status the event says (``pending_approval``, ``approved``, ``rejected``, ``cancelled``);
- ``contract_signed``: kind ``contract``, status ``signed``, its amount.

Each fact's time is the event's ``occurred_at``: a late or redelivered event never undoes a newer
one (``domain.deal.supersedes``).
"""
from __future__ import annotations

from crm_kit.runtime.uow import UnitOfWork
from services.customers.application.business import apply_business_fact
from services.customers.domain.deal import OPEN_STAGES

ORDER_STATUSES = {"order_submitted": "pending_approval", "order_approved": "approved",
                  "order_rejected": "rejected", "order_cancelled": "cancelled"}


def opportunity_fact(event: dict) -> dict | None:
    if event["customer_id"] is None:
        return None
    return _fact("opportunity", event, event["amount"], opportunity_fact_status(event), event.get("created_at"))


def opportunity_fact_status(event: dict) -> str:
    """The status customers keeps of an opportunity: an open one's stage when customers knows it."""
    if event["status"] == "open":
        return event["stage"] if event["stage"] in OPEN_STAGES else "open"
    return event["status"]


def order_fact(event: dict, event_type: str) -> dict:
    return _fact("order", event, event["total"], ORDER_STATUSES[event_type])


def contract_fact(event: dict) -> dict:
    return _fact("contract", event, event["amount"], "signed", event.get("created_at"))


def on_opportunity_event(uow: UnitOfWork, event: dict) -> bool:
    return _apply(uow, opportunity_fact(event))


def on_order_event(uow: UnitOfWork, event: dict, event_type: str) -> bool:
    return _apply(uow, order_fact(event, event_type))


def on_order_submitted(uow: UnitOfWork, event: dict) -> bool:
    return on_order_event(uow, event, "order_submitted")


def on_order_approved(uow: UnitOfWork, event: dict) -> bool:
    return on_order_event(uow, event, "order_approved")


def on_order_rejected(uow: UnitOfWork, event: dict) -> bool:
    return on_order_event(uow, event, "order_rejected")


def on_order_cancelled(uow: UnitOfWork, event: dict) -> bool:
    return on_order_event(uow, event, "order_cancelled")


def on_contract_signed(uow: UnitOfWork, event: dict) -> bool:
    return _apply(uow, contract_fact(event))


def _fact(kind: str, event: dict, amount, status: str, opened_at=None) -> dict:
    fact = {"kind": kind, "ref_id": event["id"], "customer_id": event["customer_id"], "status": status,
            "amount": str(amount), "occurred_at": event["occurred_at"].isoformat()}
    if opened_at is not None:
        fact["opened_at"] = opened_at.isoformat()
    return fact


def _apply(uow: UnitOfWork, fact: dict | None) -> bool:
    if fact is None:
        with uow:            # nothing to keep; the event is still handled (once)
            uow.commit()
        return False
    return apply_business_fact(uow, fact)
