"""Billing reacts to customers' events: a merge (``customers_merged``) and an owner change
(``customer_owner_changed``), idempotently and whatever the order the events arrive in (as sales
does: ``services/sales/application/customer_events.py``).

**A merge**: every billing record naming the merged customer (each table with a ``customer_id``:
receivables, payments... found from the models) names the survivor -- or the end of the survivor's
own chain of merges. The merge is remembered (``billing_customer_refs.merged_into``): a receivable
opened later for the merged id takes the survivor (:func:`current_customer_id`).

**An owner change never touches a status or an amount**: the receivables of that customer still
being collected (``open``, ``partially_paid``, ``overdue``) that the previous owner owned go to the
new owner and their department, with their payments awaiting review; paid, written-off and closed
ones, and reviewed payments, stay with whoever had them. A customer that went into a pool (no new
owner) leaves them as they are. An older owner change heard after a newer one moves them to the
newest owner heard of. Each record moved has its audit entry (``customer_owner_changed``).
"""
from __future__ import annotations

from sqlalchemy import select

from crm_kit.records.db import utcnow
from crm_kit.runtime.uow import UnitOfWork
from services.billing.domain import payments as payment_rules
from services.billing.domain import receivables as rules
from services.billing.models import Base, BillingCustomerRef, Payment, Receivable

MAX_CHAIN = 100
# model -> the statuses whose records follow their customer's new owner
FOLLOW_THE_OWNER = ((Receivable, rules.UNPAID), (Payment, (payment_rules.PENDING_REVIEW,)))


def current_customer_id(session, customer_id: str) -> str:
    """The id a record naming ``customer_id`` holds now: the end of its chain of merges."""
    chain = [customer_id]
    for _ in range(MAX_CHAIN):
        ref = session.get(BillingCustomerRef, chain[-1])
        if ref is None or ref.merged_into is None or ref.merged_into in chain:
            break
        chain.append(ref.merged_into)
    return chain[-1]


def holders() -> list[type]:
    """Every billing table holding a customer id (not as its key)."""
    out = []
    for mapper in Base.registry.mappers:
        column = mapper.columns.get("customer_id")
        if column is not None and not column.primary_key and mapper.class_ is not BillingCustomerRef:
            out.append(mapper.class_)
    return sorted(out, key=lambda c: c.__tablename__)


def record_customers_merged(uow: UnitOfWork, merged: dict) -> dict:
    """``merged``: the payload as ``events.CustomersMerged`` loads it. Returns what moved, per table."""
    survivor_id, merged_id = merged["survivor_id"], merged["merged_id"]
    with uow:
        uow.audit_action("customers_merged")
        session = uow.session
        now = utcnow()
        merged_ref = _ref(session, merged_id, now)
        final = current_customer_id(session, survivor_id)
        moved: dict[str, int] = {}
        if final != merged_id:
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
        moved: dict[str, int] = {}
        if owner_id is not None and previous is not None and previous != owner_id:
            for model, statuses in FOLLOW_THE_OWNER:
                rows = session.scalars(select(model).where(
                    model.customer_id == customer_id, model.owner_id == previous, model.status.in_(statuses))).all()
                for row in rows:
                    row.owner_id = owner_id
                    if department_id is not None:
                        row.department_id = department_id
                if rows:
                    moved[model.__tablename__] = len(rows)
        session.flush()
        uow.commit()
        return moved


def _ref(session, customer_id: str, now) -> BillingCustomerRef:
    """The customer's row, created or touched (its version moves on: a concurrent handler meets it)."""
    ref = session.get(BillingCustomerRef, customer_id)
    if ref is None:
        ref = BillingCustomerRef(customer_id=customer_id, recorded_at=now)
        session.add(ref)
    else:
        ref.recorded_at = now
    return ref
