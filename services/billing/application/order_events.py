"""Billing follows an order's owner (sales' ``order_owner_changed``; 更换负责人: a salesperson leaving).

**An owner change never touches an amount or a status**: the order's receivable while it is being
collected (``open``, ``partially_paid``, ``overdue``), and its payments awaiting review, go to the new
owner and department; a paid, written-off or closed receivable, and reviewed payments, stay with
whoever had them. Idempotent (the kit's inbox; a change already applied moves nothing) and
order-tolerant: per order billing remembers the newest owner fact heard (``billing_order_refs``:
the order's approval or an owner change, by the event's ``occurred_at``), so an older change heard
after a newer one does not win, and a change heard before its order's ``order_approved`` is applied
when the receivable opens (:func:`note_owner`). Each record moved has its audit entry (action
``order_owner_changed``); a change older than what was heard is audited on the receivable as
``order_owner_change_ignored`` with both times.
"""
from __future__ import annotations

from sqlalchemy import select

from crm_kit.records.db import utcnow
from crm_kit.runtime.uow import UnitOfWork
from services.billing.domain import payments as payment_rules
from services.billing.domain import receivables as rules
from services.billing.models import BillingOrderRef, Payment, Receivable

SUBJECT = "receivable"


def note_owner(session, order_id: str, owner_id: str | None, department_id: str | None, at) -> tuple:
    """Record an owner fact of the order (who, which department, as of ``at``) unless a newer one was
    heard; returns ``(owner_id, department_id, applied)``: the newest owner heard of, and whether this
    fact is it. A missing department keeps the one heard before."""
    ref = session.get(BillingOrderRef, order_id)
    now = utcnow()
    if ref is None:
        ref = BillingOrderRef(order_id=order_id, recorded_at=now)
        session.add(ref)
    applied = ref.owner_changed_at is None or at > ref.owner_changed_at
    if applied:
        ref.owner_id, ref.owner_changed_at = owner_id, at
        if department_id is not None or ref.department_id is None:
            ref.department_id = department_id
    ref.recorded_at = now
    return ref.owner_id, ref.department_id, applied


def record_order_owner_changed(uow: UnitOfWork, changed: dict) -> dict:
    """``changed``: sales' ``order_owner_changed`` as ``events.OrderOwnerChanged`` loads it. Returns
    what moved, per table."""
    with uow:
        uow.audit_action("order_owner_changed")
        session = uow.session
        owner_id, department_id, applied = note_owner(
            session, changed["id"], changed["owner_id"], changed["department_id"], changed["occurred_at"])
        receivable = session.scalars(select(Receivable).where(Receivable.order_id == changed["id"])).first()
        moved: dict[str, int] = {}
        if receivable is not None and not applied:
            ref = session.get(BillingOrderRef, changed["id"])
            uow.audit_record(SUBJECT, receivable.id, {"order_owner_changed": [None, {
                "rule": "older_than_heard", "owner_id": changed["owner_id"],
                "occurred_at": changed["occurred_at"].isoformat(),
                "newest_heard_at": ref.owner_changed_at.isoformat(), "owner_id_kept": owner_id}]},
                action="order_owner_change_ignored")
        if receivable is not None and receivable.status in rules.UNPAID and owner_id is not None:
            if _move(receivable, owner_id, department_id):
                moved["receivables"] = 1
            payments = session.scalars(select(Payment).where(
                Payment.receivable_id == receivable.id, Payment.status == payment_rules.PENDING_REVIEW)).all()
            count = sum(_move(payment, owner_id, department_id) for payment in payments)
            if count:
                moved["payments"] = count
        session.flush()
        uow.commit()
        return moved


def _move(row, owner_id: str, department_id: str | None) -> bool:
    """The row to the owner (and department, when known); whether anything changed."""
    target = (owner_id, department_id if department_id is not None else row.department_id)
    if (row.owner_id, row.department_id) == target:
        return False
    row.owner_id, row.department_id = target
    return True
