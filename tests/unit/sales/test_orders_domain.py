"""The order's rules (``services.sales.domain.orders``, ``domain.numbering``) as tables: the state
machine with its fulfilment phases, what a PATCH may change in each state, the due date, the
discount the approval flows judge, and the late-delivery rule."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from crm_kit.errors import InvalidState
from services.sales.domain import numbering
from services.sales.domain import orders as rules

UTC = dt.timezone.utc
T = dt.datetime(2026, 3, 10, 9, tzinfo=UTC)
D, P, A, R, C = rules.DRAFT, rules.PENDING, rules.APPROVED, rules.REJECTED, rules.CANCELLED
S, DL = T, T   # shipped_at / delivered_at set

# (action, status, shipped_at, delivered_at, paid) -> the status after, or the state named in the 409
CASES = [
    ("edit", D, None, None, 0, D), ("edit", R, None, None, 0, R),
    ("edit", P, None, None, 0, "!pending_approval"), ("edit", A, None, None, 0, "!approved"),
    ("edit", C, None, None, 0, "!cancelled"),
    ("submit", D, None, None, 0, P), ("submit", R, None, None, 0, P),
    ("submit", P, None, None, 0, "!pending_approval"), ("submit", A, None, None, 0, "!approved"),
    ("submit", C, None, None, 0, "!cancelled"),
    ("approve", P, None, None, 0, A), ("approve", D, None, None, 0, "!draft"),        # no approval without submit
    ("approve", A, None, None, 0, "!approved"), ("approve", R, None, None, 0, "!rejected"),
    ("reject", P, None, None, 0, R), ("reject", D, None, None, 0, "!draft"),
    ("withdraw", P, None, None, 0, D), ("withdraw", D, None, None, 0, "!draft"),
    ("withdraw", A, None, None, 0, "!approved"),
    ("cancel", D, None, None, 0, C), ("cancel", R, None, None, 0, C), ("cancel", A, None, None, 0, C),
    ("cancel", A, None, None, Decimal("0.01"), "!approved (paid)"),                     # something paid
    ("cancel", A, S, None, 0, "!approved (shipped)"), ("cancel", P, None, None, 0, "!pending_approval"),
    ("cancel", C, None, None, 0, "!cancelled"),
    ("ship", A, None, None, 0, A), ("ship", A, S, None, 0, "!approved (shipped)"),
    ("ship", D, None, None, 0, "!draft"), ("ship", P, None, None, 0, "!pending_approval"),
    ("ship", C, None, None, 0, "!cancelled"),
    ("deliver", A, S, None, 0, A), ("deliver", A, None, None, 0, "!approved"),            # not shipped yet
    ("deliver", A, S, DL, 0, "!approved (delivered)"), ("deliver", D, None, None, 0, "!draft"),
    ("promise", A, None, None, 0, A), ("promise", A, S, None, 0, A),
    ("promise", A, S, DL, 0, "!approved (delivered)"), ("promise", C, None, None, 0, "!cancelled"),
    *[("copy", status, None, None, 0, status) for status in rules.STATUSES],
    *[("transfer", status, None, None, 0, status) for status in rules.STATUSES],
]


@pytest.mark.parametrize("action, status, shipped, delivered, paid, expected", CASES)
def test_state_machine(action, status, shipped, delivered, paid, expected):
    if expected.startswith("!"):
        with pytest.raises(InvalidState) as exc:
            rules.check(action, status, shipped, delivered, Decimal(paid))
        assert exc.value.extra == {"action": action, "current_state": expected[1:]}
        assert expected[1:] in exc.value.detail
    else:
        assert rules.check(action, status, shipped, delivered, Decimal(paid)) == expected


@pytest.mark.parametrize("status, shipped, delivered, expected", [
    (D, None, None, None), (A, None, None, "to_ship"), (A, S, None, "shipped"), (A, S, DL, "delivered"),
    (C, None, None, None),
])
def test_phase(status, shipped, delivered, expected):
    assert rules.phase(status, shipped, delivered) == expected


@pytest.mark.parametrize("status, fields, refused", [
    (D, ["lines", "notes"], None),
    (R, ["discount_percent"], None),
    (A, ["promised_date"], None),                       # the one fulfilment field
    (A, ["promised_date", "notes"], "approved"),        # an approved order is immutable
    (A, ["lines"], "approved"),
    (A, ["discount_percent"], "approved"),
    (P, ["promised_date"], "pending_approval"),
    (C, ["promised_date"], "cancelled"),
])
def test_what_a_patch_may_change(status, fields, refused):
    if refused is None:
        rules.check_edit(status, fields)
    else:
        with pytest.raises(InvalidState) as exc:
            rules.check_edit(status, fields)
        assert exc.value.extra["current_state"] == refused


def test_allowed_actions():
    assert rules.allowed_actions(D) == ["edit", "submit", "cancel", "promise", "copy", "transfer"]
    assert rules.allowed_actions(P) == ["approve", "reject", "withdraw", "copy", "transfer"]
    assert rules.allowed_actions(A) == ["cancel", "ship", "promise", "copy", "transfer"]
    assert rules.allowed_actions(A, paid_amount=Decimal(5)) == ["ship", "promise", "copy", "transfer"]
    assert rules.allowed_actions(A, S, DL) == ["copy", "transfer"]


@pytest.mark.parametrize("approved_on, days, expected", [
    (dt.date(2026, 1, 31), 30, dt.date(2026, 3, 2)), (dt.date(2026, 1, 31), 0, dt.date(2026, 1, 31)),
    (None, 30, None), (dt.date(2026, 1, 31), None, None),
])
def test_due_date(approved_on, days, expected):
    assert rules.due_date(approved_on, days) == expected


@pytest.mark.parametrize("gross, total, lines, order, expected", [
    ("100.00", "90.00", [], "10", "10.00"),
    ("100.00", "81.00", ["10"], "10", "19.00"),                # line and order discounts together
    ("1000.00", "990.00", ["50"], "0", "50.00"),              # one deep line discount counts
    ("0", "0", [], "0", "0.00"),
])
def test_effective_discount(gross, total, lines, order, expected):
    assert rules.effective_discount_percent(Decimal(gross), Decimal(total), [Decimal(x) for x in lines],
                                            Decimal(order)) == Decimal(expected)


PROMISED = dt.date(2026, 3, 10)


@pytest.mark.parametrize("status, promised, delivered, notified, as_of, days", [
    (A, PROMISED, None, None, dt.datetime(2026, 3, 10, 23, 59, tzinfo=UTC), None),   # the promised day itself
    (A, PROMISED, None, None, dt.datetime(2026, 3, 11, 0, 0, tzinfo=UTC), 1),
    (A, PROMISED, None, None, dt.datetime(2026, 3, 13, 8, tzinfo=UTC), 3),
    (A, PROMISED, None, None, dt.datetime(2026, 3, 11, 7, tzinfo=dt.timezone(dt.timedelta(hours=8))), None),
    (A, PROMISED, T, None, dt.datetime(2026, 3, 20, tzinfo=UTC), None),              # delivered
    (A, PROMISED, None, T, dt.datetime(2026, 3, 20, tzinfo=UTC), None),              # reported once
    (A, None, None, None, dt.datetime(2026, 3, 20, tzinfo=UTC), None),               # nothing promised
    (C, PROMISED, None, None, dt.datetime(2026, 3, 20, tzinfo=UTC), None),
    (D, PROMISED, None, None, dt.datetime(2026, 3, 20, tzinfo=UTC), None),
])
def test_lateness(status, promised, delivered, notified, as_of, days):
    late = rules.lateness(status, promised, delivered, notified, as_of)
    if days is None:
        assert late is None
    else:
        assert late.days_late == days
        assert late.applied() == {"rule": "promised_date_passed", "promised_date": "2026-03-10",
                                  "as_of": as_of.isoformat(), "days_late": days}


@pytest.mark.parametrize("prefix, year, value, expected", [
    ("SO", 2026, 1, "SO-2026-000001"), ("SO", 2026, 123, "SO-2026-000123"),
    ("SO", 2026, 999999, "SO-2026-999999"), ("SO", 2026, 1000000, "SO-2026-1000000"),
    ("QT", 2027, 42, "QT-2027-000042"),
])
def test_numbers(prefix, year, value, expected):
    assert numbering.format_number(prefix, year, value) == expected
    assert numbering.parse_number(expected) == (prefix, year, value)


@pytest.mark.parametrize("prefix, year, value", [("so", 2026, 1), ("SO", 2026, 0), ("SO", 26, 1), ("", 2026, 1)])
def test_bad_numbers(prefix, year, value):
    with pytest.raises(ValueError):
        numbering.format_number(prefix, year, value)


def test_parse_other_text():
    assert numbering.parse_number("SO-2026-12") is None and numbering.parse_number("") is None
