"""Receivables (应收): opened by sales' ``order_approved`` (one per order), closed by its
``order_cancelled`` while nothing is paid, read and listed within the data scopes (finance: its
departments), written off by finance with a reason.

The event handlers are idempotent: the inbox drops a redelivered event, and the receivable's unique
``order_id`` makes a second ``order_approved`` of one order (or one heard after its
``order_cancelled``, which opens it closed) change nothing. A cancellation heard once something
is paid leaves the receivable as it is (its audit entry says why): finance refunds first.

A plan prepared on the order (``order_approved``'s ``payment_plan``) becomes the receivable's live
plan as it opens (``plans.apply_plan``; due on its last instalment), audited with its origin
(``plan_origin: from_order``); one that does not add up to the receivable (a producer's bug) is left
out and audited (``plan_refused``: the difference), the receivable opening on its terms. The owner
is the newest heard of (``order_events.note_owner``: an owner change heard before the approval wins
over the approval's owner when it is newer).
"""
from __future__ import annotations

from sqlalchemy import select

from crm_kit.context import Principal
from crm_kit.errors import ValidationFailed
from crm_kit.ids import new_id
from crm_kit.records import audit
from crm_kit.records.db import utcnow
from crm_kit.records.schemas import load
from crm_kit.runtime.uow import UnitOfWork
from services.billing.application.access import finance_clause, for_read, for_write, list_in_scope
from services.billing.application.books import figures, load_book, write_back
from services.billing.application.customer_events import current_customer_id
from services.billing.application.order_events import note_owner
from services.billing.application.plans import apply_plan
from services.billing.domain import payments as payment_rules
from services.billing.domain import plans as plan_rules
from services.billing.domain import receivables as rules
from services.billing.domain.review import require_review
from services.billing.events.payments import PAYMENT_REJECTED
from services.billing.events.receivables import RECEIVABLE_OPENED, RECEIVABLE_SETTLED
from services.billing.models import Payment, Receivable
from services.billing.schemas.receivables import ReceivableListQuery, ReceivableOut, ReceivableWriteOff

SUBJECT = "receivable"
_out, _query, _write_off = ReceivableOut(), ReceivableListQuery(), ReceivableWriteOff()
CANCELLED_PAYMENT = "The order was cancelled."


def dump(receivable: Receivable) -> dict:
    return _out.dump(receivable)


def _by_order(session, order_id: str) -> Receivable | None:
    return session.scalars(select(Receivable).where(Receivable.order_id == order_id)).first()


def _new(session, order: dict, now, **overrides) -> Receivable:
    amount = rules.money(order["total"])
    due = rules.terms_due_date(order.get("due_date"), order.get("approved_at"), order.get("due_days"))
    receivable = Receivable(
        id=new_id(), order_id=order["id"], order_number=order["number"], contract_id=order.get("contract_id"),
        customer_id=current_customer_id(session, order["customer_id"]), owner_id=order["owner_id"],
        department_id=order["department_id"], currency=order["currency"], amount=amount,
        paid_amount=rules.money(0), pending_amount=rules.money(0), outstanding_amount=amount,
        payment_terms=order.get("payment_terms"), terms_due_date=due, due_date=due, plan_revision=0,
        status=rules.status_of(amount, rules.money(0), False),
        opened_at=order.get("approved_at") or order["occurred_at"],
        version=1, created_at=now, updated_at=now)
    for name, value in overrides.items():
        setattr(receivable, name, value)
    if receivable.status == rules.PAID:          # (an order of 0.00: nothing to collect)
        receivable.settled_at = now
    session.add(receivable)
    return receivable


# -- the event handlers ------------------------------------------------------------------------------
def open_receivable(uow: UnitOfWork, order: dict) -> str | None:
    """``order``: sales' ``order_approved`` as ``events.OrderApproved`` loads it. The receivable's id
    (None: the order has one already)."""
    with uow:
        uow.audit_action("open")
        session = uow.session
        if _by_order(session, order["id"]) is not None:
            uow.commit()
            return None
        now = utcnow()
        owner_id, department_id, _ = note_owner(session, order["id"], order["owner_id"], order["department_id"],
                                                order["occurred_at"])
        receivable = _new(session, order, now, owner_id=owner_id, department_id=department_id)
        session.flush()
        if order.get("payment_plan"):
            _plan_from_order(uow, receivable, order, now)
            session.flush()
        uow.emit(RECEIVABLE_OPENED, receivable, occurred_at=now)
        if receivable.status == rules.PAID:
            uow.emit(RECEIVABLE_SETTLED, receivable, occurred_at=now)
        uow.commit()
        return receivable.id


def _plan_from_order(uow: UnitOfWork, receivable: Receivable, order: dict, now) -> None:
    plan = [{"amount": item["amount"], "due_date": item["due_date"],
             "remind_days_before": item.get("remind_days_before")} for item in order["payment_plan"]]
    try:
        items = plan_rules.numbered(plan, receivable.amount, receivable.currency)
    except ValidationFailed as exc:
        uow.audit_record(SUBJECT, receivable.id, {"plan_origin": [None, "from_order"], "plan_refused": [
            None, {"reason": exc.detail, "instalments": len(plan)}]}, action="plan_refused")
        return
    apply_plan(uow.session, receivable, items, now)
    uow.audit_record(SUBJECT, receivable.id, {"plan_origin": [None, "from_order"], "plan": [None, {
        "order_id": order["id"], "order_number": order["number"], "revision": receivable.plan_revision,
        "instalments": [{"number": i["number"], "amount": str(i["amount"]), "due_date": i["due_date"].isoformat()}
                        for i in items]}]}, action="plan")


def close_for_cancelled_order(uow: UnitOfWork, order: dict) -> str | None:
    """``order``: sales' ``order_cancelled``. An approved order's receivable is closed (its payments
    awaiting review rejected, its plan's unpaid instalments void) while nothing is paid. Returns
    the receivable's status (None: the order was never approved)."""
    with uow:
        uow.audit_action("close")
        session = uow.session
        if order["previous_status"] != "approved":
            uow.commit()
            return None
        now = utcnow()
        reason = f"Order {order['number']} cancelled" + (f": {order['reason']}" if order.get("reason") else "")
        receivable = _by_order(session, order["id"])
        if receivable is None:           # heard before its order_approved: opened closed
            receivable = _new(session, order, now, status=rules.CLOSED, closed_at=order["cancelled_at"],
                              closed_reason=reason)
            session.flush()
            uow.commit()
            return receivable.status
        book = load_book(session, receivable)
        if receivable.status in rules.FINAL or book.paid > 0:
            uow.audit_record(SUBJECT, receivable.id, {"order_cancelled": [None, {
                "rule": "order_cancelled_after_payment" if book.paid > 0 else "already_final",
                "paid_amount": str(book.paid), "status": receivable.status}]}, action="close_refused")
            uow.commit()
            return receivable.status
        rejected = book.close()
        write_back(receivable, book, now)
        receivable.closed_at, receivable.closed_reason = order["cancelled_at"], reason
        payments = {p.id: p for p in session.scalars(select(Payment).where(
            Payment.id.in_([e.id for e in rejected])))} if rejected else {}
        for entry in rejected:
            payment = payments[entry.id]
            payment.status, payment.reviewed_at, payment.updated_at = payment_rules.REJECTED, now, now
            payment.rejected_reason = CANCELLED_PAYMENT
        session.flush()
        for entry in rejected:
            uow.emit(PAYMENT_REJECTED, payments[entry.id], **figures(receivable), occurred_at=now)
        uow.commit()
        return receivable.status


# -- reads -----------------------------------------------------------------------------------------------
def get_receivable(uow: UnitOfWork, principal: Principal, receivable_id: str) -> dict:
    with uow:
        return dump(for_read(uow.session, Receivable, receivable_id, principal, SUBJECT))


def list_receivables(uow: UnitOfWork, principal: Principal, query: dict | None = None) -> dict:
    """Receivables in scope (finance: its departments'), newest first; filters: status, customer,
    order, owner, due before a day."""
    query = load(_query, query or {})
    due = [Receivable.due_date < query["due_before"]] if query.get("due_before") is not None else []
    return list_in_scope(uow, principal, Receivable, query, ("status", "customer_id", "order_id", "owner_id"),
                         dump, *due)


def receivable_history(uow: UnitOfWork, principal: Principal, receivable_id: str, query: dict | None = None) -> dict:
    return audit.record_history(uow, principal, Receivable, receivable_id, SUBJECT, query,
                                finance_clause(Receivable, principal))


# -- write-off ---------------------------------------------------------------------------------------
def write_off_receivable(uow: UnitOfWork, principal: Principal, receivable_id: str, reason=None) -> dict:
    """Give up what is outstanding (finance in scope, admins), with the reason; final."""
    fields = load(_write_off, {"reason": reason})
    with uow:
        session = uow.session
        receivable = for_write(session, Receivable, receivable_id, principal, SUBJECT)
        require_review(principal, receivable.department_id, "write_off", SUBJECT)
        book = load_book(session, receivable)
        book.write_off()
        now = utcnow()
        write_back(receivable, book, now)
        receivable.written_off_at, receivable.written_off_by = now, principal.user_id
        receivable.written_off_reason = fields["reason"]
        uow.audit_action("write_off")
        session.flush()
        return uow.commit(lambda: dump(receivable))
