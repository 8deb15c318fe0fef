"""Billing and sales' orders beyond opening and closing, on SQLite through the use cases: a plan
prepared on the order arrives with ``order_approved`` and is the receivable's live plan (audited
``from_order``; one that does not add up is left out, audited); ``order_owner_changed`` moves the
order's receivable being collected, and its payments awaiting review, to the new owner --
idempotently, and the newest change wins whatever the order they are heard in."""
from __future__ import annotations

from services.billing.application import order_events, payments, receivables
from services.billing.events.consumed_orders import OrderOwnerChanged
from tests.unit.billing.support import ADMIN, FINANCE, OWNER, events, open_receivable, order_event, paid_at

PLAN = [{"number": 1, "amount": "400.00", "due_date": "2026-04-01", "remind_days_before": 5},
        {"number": 2, "amount": "600.00", "due_date": "2026-06-01", "remind_days_before": 3}]
NEW_OWNER, NEW_DEPT = "owner-2", "d1b"


def _history(db, receivable_id) -> list[dict]:
    return receivables.receivable_history(db.uow(), ADMIN, receivable_id)["items"]


def test_an_order_approved_with_a_plan_opens_the_receivable_with_it_live(db):
    receivable = open_receivable(db, total="1000.00", payment_plan=PLAN)
    got = receivables.get_receivable(db.uow(), OWNER, receivable["id"])
    assert (got["plan_revision"], got["due_date"], got["terms_due_date"]) == (1, "2026-06-01", "2026-04-01")
    assert [(i["number"], i["amount"], i["due_date"], i["remind_days_before"], i["status"])
            for i in got["instalments"]] == [(1, "400.00", "2026-04-01", 5, "pending"),
                                             (2, "600.00", "2026-06-01", 3, "pending")]
    [opened] = events(db, "receivable_opened")
    assert opened["due_date"] == "2026-06-01"
    [plan] = [e for e in _history(db, receivable["id"]) if e["action"] == "plan"]
    assert plan["changes"]["plan_origin"] == [None, "from_order"]
    assert plan["changes"]["plan"][1]["order_id"] == receivable["order_id"]
    # payments fill it as any plan
    pay = payments.submit_payment(db.uow(), OWNER, {
        "receivable_id": receivable["id"], "amount": "500.00", "paid_at": paid_at(), "method": "cash",
        "reviewer_id": FINANCE.user_id})
    payments.confirm_payment(db.uow(), FINANCE, pay["id"])
    got = receivables.get_receivable(db.uow(), OWNER, receivable["id"])
    assert [(i["paid_amount"], i["status"]) for i in got["instalments"]] == [("400.00", "paid"),
                                                                             ("100.00", "partly_paid")]


def test_a_plan_that_does_not_add_up_is_left_out_and_audited(db):
    receivable = open_receivable(db, total="1200.00", payment_plan=PLAN)
    got = receivables.get_receivable(db.uow(), OWNER, receivable["id"])
    assert (got["plan_revision"], got["instalments"], got["due_date"]) == (0, [], "2026-04-01")
    [refused] = [e for e in _history(db, receivable["id"]) if e["action"] == "plan_refused"]
    assert "200.00 CNY less" in refused["changes"]["plan_refused"][1]["reason"]


def test_without_a_plan_nothing_changes(db):
    receivable = open_receivable(db, payment_plan=None)
    assert (receivable["plan_revision"], receivable["due_date"]) == (0, "2026-04-01")


def _owner_changed(db, order_id, owner_id, at, department_id=NEW_DEPT, previous=OWNER.user_id):
    envelope = order_event(event_type="order_owner_changed", id=order_id, owner_id=owner_id,
                           department_id=department_id, previous_owner_id=previous, occurred_at=at)
    return db.handle(order_events.record_order_owner_changed, envelope, OrderOwnerChanged,
                     "billing.handle_order_owner_changed")


def _submit(db, receivable_id, amount="100.00") -> dict:
    return payments.submit_payment(db.uow(), OWNER, {
        "receivable_id": receivable_id, "amount": amount, "paid_at": paid_at(), "method": "cash",
        "reviewer_id": FINANCE.user_id})


def test_the_receivable_being_collected_follows_the_orders_new_owner(db):
    receivable = open_receivable(db)
    confirmed = _submit(db, receivable["id"], "300.00")
    payments.confirm_payment(db.uow(), FINANCE, confirmed["id"])
    pending = _submit(db, receivable["id"])
    moved = _owner_changed(db, receivable["order_id"], NEW_OWNER, "2026-03-03T09:00:00+00:00")
    assert moved == {"receivables": 1, "payments": 1}
    got = receivables.get_receivable(db.uow(), ADMIN, receivable["id"])
    assert (got["owner_id"], got["department_id"], got["status"], got["paid_amount"], got["pending_amount"]) == (
        NEW_OWNER, NEW_DEPT, "partially_paid", "300.00", "100.00")
    assert payments.get_payment(db.uow(), ADMIN, pending["id"])["owner_id"] == NEW_OWNER
    assert payments.get_payment(db.uow(), ADMIN, confirmed["id"])["owner_id"] == OWNER.user_id   # reviewed: stays
    assert "order_owner_changed" in {e["action"] for e in _history(db, receivable["id"])}
    # the same change again (another delivery): nothing moves
    assert _owner_changed(db, receivable["order_id"], NEW_OWNER, "2026-03-03T09:00:00+00:00") == {}


def test_an_older_change_heard_after_a_newer_one_does_not_win(db):
    receivable = open_receivable(db)
    _owner_changed(db, receivable["order_id"], "owner-3", "2026-03-05T09:00:00+00:00", department_id="d3")
    assert _owner_changed(db, receivable["order_id"], NEW_OWNER, "2026-03-04T09:00:00+00:00") == {}
    got = receivables.get_receivable(db.uow(), ADMIN, receivable["id"])
    assert (got["owner_id"], got["department_id"]) == ("owner-3", "d3")
    [ignored] = [e for e in _history(db, receivable["id"]) if e["action"] == "order_owner_change_ignored"]
    assert ignored["changes"]["order_owner_changed"][1]["rule"] == "older_than_heard"


def test_a_change_heard_before_the_approval_is_applied_when_the_receivable_opens(db):
    order_id = "order-early"
    assert _owner_changed(db, order_id, NEW_OWNER, "2026-03-03T09:00:00+00:00") == {}   # no receivable yet
    receivable = open_receivable(db, id=order_id)             # approved on 2026-03-02, its owner then OWNER
    assert (receivable["owner_id"], receivable["department_id"]) == (NEW_OWNER, NEW_DEPT)
    # a change older than the approval, heard late, does not win over the approval's owner
    other = open_receivable(db, id="order-late")
    _owner_changed(db, "order-late", NEW_OWNER, "2026-03-01T09:00:00+00:00")
    assert receivables.get_receivable(db.uow(), ADMIN, other["id"])["owner_id"] == OWNER.user_id


def test_paid_written_off_and_closed_receivables_stay(db):
    paid = open_receivable(db, total="100.00")
    payments.confirm_payment(db.uow(), FINANCE, _submit(db, paid["id"])["id"])
    written_off = open_receivable(db)
    receivables.write_off_receivable(db.uow(), FINANCE, written_off["id"], "Customer bankrupt")
    for receivable in (paid, written_off):
        assert _owner_changed(db, receivable["order_id"], NEW_OWNER, "2026-03-03T09:00:00+00:00") == {}
        got = receivables.get_receivable(db.uow(), ADMIN, receivable["id"])
        assert got["owner_id"] == OWNER.user_id and got["status"] in ("paid", "written_off")
