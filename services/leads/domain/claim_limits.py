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
and asks :func:`check_claim_limits`; nothing here reads the database.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from crm_kit.errors import LimitExceeded

MAX_HELD, MAX_CLAIMS_PER_DAY, RECLAIM_COOLDOWN_DAYS = "max_held", "max_claims_per_day", "reclaim_cooldown_days"


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


def day_start(as_of: dt.datetime) -> dt.datetime:
    """The start of ``as_of``'s day (UTC): claims per day count from here."""
    return as_of.astimezone(dt.timezone.utc).replace(hour=0, minute=0, second=0, microsecond=0)


def next_day_start(as_of: dt.datetime) -> dt.datetime:
    return day_start(as_of) + dt.timedelta(days=1)


def check_held(limits: ClaimLimits, held: int) -> None:
    if limits.max_held is not None and held >= limits.max_held:
        raise LimitExceeded(
            f"Limit max_held reached: you hold {held} leads of pool '{limits.pool_name}', the most it allows "
            f"({limits.max_held}).", {"limit": MAX_HELD, "max": limits.max_held, "current": held})


def check_claims_per_day(limits: ClaimLimits, claimed_today: int, as_of: dt.datetime) -> None:
    if limits.max_claims_per_day is not None and claimed_today >= limits.max_claims_per_day:
        available = next_day_start(as_of)
        raise LimitExceeded(
            f"Limit max_claims_per_day reached: you claimed {claimed_today} leads of pool '{limits.pool_name}' "
            f"today, the most it allows ({limits.max_claims_per_day}); you may claim again from "
            f"{available.isoformat()}.",
            {"limit": MAX_CLAIMS_PER_DAY, "max": limits.max_claims_per_day, "current": claimed_today,
             "available_at": available.isoformat()})


def reclaim_available_at(limits: ClaimLimits, last_released_at: dt.datetime | None) -> dt.datetime | None:
    """When the member may claim the lead again after giving it up (None: at once)."""
    if not limits.reclaim_cooldown_days or last_released_at is None:
        return None
    return last_released_at + dt.timedelta(days=limits.reclaim_cooldown_days)


def check_reclaim_cooldown(limits: ClaimLimits, last_released_at: dt.datetime | None, as_of: dt.datetime) -> None:
    available = reclaim_available_at(limits, last_released_at)
    if available is not None and available > as_of:
        days = limits.reclaim_cooldown_days
        raise LimitExceeded(
            f"Limit reclaim_cooldown_days: you gave this lead up less than {days} day(s) ago; you may claim it "
            f"again from {available.isoformat()}.",
            {"limit": RECLAIM_COOLDOWN_DAYS, "max": days, "current": (as_of - last_released_at).days,
             "available_at": available.isoformat()})


def check_claim_limits(limits: ClaimLimits, facts: ClaimFacts, as_of: dt.datetime) -> None:
    """``LimitExceeded`` for the first limit the claim would break, else nothing."""
    check_held(limits, facts.held)
    check_claims_per_day(limits, facts.claimed_today, as_of)
    check_reclaim_cooldown(limits, facts.last_released_at, as_of)
