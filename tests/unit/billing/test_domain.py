"""Billing's rules as tables, without a database: the receivable's and the payment's state machines,
the plan's rules (adding up, stating the difference), the overpayment refusal, the allocation of
payments over a plan, and the timers' rules (overdue, reminders)."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal as D

import pytest

from crm_kit.context import Principal
from crm_kit.errors import Forbidden, InvalidState, LimitExceeded, ValidationFailed
from services.billing.domain import overdue, payments, plans, receivables, review
from services.billing.domain.ledger import Book, Entry, Term

UTC = dt.timezone.utc


@pytest.mark.parametrize("amount, paid, overdue_marked, final, expected", [
    ("100.00", "0.00", False, None, "open"),
    ("100.00", "0.01", False, None, "partially_paid"),
    ("100.00", "100.00", False, None, "paid"),
    ("100.00", "40.00", True, None, "overdue"),
    ("100.00", "0.00", True, None, "overdue"),
    ("100.00", "100.00", True, None, "paid"),           # paid in full beats overdue
    ("100.00", "40.00", False, "written_off", "written_off"),
    ("100.00", "0.00", False, "closed", "closed"),
    ("0.00", "0.00", False, None, "paid"),
])
def test_the_receivable_status_follows_the_money(amount, paid, overdue_marked, final, expected):
    assert receivables.status_of(D(amount), D(paid), overdue_marked, final) == expected


@pytest.mark.parametrize("action, status, allowed", [
    ("submit_payment", "open", True), ("submit_payment", "overdue", True), ("submit_payment", "paid", False),
    ("submit_payment", "written_off", False), ("submit_payment", "closed", False),
    ("plan", "partially_paid", True), ("plan", "paid", False),
    ("write_off", "overdue", True), ("write_off", "paid", False), ("write_off", "closed", False),
    ("close", "open", True), ("close", "overdue", True), ("close", "partially_paid", False),
    ("mark_overdue", "open", True), ("mark_overdue", "partially_paid", True), ("mark_overdue", "overdue", False),
    ("refund", "paid", True), ("refund", "written_off", True), ("refund", "closed", False),
])
def test_receivable_actions_by_status(action, status, allowed):
    if allowed:
        receivables.check(action, status)
    else:
        with pytest.raises(InvalidState) as err:
            receivables.check(action, status)
        assert err.value.extra["current_state"] == status


@pytest.mark.parametrize("action, status, expected", [
    ("confirm", "pending_review", "confirmed"), ("reject", "pending_review", "rejected"),
    ("refund", "confirmed", "reversed"),
    ("confirm", "confirmed", None), ("confirm", "rejected", None), ("reject", "confirmed", None),
    ("refund", "pending_review", None), ("refund", "reversed", None), ("confirm", "reversed", None),
])
def test_payment_state_machine(action, status, expected):
    if expected:
        assert payments.check(action, status) == expected
    else:
        with pytest.raises(InvalidState):
            payments.check(action, status)


@pytest.mark.parametrize("amount, outstanding, pending, refused, message", [
    ("100.00", "100.00", "0.00", False, None),
    ("100.01", "100.00", "0.00", True, "The payment of 100.01 CNY is above the outstanding amount of 100.00 CNY."),
    ("60.00", "100.00", "50.00", True,
     "The payment of 60.00 CNY is above the outstanding amount of 100.00 CNY "
     "(50.00 CNY of it already awaits review, so at most 50.00 CNY may be submitted)."),
    ("50.00", "100.00", "50.00", False, None),
])
def test_a_payment_above_the_outstanding_amount_is_refused_saying_it(amount, outstanding, pending, refused, message):
    if not refused:
        payments.check_not_above(D(amount), D(outstanding), D(pending), "CNY")
        return
    with pytest.raises(LimitExceeded) as err:
        payments.check_not_above(D(amount), D(outstanding), D(pending), "CNY")
    assert err.value.detail == message
    assert err.value.public_extra() == {"limit": "outstanding_amount", "max": str(D(outstanding) - D(pending)),
                                        "current": amount}


def _items(*pairs):
    return [{"amount": D(a), "due_date": dt.date.fromisoformat(d)} for a, d in pairs]


@pytest.mark.parametrize("items, total, message", [
    (_items(("600.00", "2026-04-01"), ("400.00", "2026-05-01")), "1000.00", None),
    (_items(("600.00", "2026-04-01"), ("300.00", "2026-05-01")), "1000.00",
     "The instalments add up to 900.00 CNY, the receivable is 1000.00 CNY: 100.00 CNY less."),
    (_items(("600.00", "2026-04-01"), ("400.01", "2026-05-01")), "1000.00",
     "The instalments add up to 1000.01 CNY, the receivable is 1000.00 CNY: 0.01 CNY more."),
])
def test_a_plan_adds_up_to_the_receivable_or_is_refused_stating_the_difference(items, total, message):
    if message is None:
        out = plans.numbered(items, D(total), "CNY")
        assert [(i["number"], i["remind_days_before"]) for i in out] == [(1, 3), (2, 3)]
        return
    with pytest.raises(ValidationFailed) as err:
        plans.numbered(items, D(total), "CNY")
    assert err.value.detail == message
    assert "difference" in err.value.errors["instalments"][0]


def test_a_plan_is_numbered_by_due_date_and_refuses_nothing_or_non_positive_amounts():
    out = plans.numbered(_items(("300.00", "2026-06-01"), ("700.00", "2026-04-01")), D("1000.00"))
    assert [(i["number"], str(i["amount"])) for i in out] == [(1, "700.00"), (2, "300.00")]
    with pytest.raises(ValidationFailed):
        plans.numbered([], D("1.00"))
    with pytest.raises(ValidationFailed) as err:
        plans.numbered(_items(("0.00", "2026-04-01"), ("1.00", "2026-05-01")), D("1.00"))
    assert "instalments.0.amount" in err.value.errors


@pytest.mark.parametrize("amount, paid, overdue_marked, void, expected", [
    ("100.00", "0.00", False, False, "pending"), ("100.00", "10.00", False, False, "partly_paid"),
    ("100.00", "100.00", False, False, "paid"), ("100.00", "10.00", True, False, "overdue"),
    ("100.00", "100.00", True, True, "paid"), ("100.00", "10.00", True, True, "void"),
])
def test_instalment_status(amount, paid, overdue_marked, void, expected):
    assert plans.instalment_status(D(amount), D(paid), overdue_marked, void) == expected


def _book(*payments_, terms=(("a", "600.00"), ("b", "400.00"))):
    book = Book(D("1000.00"), terms=[Term(t, n, D(a), dt.date(2026, n, 1)) for n, (t, a) in enumerate(terms, 1)])
    for pid, amount, status, instalment in payments_:
        book.entries[pid] = Entry(pid, D(amount), status, instalment)
    return book


@pytest.mark.parametrize("entries, expected", [
    ([("p1", "500.00", "confirmed", None)], {"a": "500.00", "b": "0.00"}),
    ([("p1", "700.00", "confirmed", None)], {"a": "600.00", "b": "100.00"}),
    ([("p1", "300.00", "confirmed", "b")], {"a": "0.00", "b": "300.00"}),
    ([("p1", "500.00", "confirmed", "b")], {"a": "100.00", "b": "400.00"}),     # the rest fills in order
    ([("p1", "300.00", "confirmed", "b"), ("p2", "300.00", "confirmed", None)], {"a": "300.00", "b": "300.00"}),
    ([("p1", "300.00", "reversed", None), ("p2", "100.00", "pending_review", None)], {"a": "0.00", "b": "0.00"}),
    ([("p1", "300.00", "confirmed", "gone")], {"a": "300.00", "b": "0.00"}),   # an old plan's instalment
])
def test_payments_are_allocated_over_the_plan(entries, expected):
    book = _book(*entries)
    assert {k: str(v) for k, v in book.allocation().items()} == expected
    assert sum(book.allocation().values()) == book.paid


def test_the_book_refuses_what_the_rules_refuse():
    book = _book(("p1", "900.00", "confirmed", None))
    with pytest.raises(LimitExceeded):
        book.submit("p2", D("100.01"))
    book.submit("p2", D("60.00"))
    with pytest.raises(LimitExceeded):
        book.submit("p3", D("40.01"))               # 60.00 already awaits review
    with pytest.raises(ValidationFailed):
        book.submit("p3", D("1.00"), "no-such-instalment")
    with pytest.raises(InvalidState):
        book.write_off()                            # a payment awaits review
    with pytest.raises(InvalidState):
        book.close()                                # something is paid
    book.confirm("p2")
    assert (book.paid, book.outstanding, book.status) == (D("960.00"), D("40.00"), "partially_paid")
    book.reverse("p1")
    assert (book.paid, book.outstanding, book.status) == (D("60.00"), D("940.00"), "partially_paid")
    with pytest.raises(InvalidState):
        book.reverse("p1")                          # a refund happens once


@pytest.mark.parametrize("status, due, as_of, instalments, expected", [
    ("open", "2026-04-01", "2026-04-01T23:59:00", [], None),
    ("open", "2026-04-01", "2026-04-02T00:00:00", [], ("due_date_passed", 1)),
    ("partially_paid", "2026-04-01", "2026-04-11T08:00:00", [], ("due_date_passed", 10)),
    ("paid", "2026-04-01", "2026-04-11T08:00:00", [], None),
    ("overdue", "2026-04-01", "2026-04-11T08:00:00", [], None),
    ("open", None, "2030-01-01T00:00:00", [], None),
    ("open", "2026-06-01", "2026-04-11T08:00:00", [("2026-04-01", 1)], ("instalment_overdue", 10)),
])
def test_the_overdue_rule(status, due, as_of, instalments, expected):
    when = dt.datetime.fromisoformat(as_of).replace(tzinfo=UTC)
    fired_instalments = [overdue.Fired(overdue.INSTALMENT_DUE_DATE_PASSED, dt.date.fromisoformat(d), when, 0, n)
                         for d, n in instalments]
    fired = overdue.receivable_overdue(status, due and dt.date.fromisoformat(due), when, fired_instalments)
    assert (fired and (fired.rule, fired.days)) == expected
    if fired:
        assert fired.applied()["as_of"] == when.isoformat()


@pytest.mark.parametrize("status, due, days, reminded, today, expected", [
    ("pending", "2026-04-10", 3, False, "2026-04-06", None),
    ("pending", "2026-04-10", 3, False, "2026-04-07", 3),
    ("partly_paid", "2026-04-10", 3, False, "2026-04-10", 0),
    ("pending", "2026-04-10", 3, False, "2026-04-11", None),       # past due: the overdue rule's
    ("pending", "2026-04-10", 3, True, "2026-04-08", None),        # once
    ("paid", "2026-04-10", 3, False, "2026-04-08", None),
    ("pending", "2026-04-10", 0, False, "2026-04-10", 0),
])
def test_the_instalment_reminder_rule(status, due, days, reminded, today, expected):
    when = dt.datetime.fromisoformat(today + "T01:00:00").replace(tzinfo=UTC)
    fired = overdue.reminder(status, dt.date.fromisoformat(due), days, reminded, 1, when)
    assert (fired and fired.days) == expected if expected is not None else fired is None


FIN = Principal("fin-1", "finance", "d1", ("d1", "d1a"))


@pytest.mark.parametrize("principal, department, allowed", [
    (Principal("admin", "admin"), "d9", True), (Principal.system(), None, True),
    (FIN, "d1a", True), (FIN, "d2", False), (FIN, None, False),
    (Principal("mgr", "manager", "d1", ("d1", "d1a")), "d1a", False),
    (Principal("m", "member", "d1a", ("d1a",)), "d1a", False),
])
def test_who_reviews(principal, department, allowed):
    assert review.may_review(principal, department) is allowed
    if not allowed:
        with pytest.raises(Forbidden):
            review.require_review(principal, department, "confirm", "payment")
