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

Two handlers about one customer meet at its ``sales_customer_refs`` row (read first, written with
the change: its version), and the later one is retried.
"""
from __future__ import annotations

from sqlalchemy import inspect, select

from crm_kit.records.db import utcnow
from crm_kit.runtime.uow import UnitOfWork
from services.sales import events, models
from services.sales.models import Base, SalesCustomerRef

MAX_CHAIN = 100
# model -> (the status column, the statuses whose records follow their customer's new owner)
FOLLOW_THE_OWNER = {
    "Opportunity": ("status", ("open",)),
    "Quote": ("status", ("draft", "pending_approval")),
    "Order": ("status", ("draft", "pending_approval")),
}
# the event a record moved to another owner raises (its subject's own), by table
OWNER_EVENTS = {"orders": "ORDER_OWNER_CHANGED"}


def current_customer_id(session, customer_id: str) -> str:
    """The id a record naming ``customer_id`` holds now: the end of its chain of merges."""
    chain = [customer_id]
    for _ in range(MAX_CHAIN):
        ref = session.get(SalesCustomerRef, chain[-1])
        if ref is None or ref.merged_into is None or ref.merged_into in chain:
            break
        chain.append(ref.merged_into)
    return chain[-1]


def holders() -> list[type]:
    """Every sales table holding a customer id (not as its key)."""
    out = []
    for mapper in Base.registry.mappers:
        cls = mapper.class_
        column = mapper.columns.get("customer_id")
        if column is not None and not column.primary_key and cls is not SalesCustomerRef:
            out.append(cls)
    return sorted(out, key=lambda c: c.__tablename__)


def record_customers_merged(uow: UnitOfWork, merged: dict) -> dict:
    """``merged``: the payload as ``events.CustomersMerged`` loads it. Returns what moved, per table."""
    survivor_id, merged_id = merged["survivor_id"], merged["merged_id"]
    with uow:
        uow.audit_action("customers_merged")
        session = uow.session
        now = utcnow()
        merged_ref = _ref(session, merged_id, now)          # read (and written) first: see the docstring
        final = current_customer_id(session, survivor_id)
        moved: dict[str, int] = {}
        if final != merged_id:                              # (a merge back into itself: nothing to do)
            merged_ref.merged_into = survivor_id
            _ref(session, final, now)
            for model in holders():
                rows = session.scalars(select(model).where(model.customer_id == merged_id)).all()
                for row in rows:
                    row.customer_id = final
                if rows:
                    moved[model.__tablename__] = len(rows)
        session.flush()
        uow.commit()
        return moved


def record_customer_owner_changed(uow: UnitOfWork, changed: dict) -> dict:
    """``changed``: the payload as ``events.CustomerOwnerChanged`` loads it. Returns what moved, per table."""
    with uow:
        uow.audit_action("customer_owner_changed")
        session = uow.session
        customer_id = current_customer_id(session, changed["customer_id"])
        ref = _ref(session, customer_id, utcnow())
        if ref.owner_changed_at is None or changed["changed_at"] > ref.owner_changed_at:
            ref.owner_id, ref.department_id, ref.owner_changed_at = (changed["owner_id"], changed["department_id"],
                                                                     changed["changed_at"])
        owner_id, department_id, previous = ref.owner_id, ref.department_id, changed["previous_owner_id"]
        now = utcnow()
        moved: dict[str, int] = {}
        if owner_id is not None and previous is not None and previous != owner_id:
            for model, column, statuses in following_the_owner():
                rows = session.scalars(select(model).where(
                    model.customer_id == customer_id, model.owner_id == previous,
                    getattr(model, column).in_(statuses))).all()
                event = getattr(events, OWNER_EVENTS.get(model.__tablename__, ""), None)
                for row in rows:
                    row.owner_id = owner_id
                    if department_id is not None and hasattr(row, "department_id"):
                        row.department_id = department_id
                    if event is not None:
                        uow.emit(event, row, previous_owner_id=previous, occurred_at=now)
                if rows:
                    moved[model.__tablename__] = len(rows)
        session.flush()
        uow.commit()
        return moved


def following_the_owner() -> list[tuple[type, str, tuple[str, ...]]]:
    """The models (those sales has) whose open records follow their customer's new owner."""
    out = []
    for name, (column, statuses) in FOLLOW_THE_OWNER.items():
        model = getattr(models, name, None)
        if model is not None and all(c in inspect(model).columns for c in (column, "owner_id", "customer_id")):
            out.append((model, column, statuses))
    return out


def _ref(session, customer_id: str, now) -> SalesCustomerRef:
    """The customer's row, created or touched (its version moves on: a concurrent handler meets it)."""
    ref = session.get(SalesCustomerRef, customer_id)
    if ref is None:
        ref = SalesCustomerRef(customer_id=customer_id, recorded_at=now)
        session.add(ref)
    else:
        ref.recorded_at = now
    return ref
