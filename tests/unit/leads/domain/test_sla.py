"""The first-response SLA (``services.leads.domain.sla``), table-driven."""
from __future__ import annotations

import datetime as dt

import pytest

from services.leads import domain

T0 = dt.datetime(2024, 11, 1, 9, tzinfo=dt.timezone.utc)
H = dt.timedelta(hours=1)


def test_the_target_is_the_pools_hours_after_the_assignment():
    assert domain.sla_due_at(T0, 24) == T0 + 24 * H
    assert domain.sla_due_at(T0, None) is None
    assert domain.sla_due_at(None, 24) is None


@pytest.mark.parametrize("due, first_response, now, breached", [
    (T0 + 24 * H, None, T0 + 23 * H, False),          # not answered, not yet due
    (T0 + 24 * H, None, T0 + 24 * H, False),          # at the target: not past it
    (T0 + 24 * H, None, T0 + 25 * H, True),           # not answered, past it
    (T0 + 24 * H, T0 + 2 * H, T0 + 216 * H, False),   # answered in time: never breached
    (T0 + 24 * H, T0 + 24 * H, T0 + 216 * H, False),
    (T0 + 24 * H, T0 + 30 * H, T0 + 216 * H, True),   # answered late: breached for good
    (None, None, T0, False),                          # no SLA
])
def test_breached(due, first_response, now, breached):
    assert domain.sla_breached(due, first_response, now) is breached
