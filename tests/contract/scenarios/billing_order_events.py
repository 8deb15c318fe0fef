"""Scenarios of billing's handler of sales' ``order_owner_changed``: the order's receivable being
collected, and its payments awaiting review, go to the new owner and department (no amount or status
moves). (The plan prepared on the order, in ``order_approved``'s example, is checked by
``tests/unit/billing/test_order_events.py``; ``billing.py`` holds the order_approved scenario.)"""
from __future__ import annotations

from services.billing.application import order_events, payments, receivables
from services.billing.events.consumed_orders import OrderApproved
from services.billing.models import Payment, Receivable
from tests.contract.support import ADMIN, Consuming, acting_as

PRODUCERS: list = []
_PREVIOUS_DEPT = "01933b50-1f00-7a00-8000-00000000d009"


def _rows(dbs, model) -> list:
    with dbs("billing").session_factory() as session:
        return session.query(model).order_by(model.id).all()


def previous_owners_receivable(dbs, envelope: dict) -> dict:
    """The order's receivable, opened (an hour before the change) for the previous owner, with a
    payment awaiting review."""
    payload, db = envelope["payload"], dbs("billing")
    with acting_as(ADMIN, "req-prepare"):
        receivable_id = receivables.open_receivable(db.uow(), OrderApproved().load({
            "id": payload["id"], "number": payload["number"], "customer_id": payload["customer_id"],
            "owner_id": payload["previous_owner_id"], "department_id": _PREVIOUS_DEPT, "total": "1000.00",
            "currency": "CNY", "approved_at": "2026-03-02T08:00:00+00:00",
            "occurred_at": "2026-03-02T08:00:00+00:00", "due_date": "2026-04-01"}))
        payments.submit_payment(db.uow(), ADMIN, {
            "receivable_id": receivable_id, "amount": "100.00", "paid_at": "2026-03-02T07:00:00+00:00",
            "method": "bank_transfer", "payer": "Initech", "reviewer_id": ADMIN.user_id})
    return envelope


def at_the_new_owner(dbs, payload: dict) -> None:
    [receivable] = _rows(dbs, Receivable)
    assert (receivable.owner_id, receivable.department_id) == (payload["owner_id"], payload["department_id"])
    assert (receivable.status, str(receivable.amount), str(receivable.pending_amount)) == ("open", "1000.00",
                                                                                          "100.00")
    [payment] = _rows(dbs, Payment)
    assert (payment.owner_id, payment.department_id, payment.status) == (
        payload["owner_id"], payload["department_id"], "pending_review")


CONSUMERS = {
    ("sales", "order_owner_changed", "billing.handle_order_owner_changed"):
        Consuming(order_events.record_order_owner_changed, at_the_new_owner, prepare=previous_owners_receivable),
}
