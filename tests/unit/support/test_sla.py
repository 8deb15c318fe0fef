"""SLA clocks over a calendar with an injectable clock: deadlines, pauses while waiting on the
customer, warnings at a fraction, breaches once; and a property: pausing never shortens a deadline."""
from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services.support.domain import sla
from services.support.domain.calendar import BusinessCalendar

UTC = dt.timezone.utc
H = dt.timedelta(hours=1)
SH = BusinessCalendar()                                   # Asia/Shanghai, Mon-Fri 09:00-18:00


def sh(d, hh=0, mm=0):            # December 2026, Shanghai wall clock, as UTC
    return dt.datetime(2026, 12, d, hh, mm, tzinfo=UTC) - 8 * H


START = sh(1, 10)                 # Tuesday 10:00


@pytest.mark.parametrize("pauses, due", [
    ([], sh(1, 14)),                                           # 4 business hours
    ([(sh(1, 11), sh(1, 12))], sh(1, 15)),                     # an hour waiting on the customer
    ([(sh(1, 11), sh(1, 12)), (sh(1, 11, 30), sh(1, 13))], sh(1, 16)),   # overlapping pauses count once
    ([(sh(1, 17), sh(2, 10))], sh(1, 14)),                     # a pause after the deadline changes nothing
    ([(sh(1, 19), sh(2, 8))], sh(1, 14)),                      # ... as does one outside business hours
    ([(sh(1, 12), None)], None),                               # still waiting: no deadline while paused
    ([(sh(1, 9), sh(1, 11))], sh(1, 15)),                      # a pause that began before the clock
])
def test_deadlines_with_pauses(pauses, due):
    assert sla.deadline(SH, START, 4 * H, pauses) == due


@pytest.mark.parametrize("now, pauses, stopped, state, remaining_h", [
    (sh(1, 11), [], None, sla.RUNNING, 3),
    (sh(1, 13, 30), [], None, sla.WARNING, 0.5),               # 80 % of 4 h is 3 h 12 min: 13:12
    (sh(1, 14), [], None, sla.BREACHED, 0),
    (sh(2, 10), [], None, sla.BREACHED, -5),                   # 18:00 + 1 h Wednesday: 5 h over
    (sh(1, 12, 30), [(sh(1, 12), None)], None, sla.PAUSED, 2),
    (sh(1, 13), [], sh(1, 12), sla.MET, 2),
    (sh(1, 16), [], sh(1, 15), sla.MISSED, -1),
])
def test_clock_states(now, pauses, stopped, state, remaining_h):
    got = sla.clock_state(SH, "resolution", START, 4 * H, now, pauses, stopped)
    assert (got.state, got.remaining) == (state, remaining_h * H)
    assert got.as_dict()["target_minutes"] == 240 and got.as_dict()["state"] == state


def test_the_timer_raises_each_flag_once_and_a_breach_not_a_late_warning():
    warn = sla.clock_state(SH, "first_response", START, 4 * H, sh(1, 13, 30))
    breach = sla.clock_state(SH, "resolution", START, 2 * H, sh(1, 13, 30))
    assert sla.new_flags([warn, breach], set()) == [("first_response", "warning"), ("resolution", "breached")]
    assert sla.new_flags([warn, breach], {("first_response", "warning"), ("resolution", "breached")}) == []
    later = sla.clock_state(SH, "first_response", START, 4 * H, sh(1, 15))
    assert sla.new_flags([later], {("first_response", "warning")}) == [("first_response", "breached")]


def test_when_to_look_again():
    running = sla.clock_state(SH, "resolution", START, 4 * H, sh(1, 11))
    assert sla.next_check([running], set()) == sh(1, 13, 12)                  # its warning point
    assert sla.next_check([running], {("resolution", "warning")}) == sh(1, 14)
    met = sla.clock_state(SH, "first_response", START, 4 * H, sh(1, 12), stopped_at=sh(1, 11))
    assert sla.next_check([met], set()) is None


def test_the_policy_for_a_customer_level_wins_over_the_general_one():
    general = sla.Policy("normal", "normal", None, 24 * 60, 72 * 60)
    vip = sla.Policy("normal-vip", "normal", "vip", 4 * 60, 24 * 60, arrival_minutes=48 * 60)
    assert sla.choose_policy([general, vip], "normal", "vip") is vip
    assert sla.choose_policy([general, vip], "normal", "ordinary") is general
    assert sla.choose_policy([general, vip], "urgent", None) is None
    assert vip.target("arrival") == 48 * H and general.target("arrival") is None


MOMENTS = st.integers(min_value=0, max_value=14 * 24 * 60).map(lambda m: START + dt.timedelta(minutes=m))
PAUSES = st.lists(st.tuples(MOMENTS, st.integers(min_value=1, max_value=3 * 24 * 60)), max_size=5).map(
    lambda ps: [(a, a + dt.timedelta(minutes=n)) for a, n in ps])
CALENDARS = st.sampled_from([SH, BusinessCalendar.always(), BusinessCalendar(tz="Europe/Berlin"),
                             BusinessCalendar(week={d: ((540, 720), (780, 1080)) for d in range(6)})])


@settings(max_examples=300, deadline=None)
@given(calendar=CALENDARS, hours=st.integers(min_value=1, max_value=60), pauses=PAUSES)
def test_pausing_never_shortens_a_deadline(calendar, hours, pauses):
    plain = sla.deadline(calendar, START, hours * H)
    paused = sla.deadline(calendar, START, hours * H, pauses)
    assert paused is not None and paused >= plain
    # and the business time it allows, less the paused business time, is the target exactly
    assert sla.elapsed(calendar, START, paused, pauses) == hours * H
