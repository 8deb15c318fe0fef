"""The lead status machine, table-driven over every (state, action) pair (domain.md, Leads):
``services.leads.domain.status``."""
from __future__ import annotations

import pytest

from crm_kit.errors import InvalidState
from services.leads import domain

# The expected machine, written out independently of domain.TRANSITIONS: (state, action) -> new state.
U, P, F, I, C, D = domain.STATUSES  # noqa: E741
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



@pytest.mark.parametrize("state, deletable, editable", [
    ("unassigned", True, True), ("pending", True, True), ("following", False, True), ("invalid", True, True),
    ("converted", False, False), ("discarded", True, True),
])
def test_which_states_may_be_deleted_and_edited(state, deletable, editable):
    for check, allowed, action in ((domain.ensure_deletable, deletable, "delete"),
                                   (domain.ensure_editable, editable, "update")):
        if allowed:
            check(state)
        else:
            with pytest.raises(InvalidState) as info:
                check(state)
            assert info.value.extra == {"action": action, "current_state": state}


def test_initial_status():
    assert domain.initial_status("user-1") == "pending"
    assert domain.initial_status(None) == "unassigned"

