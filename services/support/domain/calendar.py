"""Business hours: the calendar a support group works by (issue 14: working days, hours, holidays,
a time zone), and time measured in it.

A :class:`BusinessCalendar` has, per weekday (0 = Monday), the local working periods as minutes of
the day (``(540, 1080)`` is 09:00-18:00; a day may have several, e.g. a lunch break); ``holidays``
are local dates without work, ``workdays`` local dates worked although their weekday is not (调休,
the make-up working days of Chinese public holidays), with ``workday_periods``. Every instant in and
out is an aware datetime; the periods are local wall-clock times in ``tz``, so a day that changes
to or from daylight saving time is as long as its clocks say.

- :meth:`BusinessCalendar.add`: the instant a business duration after a start ends;
- :meth:`BusinessCalendar.between`: the business time between two instants.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Iterator
from zoneinfo import ZoneInfo

DAY_MINUTES = 24 * 60
MAX_DAYS = 3 * 366          # a duration that needs longer than this has no working hours to run in
ZERO = dt.timedelta(0)
Periods = tuple[tuple[int, int], ...]
OFFICE: Periods = ((9 * 60, 18 * 60),)


def _check_periods(periods: Periods) -> Periods:
    cleaned = tuple(sorted((int(a), int(b)) for a, b in periods))
    last = 0
    for start, end in cleaned:
        if not 0 <= start < end <= DAY_MINUTES or start < last:
            raise ValueError(f"working periods must be ascending, apart, within a day: {periods!r}")
        last = end
    return cleaned


@dataclass(frozen=True)
class BusinessCalendar:
    tz: str = "Asia/Shanghai"
    week: dict[int, Periods] = field(default_factory=lambda: {d: OFFICE for d in range(5)})
    holidays: frozenset[dt.date] = frozenset()
    workdays: frozenset[dt.date] = frozenset()
    workday_periods: Periods = OFFICE

    def __post_init__(self):
        object.__setattr__(self, "week", {int(d): _check_periods(p) for d, p in self.week.items() if p})
        object.__setattr__(self, "workday_periods", _check_periods(self.workday_periods))
        object.__setattr__(self, "holidays", frozenset(self.holidays))
        object.__setattr__(self, "workdays", frozenset(self.workdays))
        object.__setattr__(self, "_zone", ZoneInfo(self.tz))

    @classmethod
    def always(cls, tz: str = "UTC") -> "BusinessCalendar":
        """Round the clock, every day (an urgent policy, a 24x7 group)."""
        return cls(tz=tz, week={d: ((0, DAY_MINUTES),) for d in range(7)})

    def periods_on(self, day: dt.date) -> Periods:
        if day in self.holidays:
            return ()
        if day in self.workdays:
            return self.workday_periods
        return self.week.get(day.weekday(), ())

    # -- instants ------------------------------------------------------------------------------
    def _instant(self, day: dt.date, minute: int) -> dt.datetime:
        # aware + timedelta is wall-clock arithmetic in the zone: the local time ``minute`` after midnight
        local = dt.datetime.combine(day, dt.time(0), tzinfo=self._zone) + dt.timedelta(minutes=minute)
        return local.astimezone(dt.timezone.utc)

    def intervals(self, start: dt.datetime) -> Iterator[tuple[dt.datetime, dt.datetime]]:
        """The working intervals from ``start`` on (the first one cut at ``start``), in UTC."""
        _aware(start)
        day = start.astimezone(self._zone).date() - dt.timedelta(days=1)   # a period may straddle a DST edge
        for _ in range(MAX_DAYS + 2):
            for first, last in self.periods_on(day):
                begin, end = self._instant(day, first), self._instant(day, last)
                if end > start:
                    yield max(begin, start), end
            day += dt.timedelta(days=1)

    # -- time in business hours ------------------------------------------------------------------
    def add(self, start: dt.datetime, duration: dt.timedelta) -> dt.datetime:
        """The instant at which ``duration`` of working time counted from ``start`` has passed (a
        zero duration: ``start`` itself, working or not)."""
        if duration < ZERO:
            raise ValueError("a business duration is never negative")
        if duration == ZERO:
            return start
        left = duration
        for begin, end in self.intervals(start):
            if end - begin >= left:
                return begin + left
            left -= end - begin
        raise ValueError(f"the calendar has no working time for {duration} within {MAX_DAYS} days")

    def between(self, start: dt.datetime, end: dt.datetime) -> dt.timedelta:
        """Working time in ``[start, end)`` (zero when ``end`` is not after ``start``)."""
        _aware(end)
        total = ZERO
        if end <= start:
            return total
        for begin, stop in self.intervals(start):
            if begin >= end:
                break
            total += min(stop, end) - begin
        return total

    def describe(self) -> dict:
        """What the calendar is, for the API and the audit: its rules as plain data."""
        return {"tz": self.tz, "week": {str(d): [list(p) for p in ps] for d, ps in sorted(self.week.items())},
                "holidays": sorted(d.isoformat() for d in self.holidays),
                "workdays": sorted(d.isoformat() for d in self.workdays),
                "workday_periods": [list(p) for p in self.workday_periods]}


def _aware(moment: dt.datetime) -> None:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError("business time is measured between aware datetimes")
