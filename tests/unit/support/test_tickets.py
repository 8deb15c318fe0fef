"""The ticket's status machine as a table: every (state, action) pair, allowed or 409 naming the state."""
from __future__ import annotations

import datetime as dt

import pytest

from crm_kit.errors import InvalidState
from services.support.domain import tickets as t

UTC = dt.timezone.utc
NOW = dt.datetime(2026, 12, 3, 10, tzinfo=UTC)

ALLOWED = {
    (t.NEW, "assign"): t.ASSIGNED, (t.ASSIGNED, "assign"): t.ASSIGNED,
    (t.IN_PROGRESS, "assign"): t.IN_PROGRESS, (t.WAITING, "assign"): t.WAITING,
    (t.ASSIGNED, "start"): t.IN_PROGRESS,
    (t.IN_PROGRESS, "wait"): t.WAITING, (t.WAITING, "resume"): t.IN_PROGRESS,
    (t.ASSIGNED, "resolve"): t.RESOLVED, (t.IN_PROGRESS, "resolve"): t.RESOLVED, (t.WAITING, "resolve"): t.RESOLVED,
    (t.RESOLVED, "close"): t.CLOSED,
    (t.RESOLVED, "reopen"): t.IN_PROGRESS, (t.CLOSED, "reopen"): t.IN_PROGRESS,
}


@pytest.mark.parametrize("status", t.STATUSES)
@pytest.mark.parametrize("action", t.ACTIONS)
def test_every_state_and_action(status, action):
    closed_at = NOW - dt.timedelta(days=1)
    if (status, action) in ALLOWED:
        assert t.transition(status, action, closed_at=closed_at, now=NOW) == ALLOWED[(status, action)]
        assert action in t.allowed_actions(status)
    else:
        with pytest.raises(InvalidState) as refused:
            t.transition(status, action, closed_at=closed_at, now=NOW)
        assert refused.value.extra["current_state"] == status and f"'{status}'" in str(refused.value)
        assert refused.value.extra["allowed_actions"] == t.allowed_actions(status)


@pytest.mark.parametrize("closed_days_ago, allowed", [(0, True), (6.9, True), (7, True), (7.01, False), (30, False)])
def test_a_closed_ticket_reopens_within_the_window(closed_days_ago, allowed):
    closed_at = NOW - dt.timedelta(days=closed_days_ago)
    if allowed:
        assert t.transition(t.CLOSED, "reopen", closed_at=closed_at, now=NOW) == t.IN_PROGRESS
    else:
        with pytest.raises(InvalidState) as refused:
            t.transition(t.CLOSED, "reopen", closed_at=closed_at, now=NOW)
        assert refused.value.extra["reopen_days"] == 7 and "new ticket" in str(refused.value)
        assert refused.value.extra["allowed_until"] == (closed_at + dt.timedelta(days=7)).isoformat()


def test_the_window_is_a_setting():
    closed_at = NOW - dt.timedelta(days=10)
    assert t.transition(t.CLOSED, "reopen", closed_at=closed_at, now=NOW, reopen_days=30) == t.IN_PROGRESS


def test_an_unknown_action_is_a_bug_not_a_409():
    with pytest.raises(ValueError):
        t.transition(t.NEW, "teleport")
