"""Sales reacts to customers' events: a merge (``customers_merged``) and an owner change
(``customer_owner_changed``), idempotently and whatever the order the events arrive in.

**A merge**: every sales record naming the merged customer (each table with a ``customer_id``:
opportunities, quotes, orders, contracts, the collection facts... found from the models, so a new
table is covered by itself) names the survivor -- or the end of the survivor's own chain of merges
when that one was merged further already (A into B, B into C: the events may come in either
order). The merge is remembered (``sales_customer_refs.merged_into``): a record created later
naming the merged id takes the survivor (:func:`current_customer_id`, which every use case
storing a customer id asks).

**An owner change never touches a stage or a status**: the open opportunities and the draft /
pending-approval quotes and orders of that customer that the previous owner owned go to the new
owner (and the new owner's department; an order raises ``order_owner_changed``); closed, approved,
cancelled ones stay with whoever had them, as do contracts. A customer that went into a pool (no
new owner) leaves its records as they are. An older owner change heard after a newer one moves its
records to the newest owner heard of (``sales_customer_refs``). Each record moved has its audit
entry (``customer_owner_changed``, by the user who caused the change).

The mechanics (chains of merges, the newest owner heard of, two handlers meeting at the
``sales_customer_refs`` row) are the kit's: ``crm_kit.records.customer_refs``; sales names which of
its records follow the owner and the event an order that moved raises.
"""
from __future__ import annotations

from sqlalchemy import inspect

from crm_kit.records.customer_refs import CustomerRefs
from crm_kit.runtime.uow import UnitOfWork
from services.sales import events, models
from services.sales.models import Base, SalesCustomerRef

# model -> (the status column, the statuses whose records follow their customer's new owner)
FOLLOW_THE_OWNER = {
    "Opportunity": ("status", ("open",)),
    "Quote": ("status", ("draft", "pending_approval")),
    "Order": ("status", ("draft", "pending_approval")),
}
# the event a record moved to another owner raises (its subject's own), by table
OWNER_EVENTS = {"orders": "ORDER_OWNER_CHANGED"}


def following_the_owner() -> list[tuple[type, str, tuple[str, ...]]]:
    """The models (those sales has) whose open records follow their customer's new owner."""
    out = []
    for name, (column, statuses) in FOLLOW_THE_OWNER.items():
        model = getattr(models, name, None)
        if model is not None and all(c in inspect(model).columns for c in (column, "owner_id", "customer_id")):
            out.append((model, column, statuses))
    return out


def _owner_event(uow: UnitOfWork, row, previous: str, now) -> None:
    event = getattr(events, OWNER_EVENTS.get(row.__tablename__, ""), None)
    if event is not None:
        uow.emit(event, row, previous_owner_id=previous, occurred_at=now)


REFS = CustomerRefs(SalesCustomerRef, Base, following_the_owner, _owner_event)
current_customer_id = REFS.current_customer_id
holders = REFS.holders


def record_customers_merged(uow: UnitOfWork, merged: dict) -> dict:
    """``merged``: the payload as ``events.CustomersMerged`` loads it. Returns what moved, per table."""
    return REFS.record_merged(uow, merged)


def record_customer_owner_changed(uow: UnitOfWork, changed: dict) -> dict:
    """``changed``: the payload as ``events.CustomerOwnerChanged`` loads it. Returns what moved, per table."""
    return REFS.record_owner_changed(uow, changed)
