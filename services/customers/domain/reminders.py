"""Reminders of a customer's owner (``customer_reminders``): which birthdays fall in a window, and
when a reminder is due.

Three kinds, each with a time ``due_at``:

- ``next_contact``: the customer's next contact time (set by its last follow-up) has come;
- ``recycle_warning``: the customer will be recycled at ``due_at`` (``domain.recycling``: from
  ``warning_days`` before);
- ``birthday``: a contact of the customer (or the customer itself, a person) has a birthday that
  day -- a greeting reminder, due at 00:00 UTC of the day, every year. A birthday on 29 February
  is remembered on 28 February in common years.

A window is ``[from, due_before]``: next contact times and warnings are due when their time is
at or before ``due_before`` (however long ago: they stay until done); a birthday only on its own
day, so the window for birthdays starts at 00:00 UTC of the day the request is made.
"""
from __future__ import annotations

import datetime as dt

NEXT_CONTACT, RECYCLE_WARNING, BIRTHDAY = "next_contact", "recycle_warning", "birthday"
KINDS = (NEXT_CONTACT, RECYCLE_WARNING, BIRTHDAY)
UTC = dt.timezone.utc


def day_start(moment: dt.datetime) -> dt.datetime:
    """00:00 UTC of ``moment``'s day."""
    return moment.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)


def _in_year(birthday: dt.date, year: int) -> dt.date:
    try:
        return birthday.replace(year=year)
    except ValueError:                  # 29 February in a common year
        return dt.date(year, 2, 28)


def birthday_between(birthday: dt.date | None, start: dt.date, end: dt.date) -> dt.date | None:
    """The first day in ``[start, end]`` on which ``birthday`` recurs, else None."""
    if birthday is None or end < start:
        return None
    for year in range(start.year, end.year + 1):
        day = _in_year(birthday, year)
        if start <= day <= end:
            return day
    return None


def month_days(start: dt.date, end: dt.date) -> set[int] | None:
    """``month * 100 + day`` of every birthday that recurs in ``[start, end]`` (what a query
    filters on); None when the window is a year or longer (every birthday does)."""
    if end < start:
        return set()
    if (end - start).days >= 365:
        return None
    out, day = set(), start
    while day <= end:
        out.add(day.month * 100 + day.day)
        if day.month == 2 and day.day == 28 and not _is_leap(day.year):
            out.add(229)                # remembered on the 28th in a common year
        day += dt.timedelta(days=1)
    return out


def _is_leap(year: int) -> bool:
    return year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)


def birthday_due_at(day: dt.date) -> dt.datetime:
    """When a birthday reminder is due: 00:00 UTC of the day."""
    return dt.datetime(day.year, day.month, day.day, tzinfo=UTC)


def birthday_window(now: dt.datetime, due_before: dt.datetime) -> tuple[dt.date, dt.date]:
    """The days whose birthdays a request at ``now`` for reminders due by ``due_before`` gets."""
    return day_start(now).date(), due_before.astimezone(UTC).date()
