"""Business time over calendars: working periods, weekends, holidays, make-up workdays (调休),
time zones and a daylight-saving change."""
from __future__ import annotations

import datetime as dt

import pytest

from services.support.domain.calendar import BusinessCalendar

UTC = dt.timezone.utc
H = dt.timedelta(hours=1)
SH = BusinessCalendar()                                   # Asia/Shanghai, Mon-Fri 09:00-18:00
LUNCH = BusinessCalendar(week={d: ((540, 720), (780, 1080)) for d in range(5)})   # 09-12, 13-18


def sh(y, m, d, hh=0, mm=0):      # a Shanghai wall-clock time (UTC+8, no DST) as UTC
    return dt.datetime(y, m, d, hh, mm, tzinfo=UTC) - 8 * H


@pytest.mark.parametrize("start, hours, due", [
    (sh(2026, 12, 1, 10), 2, sh(2026, 12, 1, 12)),       # Tuesday, within the day
    (sh(2026, 12, 1, 17), 2, sh(2026, 12, 2, 10)),       # over the night
    (sh(2026, 12, 1, 20), 1, sh(2026, 12, 2, 10)),       # from outside hours: counts from 09:00
    (sh(2026, 12, 4, 17), 2, sh(2026, 12, 7, 10)),       # Friday to Monday
    (sh(2026, 12, 5, 11), 9, sh(2026, 12, 7, 18)),       # a Saturday start: Monday, all day
    (sh(2026, 12, 1, 10), 24, sh(2026, 12, 3, 16)),      # seed 000's 24 hours: 8 + 9 + 7 business hours
    (sh(2026, 12, 1, 18), 0, sh(2026, 12, 1, 18)),       # nothing to count: the start itself
])
def test_add_in_office_hours(start, hours, due):
    assert SH.add(start, hours * H) == due
    assert SH.between(start, due) == hours * H


def test_a_lunch_break_does_not_count():
    assert LUNCH.add(sh(2026, 12, 1, 11), 2 * H) == sh(2026, 12, 1, 14)
    assert LUNCH.between(sh(2026, 12, 1, 11), sh(2026, 12, 1, 14)) == 2 * H


def test_holidays_and_make_up_workdays():
    # National Day 2026: Oct 1-7 off, Saturday Oct 10 worked (调休)
    cal = BusinessCalendar(holidays=frozenset(dt.date(2026, 10, d) for d in range(1, 8)),
                           workdays=frozenset({dt.date(2026, 10, 10)}))
    assert cal.add(sh(2026, 9, 30, 17), 2 * H) == sh(2026, 10, 8, 10)
    assert cal.add(sh(2026, 10, 9, 17), 2 * H) == sh(2026, 10, 10, 10)      # the Saturday is worked
    assert cal.between(sh(2026, 10, 1), sh(2026, 10, 8)) == dt.timedelta(0)


def test_a_zone_with_daylight_saving():
    berlin = BusinessCalendar(tz="Europe/Berlin")
    # Friday 23 Oct 2026 17:00 CEST (15:00 UTC) + 2 h -> Monday 26 Oct 10:00 CET (09:00 UTC)
    assert berlin.add(dt.datetime(2026, 10, 23, 15, tzinfo=UTC), 2 * H) == dt.datetime(2026, 10, 26, 9, tzinfo=UTC)
    always = BusinessCalendar.always("Europe/Berlin")
    # the night the clocks go back has 25 hours of wall time: counted as it passes, 25 h
    night = (dt.datetime(2026, 10, 24, 22, tzinfo=UTC), dt.datetime(2026, 10, 25, 23, tzinfo=UTC))
    assert always.between(*night) == 25 * H


def test_round_the_clock_and_between_edges():
    always = BusinessCalendar.always()
    start = dt.datetime(2026, 12, 5, 10, tzinfo=UTC)
    assert always.add(start, 48 * H) == start + 48 * H
    assert SH.between(sh(2026, 12, 2), sh(2026, 12, 1)) == dt.timedelta(0)


@pytest.mark.parametrize("bad", [
    dict(week={0: ((600, 540),)}), dict(week={0: ((0, 1500),)}), dict(week={0: ((540, 720), (700, 800))})])
def test_working_periods_must_make_sense(bad):
    with pytest.raises(ValueError):
        BusinessCalendar(**bad)


def test_a_calendar_without_hours_cannot_place_a_deadline():
    with pytest.raises(ValueError):
        BusinessCalendar(week={}).add(sh(2026, 12, 1), H)
    with pytest.raises(ValueError):
        SH.add(dt.datetime(2026, 12, 1), H)              # naive: refused
