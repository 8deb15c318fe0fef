"""The lead pool's configuration rule (``services.leads.domain.pools``): on a new pool
(``pool_rule_errors``) and on a pool as an update leaves it (``pool_update``), table-driven."""
from __future__ import annotations

import pytest

from crm_kit.errors import ValidationFailed
from services.leads import domain

ONLY_MANUAL = ["Only a manual pool has a default assignee."]
A_MEMBER = ["The default assignee must be a member of the pool."]
FEWER_DAYS = ["Must be fewer days than recycle_after_days."]

RULE = [
    ({}, {}),
    ({"default_assignee_id": "m1", "member_ids": ["m1"]}, {}),                        # manual is the default
    ({"distribution": "manual", "default_assignee_id": "m1", "member_ids": ["m1", "m2"]}, {}),
    ({"distribution": "manual", "default_assignee_id": "m9", "member_ids": ["m1"]}, {"default_assignee_id": A_MEMBER}),
    ({"distribution": "manual", "default_assignee_id": "m9"}, {}),                   # members not known: not judged
    ({"distribution": "round_robin", "default_assignee_id": "m1", "member_ids": ["m1"]},
     {"default_assignee_id": ONLY_MANUAL}),
    ({"distribution": "least_loaded", "default_assignee_id": None}, {}),
    ({"recycle_after_days": 10, "recycle_warning_days": 9}, {}),
    ({"recycle_after_days": 10, "recycle_warning_days": 10}, {"recycle_warning_days": FEWER_DAYS}),
    ({"recycle_after_days": None, "recycle_warning_days": 1}, {"recycle_warning_days": FEWER_DAYS}),
    ({"recycle_after_days": 5}, {}),
    ({"distribution": "round_robin", "default_assignee_id": "m1", "recycle_warning_days": 3},
     {"default_assignee_id": ONLY_MANUAL, "recycle_warning_days": FEWER_DAYS}),
]


@pytest.mark.parametrize("pool, errors", RULE)
def test_the_configuration_rule(pool, errors):
    assert domain.pool_rule_errors(pool) == errors


CURRENT = {"distribution": "manual", "default_assignee_id": "m1", "recycle_after_days": 10,
           "recycle_warning_days": 2, "member_ids": ["m1", "m2"]}

# changes -> ("made", the changes an update makes) or ("refused", the errors)
UPDATES = [
    ({"max_held": 3}, ("made", {"max_held": 3})),
    ({"distribution": "round_robin"}, ("made", {"distribution": "round_robin", "default_assignee_id": None})),
    ({"distribution": "round_robin", "default_assignee_id": "m2"}, ("refused", {"default_assignee_id": ONLY_MANUAL})),
    ({"distribution": "manual"}, ("made", {"distribution": "manual"})),
    ({"member_ids": ["m2"]}, ("refused", {"default_assignee_id": A_MEMBER})),      # the assignee would leave
    ({"member_ids": ["m2"], "default_assignee_id": None},
     ("made", {"member_ids": ["m2"], "default_assignee_id": None})),
    ({"recycle_after_days": 2}, ("refused", {"recycle_warning_days": FEWER_DAYS})),  # the warning would not fit
    ({"recycle_after_days": None, "recycle_warning_days": None},
     ("made", {"recycle_after_days": None, "recycle_warning_days": None})),
]


@pytest.mark.parametrize("changes, expected", UPDATES)
def test_an_update_is_judged_on_the_pool_it_leaves(changes, expected):
    outcome, value = expected
    if outcome == "made":
        assert domain.pool_update(CURRENT, changes) == value
    else:
        with pytest.raises(ValidationFailed) as info:
            domain.pool_update(CURRENT, changes)
        assert info.value.errors == value
    assert CURRENT["default_assignee_id"] == "m1"          # the current pool is not changed
