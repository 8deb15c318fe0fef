"""The payment plan prepared on an order (``domain.payment_plans``), table-tested without a database:
each instalment's shape, percents resolved to amounts (the rounding remainder on the last one), the
plan adding up to the order's total (422 stating the difference), due dates resolved at approval
and numbered by due date, the plan's status following the order's."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from crm_kit.errors import ValidationFailed
from services.sales.domain import payment_plans as rules

D = Decimal
APPROVED_ON = dt.date(2026, 3, 2)


@pytest.mark.parametrize("items, error_key", [
    ([{"due_days": 10}], "payment_plan.0"),                                              # no amount nor percent
    ([{"amount": "10", "percent": "10", "due_days": 10}], "payment_plan.0"),              # both
    ([{"amount": "10"}], "payment_plan.0"),                                               # no due date nor days
    ([{"amount": "10", "due_days": 1, "due_date": "2026-04-01"}], "payment_plan.0"),      # both
    ([{"amount": "0", "due_days": 1}], "payment_plan.0.amount"),
    ([{"percent": "100.01", "due_days": 1}], "payment_plan.0.percent"),
    ([{"amount": "1", "due_days": 1}] * 121, "payment_plan"),
])
def test_each_instalment_names_one_amount_and_one_due_date(items, error_key):
    with pytest.raises(ValidationFailed) as err:
        rules.normalized(items)
    assert error_key in err.value.extra["errors"]


@pytest.mark.parametrize("items, expected", [
    (None, None),
    ([], None),
    ([{"amount": D("500"), "due_date": dt.date(2026, 4, 1)}],
     [{"amount": "500.00", "percent": None, "due_date": "2026-04-01", "due_days": None, "remind_days_before": 3}]),
    ([{"percent": D("30"), "due_days": 10, "remind_days_before": 0}],
     [{"amount": None, "percent": "30.00", "due_date": None, "due_days": 10, "remind_days_before": 0}]),
])
def test_normalized_is_what_the_order_stores(items, expected):
    assert rules.normalized(items) == expected


@pytest.mark.parametrize("plan, total, amounts", [
    ([{"amount": "400.00"}, {"amount": "600.00"}], "1000.00", ["400.00", "600.00"]),
    ([{"percent": "30.00"}, {"percent": "70.00"}], "1000.00", ["300.00", "700.00"]),
    ([{"percent": "50.00"}, {"percent": "50.00"}], "0.01", ["0.01", "0.00"]),          # 0.005 half up, remainder
    ([{"percent": "33.33"}, {"percent": "33.33"}, {"percent": "33.34"}], "100.00", ["33.33", "33.33", "33.34"]),
    ([{"percent": "33.33"}, {"percent": "33.33"}, {"percent": "33.34"}], "0.10", ["0.03", "0.03", "0.04"]),
    ([{"amount": "100.00"}, {"percent": "50.00"}], "200.00", ["100.00", "100.00"]),
    ([{"percent": "50.00"}], "99.99", ["50.00"]),                                         # half: no remainder taken
])
def test_percents_resolve_to_amounts(plan, total, amounts):
    assert [str(a) for a in rules.amounts(plan, D(total))] == amounts


@pytest.mark.parametrize("plan, total, message", [
    ([{"amount": "600.00"}, {"amount": "300.00"}], "1000.00",
     "The instalments add up to 900.00 CNY, the order is 1000.00 CNY: 100.00 CNY less."),
    ([{"amount": "600.00"}, {"amount": "500.00"}], "1000.00",
     "The instalments add up to 1100.00 CNY, the order is 1000.00 CNY: 100.00 CNY more."),
    ([{"percent": "50.00"}, {"amount": "400.00"}], "1000.00",
     "The instalments add up to 900.00 CNY, the order is 1000.00 CNY: 100.00 CNY less."),
    ([{"percent": "60.00"}, {"percent": "60.00"}], "10.00",
     "The instalments add up to 12.00 CNY, the order is 10.00 CNY: 2.00 CNY more."),
    ([{"amount": "100.00"}, {"percent": "50.00"}, {"percent": "50.00"}], "100.00",    # percents on top of an amount
     "The instalments add up to 200.00 CNY, the order is 100.00 CNY: 100.00 CNY more."),
])
def test_a_plan_that_does_not_add_up_is_refused_stating_the_difference(plan, total, message):
    with pytest.raises(ValidationFailed) as err:
        rules.check_adds_up(plan, D(total), "CNY")
    assert err.value.detail == message
    assert "payment_plan" in err.value.extra["errors"]


@pytest.mark.parametrize("plan, total", [
    (None, "1000.00"),
    ([{"amount": "1000.00"}], "1000.00"),
    ([{"percent": "50.00"}, {"percent": "50.00"}], "0.01"),
])
def test_plans_that_add_up(plan, total):
    rules.check_adds_up(plan, D(total), "CNY")
    assert rules.adds_up(plan, D(total)) is bool(plan)


def test_resolved_at_approval_numbered_by_due_date():
    plan = rules.normalized([{"amount": "600.00", "due_date": "2026-05-01"},
                             {"percent": "40", "due_days": 10, "remind_days_before": 5}])
    assert rules.resolved(plan, D("1000.00"), APPROVED_ON) == [
        {"number": 1, "amount": D("400.00"), "due_date": dt.date(2026, 3, 12), "remind_days_before": 5},
        {"number": 2, "amount": D("600.00"), "due_date": dt.date(2026, 5, 1), "remind_days_before": 3}]
    # before the approval a due_days instalment has no date yet: after the dated ones
    before = rules.resolved(plan, D("1000.00"), None)
    assert [(i["number"], i["due_date"]) for i in before] == [(1, dt.date(2026, 5, 1)), (2, None)]
    assert rules.resolved(None, D("1"), APPROVED_ON) is None


@pytest.mark.parametrize("order_status, plan, status", [
    ("draft", [{}], "prepared"),
    ("pending_approval", [{}], "prepared"),
    ("approved", [{}], "live"),
    ("rejected", [{}], "void"),
    ("cancelled", [{}], "void"),
    ("approved", None, None),
    ("draft", [], None),
])
def test_the_plan_status_follows_the_order(order_status, plan, status):
    assert rules.status_of(order_status, plan) == status
