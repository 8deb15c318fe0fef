"""Birthdays and reminder windows (``services.customers.domain.reminders``) and what a follow-up
does to its customer (``domain.follow_ups``), table-driven."""
from __future__ import annotations

import datetime as dt
from types import SimpleNamespace

import pytest

from services.customers.domain import follow_ups, reminders

D = dt.date
UTC = dt.timezone.utc

# (birthday, window start, window end) -> the day it recurs in the window, or None
BIRTHDAYS = {
    "today": (D(1980, 6, 5), D(2024, 6, 5), D(2024, 6, 5), D(2024, 6, 5)),
    "yesterday: gone": (D(1980, 6, 4), D(2024, 6, 5), D(2024, 6, 12), None),
    "within a week": (D(1990, 6, 9), D(2024, 6, 5), D(2024, 6, 12), D(2024, 6, 9)),
    "after the window": (D(1990, 6, 13), D(2024, 6, 5), D(2024, 6, 12), None),
    "across the new year": (D(1975, 1, 2), D(2024, 12, 30), D(2025, 1, 5), D(2025, 1, 2)),
    "29 February in a leap year": (D(1992, 2, 29), D(2024, 2, 28), D(2024, 3, 1), D(2024, 2, 29)),
    "29 February in a common year: the 28th": (D(1992, 2, 29), D(2025, 2, 28), D(2025, 2, 28), D(2025, 2, 28)),
    "empty window": (D(1980, 6, 5), D(2024, 6, 5), D(2024, 6, 4), None),
    "no birthday": (None, D(2024, 6, 5), D(2024, 6, 5), None),
}


@pytest.mark.parametrize("case", BIRTHDAYS)
def test_birthday_between(case):
    birthday, start, end, expected = BIRTHDAYS[case]
    assert reminders.birthday_between(birthday, start, end) == expected
    days = reminders.month_days(start, end)      # what the query filters on holds every match
    if expected is not None:
        assert days is None or birthday.month * 100 + birthday.day in days


def test_month_days():
    assert reminders.month_days(D(2024, 6, 5), D(2024, 6, 7)) == {605, 606, 607}
    assert reminders.month_days(D(2024, 6, 5), D(2024, 6, 4)) == set()
    assert reminders.month_days(D(2024, 1, 1), D(2024, 12, 31)) is None
    assert 229 in reminders.month_days(D(2025, 2, 27), D(2025, 3, 1))


def test_birthday_window_and_due_time():
    now = dt.datetime(2024, 6, 5, 15, 30, tzinfo=UTC)
    assert reminders.birthday_window(now, now) == (D(2024, 6, 5), D(2024, 6, 5))
    assert reminders.birthday_window(now, now + dt.timedelta(days=7)) == (D(2024, 6, 5), D(2024, 6, 12))
    assert reminders.birthday_due_at(D(2024, 6, 9)) == dt.datetime(2024, 6, 9, tzinfo=UTC)


def test_a_follow_up_is_the_last_and_sets_the_next_contact():
    now = dt.datetime(2024, 6, 5, 9, tzinfo=UTC)
    customer = SimpleNamespace(last_followed_at=None, next_contact_at=now)
    follow_ups.followed_up(customer, now, now + dt.timedelta(days=3))
    assert (customer.last_followed_at, customer.next_contact_at) == (now, now + dt.timedelta(days=3))
    follow_ups.followed_up(customer, now, None)          # the contact that was due has happened
    assert customer.next_contact_at is None
    assert follow_ups.FOLLOW_UP_KINDS == ("call", "email", "visit", "sms", "meeting", "event", "other")
