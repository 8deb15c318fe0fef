"""A public pool's claim limits (公海领取规则): when a member may take a customer from the pool.

A pool member claiming one of the pool's customers is refused (``LimitExceeded``, 409) when

- ``protection_days``: the customer entered the pool less than that many days ago (returned,
  recycled, moved or imported there): nobody may claim it yet -- ``extra``: ``max`` (the days),
  ``current`` (whole days since it entered), ``available_at`` (when it may be claimed);
- ``max_held``: the member holds that many customers claimed or assigned from this pool --
  ``max``, ``current`` (held);
- ``max_claims_per_day``: they claimed that many of the pool's customers since 00:00 UTC --
  ``max``, ``current``, ``available_at`` (the next 00:00 UTC);
- ``reclaim_cooldown_days``: they owned this customer before, and fewer days than that passed
  since their ownership ended (returned, recycled, assigned or transferred away) -- ``max``,
  ``current`` (whole days since), ``available_at``.

``None`` (or 0 days) means no limit. The limits are checked in that order and the first reached
answers; the detail names the limit and, for the three about time, when the claim becomes allowed.
The holding cap across the platform (``holding_caps``) is checked after them. The application
counts the facts (:class:`ClaimFacts`) and asks :func:`check_claim_limits`; nothing here reads the
database or the clock. The checks themselves are the platform's (``crm_kit.rules.pool_claims``,
the same as leads' pools apply).
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from crm_kit.rules import pool_claims as rules
from crm_kit.rules.pool_claims import (  # noqa: F401  (the limits' names, and the day a claim counts in)
    MAX_CLAIMS_PER_DAY,
    MAX_HELD,
    PROTECTION_DAYS,
    RECLAIM_COOLDOWN_DAYS,
    day_start,
    next_day_start,
)

NOUN = "customers"
LIMITS = (PROTECTION_DAYS, MAX_HELD, MAX_CLAIMS_PER_DAY, RECLAIM_COOLDOWN_DAYS)


@dataclass(frozen=True)
class ClaimLimits:
    """A pool's limits (``of(pool)``: from a ``CustomerPool``)."""
    pool_name: str
    max_held: int | None = None
    max_claims_per_day: int | None = None
    reclaim_cooldown_days: int = 0
    protection_days: int = 0

    @classmethod
    def of(cls, pool) -> "ClaimLimits":
        return cls(pool.name, pool.max_held, pool.max_claims_per_day, pool.reclaim_cooldown_days or 0,
                   pool.protection_days or 0)


@dataclass(frozen=True)
class ClaimFacts:
    """What the limits are judged on, for one member claiming one customer of the pool at ``as_of``."""
    held: int                                  # customers they hold that came from this pool
    claimed_today: int                         # their claims from the pool since day_start(as_of)
    owned_until: dt.datetime | None            # when they last stopped owning this customer (None: never owned)
    pool_since: dt.datetime | None             # when the customer entered the pool


def check_claim_limits(limits: ClaimLimits, facts: ClaimFacts, as_of: dt.datetime) -> None:
    """``LimitExceeded`` for the first limit the claim would break, else nothing."""
    rules.check_protection(limits.pool_name, limits.protection_days, facts.pool_since, as_of, NOUN)
    rules.check_held(limits.pool_name, limits.max_held, facts.held, NOUN)
    rules.check_claims_per_day(limits.pool_name, limits.max_claims_per_day, facts.claimed_today, as_of, NOUN)
    rules.check_reclaim_cooldown(limits.reclaim_cooldown_days, facts.owned_until, as_of, NOUN)
