"""The first-response SLA: when the owner's first follow-up is due, and whether it came too late.

A pool's ``first_response_hours`` starts counting when a lead gets an owner (``assigned_at``);
``sla_breached`` is judged at read time, here and, for the list filter, in the same terms in SQL
(``services.leads.application.queries``).
"""
from __future__ import annotations

import datetime as dt


def sla_due_at(assigned_at: dt.datetime | None, first_response_hours: int | None) -> dt.datetime | None:
    """The first-response target: ``first_response_hours`` after the assignment (None: no SLA)."""
    if assigned_at is None or first_response_hours is None:
        return None
    return assigned_at + dt.timedelta(hours=first_response_hours)


def sla_breached(due_at: dt.datetime | None, first_response_at: dt.datetime | None, now: dt.datetime) -> bool:
    """Past the pool's first-response target: answered late, or not answered and the target passed."""
    if due_at is None:
        return False
    if first_response_at is not None:
        return first_response_at > due_at
    return now > due_at
