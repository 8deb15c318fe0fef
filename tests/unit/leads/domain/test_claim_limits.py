"""The lead pool's claim limits (``services.leads.domain.claim_limits``), table-driven: which claim
is refused, by which limit, and with what the caller is told (``max``, ``current``, ``available_at``)."""
from __future__ import annotations

import datetime as dt

import pytest

from crm_kit.errors import LimitExceeded
from services.leads import domain
from services.leads.domain import ClaimFacts, ClaimLimits

UTC = dt.timezone.utc
NOW = dt.datetime(2024, 11, 1, 9, 30, tzinfo=UTC)
MIDNIGHT = dt.datetime(2024, 11, 2, tzinfo=UTC)
DAY = dt.timedelta(days=1)


def limits(max_held=None, per_day=None, cooldown=0):
    return ClaimLimits("Shanghai leads", max_held, per_day, cooldown)


def facts(held=0, claimed=0, released=None):
    return ClaimFacts(held=held, claimed_today=claimed, last_released_at=released)


# (limits, facts, now, refused by: None or {extra}) -- written out, not computed
CASES = {
    "no limits": (limits(), facts(held=10**6, claimed=10**6, released=NOW), NOW, None),
    "held below max_held": (limits(max_held=2), facts(held=1), NOW, None),
    "held at max_held": (limits(max_held=2), facts(held=2), NOW,
                         {"limit": "max_held", "max": 2, "current": 2}),
    "held above max_held (lowered since)": (limits(max_held=2), facts(held=5), NOW,
                                            {"limit": "max_held", "max": 2, "current": 5}),
    "max_held 0: none at all": (limits(max_held=0), facts(held=0), NOW,
                                {"limit": "max_held", "max": 0, "current": 0}),
    "claims below the day's": (limits(per_day=3), facts(claimed=2), NOW, None),
    "claims at the day's": (limits(per_day=3), facts(claimed=3), NOW,
                            {"limit": "max_claims_per_day", "max": 3, "current": 3,
                             "available_at": MIDNIGHT.isoformat()}),
    "the day's, a second before midnight": (limits(per_day=1), facts(claimed=1), MIDNIGHT - dt.timedelta(seconds=1),
                                            {"limit": "max_claims_per_day", "max": 1, "current": 1,
                                             "available_at": MIDNIGHT.isoformat()}),
    "the day's, in another time zone (days are UTC)": (
        limits(per_day=1), facts(claimed=1), dt.datetime(2024, 11, 2, 7, 0, tzinfo=dt.timezone(dt.timedelta(hours=8))),
        {"limit": "max_claims_per_day", "max": 1, "current": 1, "available_at": MIDNIGHT.isoformat()}),
    "never gave it up": (limits(cooldown=7), facts(released=None), NOW, None),
    "gave it up 6 days ago, cooldown 7": (limits(cooldown=7), facts(released=NOW - 6 * DAY), NOW,
                                          {"limit": "reclaim_cooldown_days", "max": 7, "current": 6,
                                           "available_at": (NOW + DAY).isoformat()}),
    "gave it up an hour ago": (limits(cooldown=2), facts(released=NOW - dt.timedelta(hours=1)), NOW,
                               {"limit": "reclaim_cooldown_days", "max": 2, "current": 0,
                                "available_at": (NOW + 2 * DAY - dt.timedelta(hours=1)).isoformat()}),
    "gave it up exactly 7 days ago": (limits(cooldown=7), facts(released=NOW - 7 * DAY), NOW, None),
    "no cooldown": (limits(cooldown=0), facts(released=NOW - dt.timedelta(minutes=1)), NOW, None),
    "max_held comes first": (limits(max_held=1, per_day=1, cooldown=7), facts(held=1, claimed=1, released=NOW),
                             NOW, {"limit": "max_held", "max": 1, "current": 1}),
    "then the day's": (limits(max_held=5, per_day=1, cooldown=7), facts(held=1, claimed=1, released=NOW), NOW,
                       {"limit": "max_claims_per_day", "max": 1, "current": 1,
                        "available_at": MIDNIGHT.isoformat()}),
    "then the cooldown": (limits(max_held=5, per_day=5, cooldown=7), facts(held=1, claimed=1, released=NOW), NOW,
                          {"limit": "reclaim_cooldown_days", "max": 7, "current": 0,
                           "available_at": (NOW + 7 * DAY).isoformat()}),
}


@pytest.mark.parametrize("case", CASES)
def test_claim_limits(case):
    given_limits, given_facts, now, refused = CASES[case]
    if refused is None:
        domain.check_claim_limits(given_limits, given_facts, now)
        return
    with pytest.raises(LimitExceeded) as info:
        domain.check_claim_limits(given_limits, given_facts, now)
    assert info.value.status == 409
    assert info.value.extra == refused
    assert refused["limit"] in info.value.detail            # the detail names the limit
    if "available_at" in refused:                      # the detail says when, as extra does
        assert refused["available_at"] in info.value.detail
    assert set(info.value.public_extra()) == set(refused)     # all of it reaches the client


@pytest.mark.parametrize("now, start", [
    (NOW, dt.datetime(2024, 11, 1, tzinfo=UTC)),
    (dt.datetime(2024, 11, 1, 23, 59, 59, 999999, tzinfo=UTC), dt.datetime(2024, 11, 1, tzinfo=UTC)),
    (dt.datetime(2024, 11, 2, 7, tzinfo=dt.timezone(dt.timedelta(hours=8))), dt.datetime(2024, 11, 1, tzinfo=UTC)),
])
def test_claims_per_day_count_from_the_start_of_the_utc_day(now, start):
    assert domain.day_start(now) == start
    assert domain.next_day_start(now) == start + DAY


def test_limits_of_a_pool():
    class Pool:
        name, max_held, max_claims_per_day, reclaim_cooldown_days = "P", 3, None, None
    assert ClaimLimits.of(Pool) == ClaimLimits("P", 3, None, 0)
    assert domain.reclaim_available_at(ClaimLimits("P", reclaim_cooldown_days=2), NOW) == NOW + 2 * DAY
    assert domain.reclaim_available_at(ClaimLimits("P"), NOW) is None
