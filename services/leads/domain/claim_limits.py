"""The lead pool's claim limits: how many leads a member may hold and claim, and when they may
claim a lead they gave up.

A pool member claiming one of its unassigned leads is refused (``LimitExceeded``, 409) when

- ``max_held``: they hold that many of the pool's leads (pending, following, invalid) -- ``extra``:
  ``max``, ``current`` (the leads held);
- ``max_claims_per_day``: they claimed that many of the pool's leads since 00:00 UTC -- ``max``,
  ``current`` (claimed today), ``available_at`` (the next 00:00 UTC);
- ``reclaim_cooldown_days``: fewer days than that passed since they gave this lead up (returned,
  recycled, or restored away from them) -- ``max`` (the days), ``current`` (whole days since),
  ``available_at`` (when they may claim it again).

``limit`` names the limit; ``None`` (or a cooldown of 0) means none. The limits are checked in
that order, the first reached answers. The application counts the facts (:class:`ClaimFacts`)
and asks :func:`check_claim_limits`; nothing here reads the database. The checks themselves are
the platform's (``crm_kit.rules.pool_claims``, the same as customers' pools apply).
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from crm_kit.rules import pool_claims as rules
from crm_kit.rules.pool_claims import (  # noqa: F401  (the limits' names, and the day a claim counts in)
    MAX_CLAIMS_PER_DAY,
    MAX_HELD,
    RECLAIM_COOLDOWN_DAYS,
    day_start,
    next_day_start,
)

NOUN = "leads"


@dataclass(frozen=True)
class ClaimLimits:
    """A pool's limits (``of(pool)``: from a ``LeadPool``)."""
    pool_name: str
    max_held: int | None = None
    max_claims_per_day: int | None = None
    reclaim_cooldown_days: int = 0

    @classmethod
    def of(cls, pool) -> "ClaimLimits":
        return cls(pool.name, pool.max_held, pool.max_claims_per_day, pool.reclaim_cooldown_days or 0)


@dataclass(frozen=True)
class ClaimFacts:
    """What the limits are judged on, for one member claiming one lead of the pool at ``as_of``."""
    held: int                                  # the pool's leads they hold then
    claimed_today: int                         # their claims in the pool since day_start(as_of)
    last_released_at: dt.datetime | None       # when they last gave this lead up (None: never)


def reclaim_available_at(limits: ClaimLimits, last_released_at: dt.datetime | None) -> dt.datetime | None:
    """When the member may claim the lead again after giving it up (None: at once)."""
    return rules.days_after(last_released_at, limits.reclaim_cooldown_days)


def check_claim_limits(limits: ClaimLimits, facts: ClaimFacts, as_of: dt.datetime) -> None:
    """``LimitExceeded`` for the first limit the claim would break, else nothing."""
    rules.check_held(limits.pool_name, limits.max_held, facts.held, NOUN)
    rules.check_claims_per_day(limits.pool_name, limits.max_claims_per_day, facts.claimed_today, as_of, NOUN)
    rules.check_reclaim_cooldown(limits.reclaim_cooldown_days, facts.last_released_at, as_of, NOUN)
