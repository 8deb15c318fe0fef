"""Merging a duplicate (``services.customers.domain.merge``), table-driven: which fields the survivor
takes, tags, team memberships (the stronger access wins), the deal fields and follow-up times."""
from __future__ import annotations

import datetime as dt

import pytest

from crm_kit.errors import ValidationFailed
from services.customers.domain import merge
from services.customers.domain.deal import DealState

UTC = dt.timezone.utc
T0 = dt.datetime(2024, 12, 1, tzinfo=UTC)
D = dt.timedelta(days=1)

# (survivor's fields, duplicate's fields) -> what the survivor takes
FILLS = {
    "nothing blank": ({"industry": "IT", "email": "a@x"}, {"industry": "Retail", "email": "b@x"}, {}),
    "blank taken": ({"industry": None}, {"industry": "Retail"}, {"industry": "Retail"}),
    "empty string is blank": ({"region": ""}, {"region": "Berlin"}, {"region": "Berlin"}),
    "both blank": ({"region": None}, {"region": None}, {}),
    "mobile with its key": ({"mobile": None, "mobile_key": None},
                            {"mobile": "+86 138 0013 8000", "mobile_key": "8613800138000"},
                            {"mobile": "+86 138 0013 8000", "mobile_key": "8613800138000"}),
    "a position with both coordinates": ({"latitude": None, "longitude": None}, {"latitude": 31.2, "longitude": 121.5},
                                         {"latitude": 31.2, "longitude": 121.5}),
    "a position kept whole": ({"latitude": 39.9, "longitude": 116.4}, {"latitude": 31.2, "longitude": 121.5}, {}),
    "zero is a value": ({"latitude": 0.0, "longitude": 0.0}, {"latitude": 31.2, "longitude": 121.5}, {}),
    "name, owner and pool never taken": ({"name": None, "owner_id": None, "pool_id": None},
                                         {"name": "Dup", "owner_id": "u2", "pool_id": "p1"}, {}),
}


@pytest.mark.parametrize("name", FILLS)
def test_the_survivor_takes_the_fields_it_has_left_blank(name):
    survivor, duplicate, expected = FILLS[name]
    assert merge.blanks_to_fill(survivor, duplicate) == expected


@pytest.mark.parametrize("kind, expected", [
    ("individual", {"gender": "female", "birthday": dt.date(1990, 5, 1)}),
    ("company", {}),                                     # a company has no gender or birthday
])
def test_an_individuals_own_fields_go_only_to_an_individual(kind, expected):
    duplicate = {"gender": "female", "birthday": dt.date(1990, 5, 1)}
    assert merge.blanks_to_fill({"gender": None, "birthday": None}, duplicate, kind) == expected


def test_a_customer_cannot_be_merged_into_itself():
    with pytest.raises(ValidationFailed) as err:
        merge.ensure_mergeable("c1", "c1")
    assert err.value.errors == {"duplicate_id": ["A customer cannot be merged into itself."]}
    merge.ensure_mergeable("c1", "c2")


@pytest.mark.parametrize("survivor, duplicate, expected", [
    ([], [], []),
    (["vip"], ["vip"], ["vip"]),
    (["vip", "north"], ["south", "vip"], ["vip", "north", "south"]),
    ([], ["a", "b"], ["a", "b"]),
])
def test_tags_are_the_union(survivor, duplicate, expected):
    assert merge.union_tags(survivor, duplicate) == expected


R, RW = "read", "read_write"
# (survivor's membership, the duplicate's) -> the survivor's after (None: unchanged)
MEMBERSHIPS = {
    "not a member yet": (None, (R, None), (R, None)),
    "not a member yet, until a date": (None, (RW, T0), (RW, T0)),
    "read + read_write: stronger wins": ((R, None), (RW, None), (RW, None)),
    "read_write + read: kept": ((RW, None), (R, None), None),
    "read_write until + read for good: access wins": ((RW, T0), (R, None), None),
    "read until + read_write until earlier: access wins": ((R, T0 + D), (RW, T0), (RW, T0)),
    "same access, for good + until: kept": ((R, None), (R, T0), None),
    "same access, until + for good: longer wins": ((R, T0), (R, None), (R, None)),
    "same access, until + later": ((RW, T0), (RW, T0 + D), (RW, T0 + D)),
    "same access, until + earlier: kept": ((RW, T0 + D), (RW, T0), None),
    "identical: kept": ((R, T0), (R, T0), None),
}


@pytest.mark.parametrize("name", MEMBERSHIPS)
def test_the_stronger_membership_wins(name):
    current, incoming, expected = MEMBERSHIPS[name]
    assert merge.merged_membership(current, incoming) == expected


PROSPECT = DealState()
# (survivor, duplicate) -> merged
DEALS = {
    "two prospects": (PROSPECT, PROSPECT, PROSPECT),
    "duplicate was a deal": (PROSPECT, DealState("deal", T0, T0 + D), DealState("deal", T0, T0 + D)),
    "both deals: earliest deal, latest last deal": (
        DealState("deal", T0 + D, T0 + D), DealState("deal", T0, T0), DealState("deal", T0, T0 + D)),
    "survivor a deal": (DealState("deal", T0, T0), PROSPECT, DealState("deal", T0, T0)),
}


@pytest.mark.parametrize("name", DEALS)
def test_the_merged_deal_fields_say_the_most(name):
    survivor, duplicate, expected = DEALS[name]
    assert merge.merged_deal(survivor, duplicate) == expected


@pytest.mark.parametrize("survivor, duplicate, expected", [
    ((None, None), (None, None), (None, None)),
    ((T0, None), (None, T0 + D), (T0, T0 + D)),
    ((T0, T0 + 3 * D), (T0 + D, T0 + 2 * D), (T0 + D, T0 + 2 * D)),   # latest follow-up, soonest next contact
    ((T0 + D, T0 + D), (T0, T0 + 5 * D), (T0 + D, T0 + D)),
])
def test_follow_up_times_latest_and_soonest(survivor, duplicate, expected):
    assert merge.merged_follow_up_times(survivor, duplicate) == expected
