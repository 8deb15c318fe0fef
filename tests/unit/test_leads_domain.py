"""The lead status machine, table-driven over every (state, action) pair (domain.md, Leads)."""
from __future__ import annotations

import datetime as dt

import pytest

from crm_kit.errors import InvalidState
from services.leads import domain

# The expected machine, written out independently of domain.TRANSITIONS: (state, action) -> new state.
U, P, F, I, C, D = domain.STATUSES
EXPECTED = {
    (U, "assign"): P, (P, "assign"): P, (F, "assign"): F, (I, "assign"): I,
    (U, "claim"): P,
    (P, "return"): U, (F, "return"): U, (I, "return"): U,
    (P, "recycle"): U, (F, "recycle"): U, (I, "recycle"): U,
    (P, "invalidate"): I, (F, "invalidate"): I,
    (U, "discard"): D, (P, "discard"): D, (F, "discard"): D, (I, "discard"): D,
    (D, "restore"): U,
    (P, "follow_up"): F, (F, "follow_up"): F, (I, "follow_up"): F,
    (P, "convert"): C, (F, "convert"): C, (I, "convert"): C,
}
ACTIONS = ("assign", "claim", "return", "recycle", "invalidate", "discard", "restore", "follow_up", "convert")
PAIRS = [(state, action) for state in domain.STATUSES for action in ACTIONS]


def test_the_table_covers_exactly_the_known_actions():
    assert set(domain.TRANSITIONS) == set(ACTIONS)
    assert set(domain.STATUSES) == {"unassigned", "pending", "following", "invalid", "converted", "discarded"}


@pytest.mark.parametrize("state, action", PAIRS, ids=[f"{s}-{a}" for s, a in PAIRS])
def test_every_state_action_pair(state, action):
    if (state, action) in EXPECTED:
        assert domain.transition(action, state) == EXPECTED[(state, action)]
    else:
        with pytest.raises(InvalidState) as info:
            domain.transition(action, state)
        assert info.value.status == 409
        assert info.value.extra == {"action": action, "current_state": state}
        assert f"'{state}'" in info.value.detail


def test_converted_is_terminal():
    assert all(domain.TRANSITIONS[a].get(C) is None for a in ACTIONS)


def test_round_robin_wraps_in_id_order():
    members = ["u3", "u1", "u2"]
    assert domain.next_round_robin(members, None) == "u1"
    assert domain.next_round_robin(members, "u1") == "u2"
    assert domain.next_round_robin(members, "u3") == "u1"
    assert domain.next_round_robin(members, "gone") == "u1"   # a cursor past a removed member
    assert domain.next_round_robin([], "u1") is None


def test_least_loaded_ties_break_on_id():
    assert domain.least_loaded({"b": 1, "a": 1, "c": 0}) == "c"
    assert domain.least_loaded({"b": 2, "a": 2}) == "a"
    assert domain.least_loaded({}) is None


T0 = dt.datetime(2024, 11, 1, 9, tzinfo=dt.timezone.utc)


def test_recycle_counts_from_the_last_follow_up_else_the_assignment():
    assert domain.recycle_at(None, T0, 14) == T0 + dt.timedelta(days=14)
    later = T0 + dt.timedelta(days=5)
    assert domain.recycle_at(later, T0, 14) == later + dt.timedelta(days=14)
    assert domain.recycle_at(None, T0, None) is None
    assert domain.is_due_for_recycle(None, T0, 14, T0 + dt.timedelta(days=14))
    assert not domain.is_due_for_recycle(None, T0, 14, T0 + dt.timedelta(days=13, hours=23))
    assert domain.warning_at(T0, 3) == T0 - dt.timedelta(days=3)
    assert domain.warning_at(T0, None) is None


def test_sla():
    due = domain.sla_due_at(T0, 24)
    assert due == T0 + dt.timedelta(hours=24)
    assert not domain.sla_breached(due, None, T0 + dt.timedelta(hours=23))
    assert domain.sla_breached(due, None, T0 + dt.timedelta(hours=25))
    assert not domain.sla_breached(due, T0 + dt.timedelta(hours=2), T0 + dt.timedelta(days=9))
    assert domain.sla_breached(due, T0 + dt.timedelta(hours=30), T0 + dt.timedelta(days=9))
    assert not domain.sla_breached(None, None, T0)
    assert domain.sla_due_at(T0, None) is None
