"""The holding caps (``services.customers.domain.holding_caps``), table-driven: which cap applies
(department, role, default, none), the cap and the locked cap at their boundaries, deal customers
counted or not, and what a list of caps may not hold."""
from __future__ import annotations

import pytest

from crm_kit.errors import LimitExceeded
from services.customers.domain import holding_caps as hc

CAPS = [
    {"max_held": 100, "max_locked": 10},                                   # the default
    {"role": "member", "max_held": 50, "count_deals": False},
    {"role": "manager", "max_held": 200},
    {"department_id": "d-sales", "max_held": 20, "max_locked": 2},
]

# (department, role) -> (applies_by, key, max_held, max_locked, count_deals)
WHICH = {
    "department first, over the role": (("d-sales", "member"), ("department", "d-sales", 20, 2, True)),
    "the role's when the department has none": (("d-other", "member"), ("role", "member", 50, None, False)),
    "the default when neither has one": (("d-other", "admin"), ("default", None, 100, 10, True)),
    "role unknown: department's": (("d-sales", None), ("department", "d-sales", 20, 2, True)),
    "role unknown: the default, never a role's": (("d-other", None), ("default", None, 100, 10, True)),
    "nothing known: the default": ((None, None), ("default", None, 100, 10, True)),
}


@pytest.mark.parametrize("name", WHICH)
def test_the_most_specific_cap_applies(name):
    (department, role), expected = WHICH[name]
    cap = hc.cap_for(CAPS, department, role)
    assert (cap.applies_by, cap.key, cap.max_held, cap.max_locked, cap.count_deals) == expected


@pytest.mark.parametrize("caps", [[], None, [{"role": "manager", "max_held": 1}]])
def test_no_cap_applies(caps):
    assert hc.cap_for(caps, "d1", "member") is None
    hc.check_holding_cap(None, 10**6, "u1")
    hc.check_locked_cap(None, 10**6, "u1")


# (cap entry, held) -> refused?
HELD = {
    "one below": ({"max_held": 3}, 2, False),
    "reached": ({"max_held": 3}, 3, True),
    "over (settings lowered)": ({"max_held": 3}, 7, True),
    "zero: none": ({"max_held": 0}, 0, True),
    "null: no cap": ({"max_held": None}, 10**6, False),
}


@pytest.mark.parametrize("name", HELD)
def test_holding_cap(name):
    entry, held, refused = HELD[name]
    cap = hc.cap_for([entry], None, None)
    if not refused:
        hc.check_holding_cap(cap, held, "u1")
        return
    with pytest.raises(LimitExceeded) as exc:
        hc.check_holding_cap(cap, held, "u1")
    assert exc.value.extra == {"limit": "holding_cap", "max": entry["max_held"], "current": held}
    assert "holding_cap" in exc.value.detail and "the default cap" in exc.value.detail
    assert "available_at" not in exc.value.extra                # not a matter of time


def test_the_refusal_says_deals_were_not_counted_and_whose_cap():
    cap = hc.cap_for(CAPS, "d-x", "member")
    with pytest.raises(LimitExceeded) as exc:
        hc.check_holding_cap(cap, 50, "u1")
    assert "deal customers not counted" in exc.value.detail and "role member" in exc.value.detail


LOCKED = {
    "one below": (2, 1, False),
    "reached": (2, 2, True),
    "null: no cap": (None, 99, False),
}


@pytest.mark.parametrize("name", LOCKED)
def test_locked_cap(name):
    maximum, locked, refused = LOCKED[name]
    cap = hc.cap_for([{"max_held": None, "max_locked": maximum}], None, None)
    if not refused:
        hc.check_locked_cap(cap, locked, "u1")
        return
    with pytest.raises(LimitExceeded) as exc:
        hc.check_locked_cap(cap, locked, "u1")
    assert exc.value.extra == {"limit": "locked_cap", "max": maximum, "current": locked}
    assert "locked_cap" in exc.value.detail


def test_a_cap_without_count_deals_counts_them():
    assert hc.normalize_cap({"max_held": 1}) == {"department_id": None, "role": None, "max_held": 1,
                                                 "max_locked": None, "count_deals": True}
    assert hc.normalize_cap({"count_deals": False})["count_deals"] is False


ERRORS = {
    "fine": ([{"max_held": 1}, {"role": "member"}, {"department_id": "d1"}], set()),
    "department and role": ([{"department_id": "d1", "role": "member"}], {"0.role"}),
    "unknown role": ([{"role": "king"}], {"0.role"}),
    "two defaults": ([{"max_held": 1}, {"max_held": 2}], {"1._schema"}),
    "two for a role": ([{"role": "member"}, {"role": "member"}], {"1._schema"}),
    "two for a department": ([{"department_id": "d1"}, {"department_id": "d1"}], {"1._schema"}),
}


@pytest.mark.parametrize("name", ERRORS)
def test_cap_errors(name):
    entries, keys = ERRORS[name]
    assert set(hc.cap_errors(entries)) == keys
