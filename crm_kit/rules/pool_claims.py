"""A public pool's claim limits, as leads' pools and customers' pools (公海) both apply them: when a
member may take a record from the pool. Each context's ``domain/claim_limits.py`` holds its own
limits and facts (what it counts, how its records enter a pool) and asks these checks.

A claim is refused (``LimitExceeded``, 409; ``extra``: ``limit`` names it) when

- ``protection_days``: the record entered the pool less than that many days ago -- ``max`` (the
  days), ``current`` (whole days since), ``available_at`` (when it may be claimed);
- ``max_held``: the member holds that many records from this pool -- ``max``, ``current``;
- ``max_claims_per_day``: they claimed that many from the pool since 00:00 UTC -- ``max``,
  ``current``, ``available_at`` (the next 00:00 UTC);
- ``reclaim_cooldown_days``: fewer days than that passed since the member last held this record
  -- ``max``, ``current`` (whole days since), ``available_at``.

``None`` (or 0 days) means no limit. ``noun`` is the plural the messages use (``"leads"``).
"""
from __future__ import annotations

import datetime as dt

from crm_kit.errors import LimitExceeded

PROTECTION_DAYS, MAX_HELD, MAX_CLAIMS_PER_DAY, RECLAIM_COOLDOWN_DAYS = (
    "protection_days", "max_held", "max_claims_per_day", "reclaim_cooldown_days")


def day_start(as_of: dt.datetime) -> dt.datetime:
    """The start of ``as_of``'s day (UTC): claims per day count from here."""
    return as_of.astimezone(dt.timezone.utc).replace(hour=0, minute=0, second=0, microsecond=0)


def next_day_start(as_of: dt.datetime) -> dt.datetime:
    return day_start(as_of) + dt.timedelta(days=1)


def days_after(start: dt.datetime | None, days: int | None) -> dt.datetime | None:
    """``days`` after ``start`` (None: no such limit, or nothing to count from)."""
    return None if not days or start is None else start + dt.timedelta(days=days)


def check_protection(pool_name: str, days: int | None, pool_since: dt.datetime | None, as_of: dt.datetime,
                     noun: str) -> None:
    available = days_after(pool_since, days)
    if available is not None and available > as_of:
        raise LimitExceeded(
            f"Limit protection_days: this {noun[:-1]} entered pool '{pool_name}' less than {days} day(s) ago; "
            f"it may be claimed from {available.isoformat()}.",
            {"limit": PROTECTION_DAYS, "max": days, "current": (as_of - pool_since).days,
             "available_at": available.isoformat()})


def check_held(pool_name: str, max_held: int | None, held: int, noun: str) -> None:
    if max_held is not None and held >= max_held:
        raise LimitExceeded(
            f"Limit max_held reached: you hold {held} {noun} of pool '{pool_name}', the most it allows "
            f"({max_held}).", {"limit": MAX_HELD, "max": max_held, "current": held})


def check_claims_per_day(pool_name: str, max_per_day: int | None, claimed_today: int, as_of: dt.datetime,
                         noun: str) -> None:
    if max_per_day is not None and claimed_today >= max_per_day:
        available = next_day_start(as_of)
        raise LimitExceeded(
            f"Limit max_claims_per_day reached: you claimed {claimed_today} {noun} of pool '{pool_name}' "
            f"today, the most it allows ({max_per_day}); you may claim again from {available.isoformat()}.",
            {"limit": MAX_CLAIMS_PER_DAY, "max": max_per_day, "current": claimed_today,
             "available_at": available.isoformat()})


def check_reclaim_cooldown(days: int | None, held_until: dt.datetime | None, as_of: dt.datetime,
                           noun: str) -> None:
    available = days_after(held_until, days)
    if available is not None and available > as_of:
        raise LimitExceeded(
            f"Limit reclaim_cooldown_days: you held this {noun[:-1]} until less than {days} day(s) ago; you may "
            f"claim it again from {available.isoformat()}.",
            {"limit": RECLAIM_COOLDOWN_DAYS, "max": days, "current": (as_of - held_until).days,
             "available_at": available.isoformat()})
