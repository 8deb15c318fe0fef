"""Recycle eligibility and warning dates (``services.leads.domain.recycling``), table-driven."""
from __future__ import annotations

import datetime as dt
from types import SimpleNamespace

import pytest

from services.leads import domain

T0 = dt.datetime(2024, 11, 1, 9, tzinfo=dt.timezone.utc)
DAY = dt.timedelta(days=1)


def test_recycle_counts_from_the_last_follow_up_else_the_assignment():
    assert domain.recycle_at(None, T0, 14) == T0 + dt.timedelta(days=14)
    later = T0 + dt.timedelta(days=5)
    assert domain.recycle_at(later, T0, 14) == later + dt.timedelta(days=14)
    assert domain.recycle_at(None, T0, None) is None
    assert domain.is_due_for_recycle(None, T0, 14, T0 + dt.timedelta(days=14))
    assert not domain.is_due_for_recycle(None, T0, 14, T0 + dt.timedelta(days=13, hours=23))
    assert domain.warning_at(T0, 3) == T0 - dt.timedelta(days=3)
    assert domain.warning_at(T0, None) is None


def lead(followed=None, assigned=None, created=T0):
    return SimpleNamespace(last_followed_at=followed, assigned_at=assigned, created_at=created)


# (lead, recycle_after_days, as_of) -> (recycle time, due as of then)
ELIGIBILITY = {
    "never followed: from the assignment": (lead(assigned=T0), 7, T0 + 7 * DAY, (T0 + 7 * DAY, True)),
    "a moment before": (lead(assigned=T0), 7, T0 + 7 * DAY - dt.timedelta(seconds=1), (T0 + 7 * DAY, False)),
    "followed since: from the follow-up": (lead(followed=T0 + 3 * DAY, assigned=T0), 7, T0 + 8 * DAY,
                                           (T0 + 10 * DAY, False)),
    "assigned again after the follow-up": (lead(followed=T0, assigned=T0 + 2 * DAY), 7, T0 + 9 * DAY,
                                           (T0 + 9 * DAY, True)),
    "never assigned: from the creation": (lead(created=T0 - DAY), 1, T0, (T0, True)),
    "the pool does not recycle": (lead(assigned=T0), None, T0 + 999 * DAY, (None, False)),
}


@pytest.mark.parametrize("case", ELIGIBILITY)
def test_recycle_eligibility(case):
    subject, after, as_of, (due, eligible) = ELIGIBILITY[case]
    assert domain.lead_recycle_at(subject, after) == due
    assert domain.lead_due_for_recycle(subject, after, as_of) is eligible
    if after is not None:           # what the query selects holds every eligible lead
        since = domain.stale_since(as_of, after)
        selected = (subject.assigned_at or subject.created_at) <= since and (
            subject.last_followed_at is None or subject.last_followed_at <= since)
        assert selected or not eligible


# (lead, after, warning days, due_before) -> the recycle time warned of, or None
WARNINGS = [
    (lead(assigned=T0), 10, 3, T0 + 7 * DAY, T0 + 10 * DAY),              # warned from 3 days before
    (lead(assigned=T0), 10, 3, T0 + 7 * DAY - dt.timedelta(seconds=1), None),
    (lead(assigned=T0), 10, None, T0 + 99 * DAY, None),                    # no warning days: no warning
    (lead(assigned=T0), 10, 0, T0 + 99 * DAY, None),
    (lead(assigned=T0), None, 3, T0 + 99 * DAY, None),                     # no recycling: nothing to warn of
    (lead(followed=T0 + 5 * DAY, assigned=T0), 10, 3, T0 + 8 * DAY, None),   # the follow-up moved it on
    (lead(followed=T0 + 5 * DAY, assigned=T0), 10, 3, T0 + 12 * DAY, T0 + 15 * DAY),
]


@pytest.mark.parametrize("subject, after, warning_days, due_before, warned", WARNINGS)
def test_recycle_warning_dates(subject, after, warning_days, due_before, warned):
    assert domain.recycle_warning(subject, after, warning_days, due_before) == warned


def test_last_activity():
    assert domain.last_activity(None, None) is None
    assert domain.last_activity(T0, None) == T0
    assert domain.last_activity(T0, T0 + DAY) == T0 + DAY
    assert domain.lead_last_activity(lead(created=T0)) == T0
