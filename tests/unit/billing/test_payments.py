"""Receivables, plans and payments on SQLite through the use cases: an approved order opens its
receivable (once), a plan adds up, payments are refused above the outstanding amount, confirmed or
rejected by finance only, refunds reopen what is outstanding, a cancelled order closes its
receivable, the write-off; each with its events."""
from __future__ import annotations

import pytest

from crm_kit.errors import Forbidden, InvalidState, LimitExceeded, NotFound, ValidationFailed
from services.billing.application import payments, plans, receivables, refunds
from services.billing.events.consumed_orders import OrderApproved
from tests.unit.billing.support import (
    ADMIN,
    FINANCE,
    OTHER_FINANCE,
    OWNER,
    cancel,
    events,
    open_receivable,
    order_event,
    paid_at,
)


def _pay(db, receivable_id, amount, instalment_id=None, principal=OWNER) -> dict:
    return payments.submit_payment(db.uow(), principal, {
        "receivable_id": receivable_id, "instalment_id": instalment_id, "amount": amount, "paid_at": paid_at(),
        "method": "bank_transfer", "payer": "Initech Ltd", "attachment_ref": "receipt-1",
        "reviewer_id": FINANCE.user_id})


def test_an_approved_order_opens_one_receivable(db):
    envelope = order_event(total="1000.00")
    assert db.handle(receivables.open_receivable, envelope, OrderApproved) is not None
    # the same order approved again (another event id): nothing new
    again = {**order_event(), "payload": envelope["payload"]}
    assert db.handle(receivables.open_receivable, again, OrderApproved) is None
    [opened] = events(db, "receivable_opened")
    assert (opened["amount"], opened["outstanding_amount"], opened["due_date"], opened["status"]) == (
        "1000.00", "1000.00", "2026-04-01", "open")
    got = receivables.get_receivable(db.uow(), OWNER, opened["id"])
    assert got["owner_id"] == OWNER.user_id and got["instalments"] == [] and got["plan_revision"] == 0


def test_due_date_from_due_days_when_the_order_has_none(db):
    receivable = open_receivable(db, due_date=None, due_days=10)
    assert receivable["due_date"] == "2026-03-12"


def test_a_plan_must_add_up_and_payments_fill_it(db):
    receivable = open_receivable(db, total="1000.00")
    with pytest.raises(ValidationFailed) as err:
        plans.set_receivable_plan(db.uow(), OWNER, receivable["id"], {"instalments": [
            {"amount": "600.00", "due_date": "2026-04-01"}, {"amount": "300.00", "due_date": "2026-05-01"}]})
    assert "100.00 CNY less" in err.value.detail
    plan = plans.set_receivable_plan(db.uow(), OWNER, receivable["id"], {"instalments": [
        {"amount": "400.00", "due_date": "2026-05-01", "remind_days_before": 5},
        {"amount": "600.00", "due_date": "2026-04-01"}]})
    first, second = plan["instalments"]
    assert (first["number"], first["amount"], second["amount"], plan["revision"]) == (1, "600.00", "400.00", 1)
    assert receivables.get_receivable(db.uow(), OWNER, receivable["id"])["due_date"] == "2026-05-01"

    with pytest.raises(LimitExceeded) as err:
        _pay(db, receivable["id"], "1000.01")
    assert err.value.detail == "The payment of 1000.01 CNY is above the outstanding amount of 1000.00 CNY."
    one = _pay(db, receivable["id"], "700.00")
    assert one["status"] == "pending_review" and one["number"].startswith("PAY-")
    with pytest.raises(LimitExceeded):
        _pay(db, receivable["id"], "300.01")          # 700.00 awaits review
    with pytest.raises(Forbidden):
        payments.confirm_payment(db.uow(), OWNER, one["id"])     # the owner does not review
    with pytest.raises(NotFound):
        payments.confirm_payment(db.uow(), OTHER_FINANCE, one["id"])   # another department's finance
    payments.confirm_payment(db.uow(), FINANCE, one["id"])
    got = receivables.get_receivable(db.uow(), FINANCE, receivable["id"])
    assert (got["paid_amount"], got["outstanding_amount"], got["status"]) == ("700.00", "300.00", "partially_paid")
    assert [(i["paid_amount"], i["status"]) for i in got["instalments"]] == [("600.00", "paid"),
                                                                             ("100.00", "partly_paid")]
    [confirmed] = events(db, "payment_confirmed")
    assert (confirmed["receivable_outstanding_amount"], confirmed["reviewed_by"]) == ("300.00", FINANCE.user_id)

    two = _pay(db, receivable["id"], "300.00", instalment_id=second["id"])
    rejected = payments.reject_payment(db.uow(), FINANCE, two["id"], "Not on the statement")
    assert rejected["status"] == "rejected" and rejected["rejected_reason"] == "Not on the statement"
    with pytest.raises(InvalidState):
        payments.confirm_payment(db.uow(), FINANCE, two["id"])
    three = _pay(db, receivable["id"], "300.00", instalment_id=second["id"])
    payments.confirm_payment(db.uow(), ADMIN, three["id"])
    got = receivables.get_receivable(db.uow(), OWNER, receivable["id"])
    assert (got["status"], got["outstanding_amount"], got["settled_at"] is not None) == ("paid", "0.00", True)
    assert [e["id"] for e in events(db, "receivable_settled")] == [receivable["id"]]

    # a refund reverses a confirmed payment: outstanding again, the receivable reopened
    with pytest.raises(Forbidden):
        refunds.refund_payment(db.uow(), OWNER, one["id"], "Paid twice")
    reversed_ = refunds.refund_payment(db.uow(), FINANCE, one["id"], "Paid twice")
    assert reversed_["status"] == "reversed" and reversed_["refund"]["number"].startswith("RF-")
    assert (reversed_["amount"], reversed_["paid_at"]) == (one["amount"], one["paid_at"])   # never edited
    with pytest.raises(InvalidState):
        refunds.refund_payment(db.uow(), FINANCE, one["id"], "Again")
    got = receivables.get_receivable(db.uow(), OWNER, receivable["id"])
    assert (got["paid_amount"], got["outstanding_amount"], got["status"], got["settled_at"]) == (
        "300.00", "700.00", "partially_paid", None)
    assert [(i["paid_amount"], i["status"]) for i in got["instalments"]] == [
        ("0.00", "pending"), ("300.00", "partly_paid")]
    [reversal] = events(db, "payment_reversed")
    assert (reversal["receivable_outstanding_amount"], reversal["reason"]) == ("700.00", "Paid twice")
    assert len(events(db, "payment_submitted")) == 3 and len(events(db, "payment_rejected")) == 1


def test_a_cancelled_order_closes_its_unpaid_receivable(db):
    receivable = open_receivable(db)
    waiting = _pay(db, receivable["id"], "100.00")
    cancel(db, receivable["order_id"])
    got = receivables.get_receivable(db.uow(), OWNER, receivable["id"])
    assert (got["status"], got["closed_reason"]) == ("closed", "Order SO-2026-000001 cancelled: Customer withdrew")
    assert payments.get_payment(db.uow(), OWNER, waiting["id"])["status"] == "rejected"
    with pytest.raises(InvalidState):
        _pay(db, receivable["id"], "1.00")


def test_a_cancellation_heard_first_opens_it_closed_and_a_paid_one_stays(db):
    cancel(db, "order-early")
    early = receivables.list_receivables(db.uow(), ADMIN, {"order_id": "order-early"})["items"][0]
    assert early["status"] == "closed"
    db.handle(receivables.open_receivable, order_event(id="order-early"), OrderApproved)
    assert receivables.get_receivable(db.uow(), ADMIN, early["id"])["status"] == "closed"
    assert events(db, "receivable_opened") == []
    paid = open_receivable(db)
    payments.confirm_payment(db.uow(), FINANCE, _pay(db, paid["id"], "10.00")["id"])
    cancel(db, paid["order_id"])
    assert receivables.get_receivable(db.uow(), ADMIN, paid["id"])["status"] == "partially_paid"


def test_write_off_by_finance_with_a_reason(db):
    receivable = open_receivable(db)
    pending = _pay(db, receivable["id"], "10.00")
    with pytest.raises(InvalidState):
        receivables.write_off_receivable(db.uow(), FINANCE, receivable["id"], "Bankrupt")
    payments.reject_payment(db.uow(), FINANCE, pending["id"], "bounced")
    with pytest.raises(Forbidden):
        receivables.write_off_receivable(db.uow(), OWNER, receivable["id"], "Bankrupt")
    with pytest.raises(ValidationFailed):
        receivables.write_off_receivable(db.uow(), FINANCE, receivable["id"], "  ")
    got = receivables.write_off_receivable(db.uow(), FINANCE, receivable["id"], "Bankrupt")
    assert (got["status"], got["written_off_reason"], got["written_off_by"]) == ("written_off", "Bankrupt", "fin-1")
    history = receivables.receivable_history(db.uow(), FINANCE, receivable["id"])["items"]
    assert history[0]["action"] == "write_off"


def test_lists_are_scoped_finance_sees_its_departments(db):
    mine = open_receivable(db)
    theirs = open_receivable(db, owner_id="owner-2", department_id="d2")
    ids = lambda principal: {r["id"] for r in receivables.list_receivables(db.uow(), principal, {})["items"]}  # noqa
    assert ids(OWNER) == {mine["id"]} and ids(FINANCE) == {mine["id"]} and ids(OTHER_FINANCE) == {theirs["id"]}
    assert ids(ADMIN) == {mine["id"], theirs["id"]}
    pay = _pay(db, mine["id"], "5.00")
    assert [p["id"] for p in payments.list_payments(db.uow(), FINANCE, {"status": "pending_review"})["items"]] == [
        pay["id"]]
    assert payments.list_payments(db.uow(), OTHER_FINANCE, {})["items"] == []


def test_a_payment_in_the_future_or_of_an_unknown_instalment_is_refused(db):
    receivable = open_receivable(db)
    with pytest.raises(ValidationFailed):
        payments.submit_payment(db.uow(), OWNER, {"receivable_id": receivable["id"], "amount": "1.00",
                                                  "paid_at": "2999-01-01T00:00:00+00:00", "method": "cash",
                                                  "reviewer_id": "fin-1"})
    with pytest.raises(ValidationFailed) as err:
        _pay(db, receivable["id"], "1.00", instalment_id="nope")
    assert "instalment_id" in err.value.errors
    with pytest.raises(ValidationFailed):
        payments.submit_payment(db.uow(), OWNER, {"receivable_id": receivable["id"], "amount": "1.001",
                                                  "paid_at": paid_at(), "method": "wire", "reviewer_id": "fin-1"})


def test_finance_does_not_confirm_a_payment_it_recorded_itself(db):
    """Four eyes: another finance user (or an admin) confirms it; rejecting one's own entry is allowed."""
    receivable = open_receivable(db)
    colleague = type(FINANCE)("fin-3", "finance", "d1", ("d1", "d1a"))
    own = _pay(db, receivable["id"], "100.00", principal=FINANCE)
    with pytest.raises(Forbidden) as refused:
        payments.confirm_payment(db.uow(), FINANCE, own["id"])
    assert refused.value.extra["reason"] == "own_entry" and "someone else" in str(refused.value)
    assert payments.get_payment(db.uow(), FINANCE, own["id"])["status"] == "pending_review"   # nothing moved
    assert payments.confirm_payment(db.uow(), colleague, own["id"])["status"] == "confirmed"
    mistake = _pay(db, receivable["id"], "50.00", principal=FINANCE)
    assert payments.reject_payment(db.uow(), FINANCE, mistake["id"], "Typed twice")["status"] == "rejected"
    by_admin = _pay(db, receivable["id"], "20.00", principal=ADMIN)
    assert payments.confirm_payment(db.uow(), ADMIN, by_admin["id"])["status"] == "confirmed"
