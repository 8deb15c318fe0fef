"""Who a pool gives a new lead to (``services.leads.domain.distribution``), table-driven."""
from __future__ import annotations

import pytest

from services.leads import domain


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


MEMBERS = ["m1", "m2", "m3"]
# (distribution, held, max_held, cursor, default assignee) -> owner
CASES = [
    ("manual", {}, None, None, None, None),
    ("manual", {}, None, None, "m2", "m2"),
    ("manual", {}, None, None, "gone", None),                     # no longer a member
    ("manual", {"m2": 9}, 1, None, "m2", "m2"),                   # max_held is for automatic distribution
    ("round_robin", {}, None, None, None, "m1"),
    ("round_robin", {}, None, "m1", None, "m2"),
    ("round_robin", {}, None, "m3", "m3", "m1"),                  # wraps; the default assignee plays no part
    ("round_robin", {"m2": 1}, 1, "m1", None, "m3"),              # m2 is full: skipped
    ("round_robin", {"m1": 1, "m2": 1, "m3": 1}, 1, None, None, None),   # everyone full: unassigned
    ("least_loaded", {"m1": 2, "m2": 1}, None, None, None, "m3"),
    ("least_loaded", {"m1": 2, "m2": 1, "m3": 1}, None, None, None, "m2"),
    ("least_loaded", {"m1": 0, "m2": 3, "m3": 3}, 3, None, None, "m1"),
    ("least_loaded", {"m1": 3, "m2": 3, "m3": 3}, 3, None, None, None),
]


@pytest.mark.parametrize("distribution, held, max_held, cursor, default, owner", CASES)
def test_choose_owner(distribution, held, max_held, cursor, default, owner):
    assert domain.choose_owner(distribution, MEMBERS, held, max_held, cursor, default) == owner


def test_only_automatic_distribution_counts_what_members_hold():
    assert [domain.needs_held_counts(d) for d in domain.DISTRIBUTIONS] == [False, True, True]
    assert domain.eligible_members(MEMBERS, {"m1": 2}, 2) == {"m2": 0, "m3": 0}
    assert domain.eligible_members(MEMBERS, {"m1": 2}, None) == {"m1": 2, "m2": 0, "m3": 0}
