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
database or the clock.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from crm_kit.errors import LimitExceeded

PROTECTION_DAYS, MAX_HELD, MAX_CLAIMS_PER_DAY, RECLAIM_COOLDOWN_DAYS = (
    "protection_days", "max_held", "max_claims_per_day", "reclaim_cooldown_days")
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


def day_start(as_of: dt.datetime) -> dt.datetime:
    """The start of ``as_of``'s day (UTC): claims per day count from here."""
    return as_of.astimezone(dt.timezone.utc).replace(hour=0, minute=0, second=0, microsecond=0)


def next_day_start(as_of: dt.datetime) -> dt.datetime:
    return day_start(as_of) + dt.timedelta(days=1)


def _after(start: dt.datetime | None, days: int) -> dt.datetime | None:
    return None if not days or start is None else start + dt.timedelta(days=days)


def check_protection(limits: ClaimLimits, pool_since: dt.datetime | None, as_of: dt.datetime) -> None:
    available = _after(pool_since, limits.protection_days)
    if available is not None and available > as_of:
        raise LimitExceeded(
            f"Limit protection_days: this customer entered pool '{limits.pool_name}' less than "
            f"{limits.protection_days} day(s) ago; it may be claimed from {available.isoformat()}.",
            {"limit": PROTECTION_DAYS, "max": limits.protection_days, "current": (as_of - pool_since).days,
             "available_at": available.isoformat()})


def check_held(limits: ClaimLimits, held: int) -> None:
    if limits.max_held is not None and held >= limits.max_held:
        raise LimitExceeded(
            f"Limit max_held reached: you hold {held} customers from pool '{limits.pool_name}', the most it "
            f"allows ({limits.max_held}).", {"limit": MAX_HELD, "max": limits.max_held, "current": held})


def check_claims_per_day(limits: ClaimLimits, claimed_today: int, as_of: dt.datetime) -> None:
    if limits.max_claims_per_day is not None and claimed_today >= limits.max_claims_per_day:
        available = next_day_start(as_of)
        raise LimitExceeded(
            f"Limit max_claims_per_day reached: you claimed {claimed_today} customers from pool "
            f"'{limits.pool_name}' today, the most it allows ({limits.max_claims_per_day}); you may claim again "
            f"from {available.isoformat()}.",
            {"limit": MAX_CLAIMS_PER_DAY, "max": limits.max_claims_per_day, "current": claimed_today,
             "available_at": available.isoformat()})


def check_reclaim_cooldown(limits: ClaimLimits, owned_until: dt.datetime | None, as_of: dt.datetime) -> None:
    available = _after(owned_until, limits.reclaim_cooldown_days)
    if available is not None and available > as_of:
        days = limits.reclaim_cooldown_days
        raise LimitExceeded(
            f"Limit reclaim_cooldown_days: you owned this customer until less than {days} day(s) ago; you may "
            f"claim it again from {available.isoformat()}.",
            {"limit": RECLAIM_COOLDOWN_DAYS, "max": days, "current": (as_of - owned_until).days,
             "available_at": available.isoformat()})


def check_claim_limits(limits: ClaimLimits, facts: ClaimFacts, as_of: dt.datetime) -> None:
    """``LimitExceeded`` for the first limit the claim would break, else nothing."""
    check_protection(limits, facts.pool_since, as_of)
    check_held(limits, facts.held)
    check_claims_per_day(limits, facts.claimed_today, as_of)
    check_reclaim_cooldown(limits, facts.owned_until, as_of)
