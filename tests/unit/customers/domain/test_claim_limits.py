"""A pool's claim limits (``services.customers.domain.claim_limits``), table-driven: each limit, its
boundary, ``None`` / 0 as no limit, the order they are checked in, and for the limits of time the
moment the claim becomes allowed (``available_at``, also in the detail)."""
from __future__ import annotations

import datetime as dt

import pytest

from crm_kit.errors import LimitExceeded
from services.customers.domain import claim_limits as cl

UTC = dt.timezone.utc
NOW = dt.datetime(2024, 12, 2, 15, 30, tzinfo=UTC)
DAY = dt.timedelta(days=1)
TOMORROW = dt.datetime(2024, 12, 3, tzinfo=UTC)


def limits(**kw) -> cl.ClaimLimits:
    return cl.ClaimLimits("Finance", **kw)


def facts(held=0, claimed_today=0, owned_until=None, pool_since=NOW - 100 * DAY) -> cl.ClaimFacts:
    return cl.ClaimFacts(held=held, claimed_today=claimed_today, owned_until=owned_until, pool_since=pool_since)


# (limits, facts) -> None (allowed) or (limit, max, current, available_at)
CASES = {
    "no limits at all": (limits(), facts(held=999, claimed_today=999, owned_until=NOW, pool_since=NOW), None),
    # protection period: a customer newly put in the pool
    "protection: entered 2 of 3 days ago": (limits(protection_days=3), facts(pool_since=NOW - 2 * DAY),
                                            ("protection_days", 3, 2, NOW + DAY)),
    "protection: a second before it ends": (
        limits(protection_days=3), facts(pool_since=NOW - 3 * DAY + dt.timedelta(seconds=1)),
        ("protection_days", 3, 2, NOW + dt.timedelta(seconds=1))),
    "protection: exactly over": (limits(protection_days=3), facts(pool_since=NOW - 3 * DAY), None),
    "protection: 0 days is none": (limits(protection_days=0), facts(pool_since=NOW), None),
    "protection: no pool_since (never entered)": (limits(protection_days=3), facts(pool_since=None), None),
    # held at once from the pool
    "max_held: one below": (limits(max_held=3), facts(held=2), None),
    "max_held: reached": (limits(max_held=3), facts(held=3), ("max_held", 3, 3, None)),
    "max_held: 0 allows none": (limits(max_held=0), facts(held=0), ("max_held", 0, 0, None)),
    "max_held: None is no limit": (limits(max_held=None), facts(held=10_000), None),
    # claims per day (UTC day): allowed again at the next 00:00 UTC
    "per day: one below": (limits(max_claims_per_day=5), facts(claimed_today=4), None),
    "per day: reached": (limits(max_claims_per_day=5), facts(claimed_today=5),
                         ("max_claims_per_day", 5, 5, TOMORROW)),
    # reclaim cooldown for a previous owner
    "cooldown: owned until 1 of 7 days ago": (limits(reclaim_cooldown_days=7), facts(owned_until=NOW - DAY),
                                              ("reclaim_cooldown_days", 7, 1, NOW + 6 * DAY)),
    "cooldown: exactly over": (limits(reclaim_cooldown_days=7), facts(owned_until=NOW - 7 * DAY), None),
    "cooldown: never owned it": (limits(reclaim_cooldown_days=7), facts(owned_until=None), None),
    "cooldown: 0 days is none": (limits(reclaim_cooldown_days=0), facts(owned_until=NOW), None),
    # the order: protection, held, per day, cooldown -- the first reached answers
    "order: protection before held": (limits(protection_days=3, max_held=1), facts(held=5, pool_since=NOW),
                                      ("protection_days", 3, 0, NOW + 3 * DAY)),
    "order: held before per day": (limits(max_held=1, max_claims_per_day=1), facts(held=1, claimed_today=1),
                                   ("max_held", 1, 1, None)),
    "order: per day before cooldown": (limits(max_claims_per_day=1, reclaim_cooldown_days=7),
                                       facts(claimed_today=1, owned_until=NOW),
                                       ("max_claims_per_day", 1, 1, TOMORROW)),
}


@pytest.mark.parametrize("name", CASES)
def test_claim_limits(name):
    lim, fct, expected = CASES[name]
    if expected is None:
        cl.check_claim_limits(lim, fct, NOW)
        return
    with pytest.raises(LimitExceeded) as refused:
        cl.check_claim_limits(lim, fct, NOW)
    limit, maximum, current, available = expected
    extra = refused.value.extra
    assert (extra["limit"], extra["max"], extra["current"]) == (limit, maximum, current)
    assert refused.value.status == 409
    assert limit in refused.value.detail                      # the refusal names the rule
    if available is None:
        assert "available_at" not in extra
    else:                                                      # ... and when it becomes allowed
        assert extra["available_at"] == available.isoformat()
        assert available.isoformat() in refused.value.detail
    assert set(refused.value.public_extra()) >= {"limit", "max", "current"}


@pytest.mark.parametrize("as_of, start", [
    (dt.datetime(2024, 12, 2, 0, 0, tzinfo=UTC), dt.datetime(2024, 12, 2, tzinfo=UTC)),
    (dt.datetime(2024, 12, 2, 23, 59, 59, tzinfo=UTC), dt.datetime(2024, 12, 2, tzinfo=UTC)),
    # a time with another offset counts by its UTC day
    (dt.datetime(2024, 12, 3, 7, 0, tzinfo=dt.timezone(dt.timedelta(hours=8))), dt.datetime(2024, 12, 2, tzinfo=UTC)),
])
def test_the_day_claims_count_from(as_of, start):
    assert cl.day_start(as_of) == start
    assert cl.next_day_start(as_of) == start + DAY


def test_limits_of_a_pool_row():
    class Pool:
        name, max_held, max_claims_per_day, reclaim_cooldown_days, protection_days = "P", 2, None, None, 3
    assert cl.ClaimLimits.of(Pool) == cl.ClaimLimits("P", 2, None, 0, 3)
