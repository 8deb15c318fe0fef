"""Who holds a lead: giving it to an owner, letting it go, answering it.

- **Giving** (assign, claim, the pool's distribution): the new owner and their department, the
  assignment time, and the first-response clock restarted (``sla_due_at`` from the pool's
  ``first_response_hours``); the owner before is remembered as ``previous_owner_id``.
- **Letting go** (return, recycle, restore): back to nobody -- owner, department, assignment, SLA
  and next contact cleared, the owner remembered (the reclaim cooldown counts from then).
- **Answering** (a follow-up): ``last_followed_at``, the first response if there was none since
  the assignment, the next contact time.

These change the lead object they are given (an ORM row or any object with those attributes)
and nothing else; the application logs the change of owner (``lead_ownership_log``).
"""
from __future__ import annotations

import datetime as dt

from services.leads.domain.sla import sla_due_at

# How an owner got a lead, and how they let it go (lead_ownership_log.kind).
GIVEN_BY = ("assign", "claim", "distribution")
RELEASED_BY = ("return", "recycle", "restore")


def give(lead, owner_id: str, department_id: str | None, now: dt.datetime,
         first_response_hours: int | None) -> str | None:
    """Make ``owner_id`` the owner; returns the previous owner. The SLA clock restarts."""
    previous = lead.owner_id
    if previous and previous != owner_id:
        lead.previous_owner_id = previous
    lead.owner_id = owner_id
    lead.department_id = department_id
    lead.assigned_at = now
    lead.first_response_at = None
    lead.sla_due_at = sla_due_at(now, first_response_hours)
    return previous


def release(lead) -> str | None:
    """The owner lets go: back to unassigned, the owner remembered; returns them."""
    previous = lead.owner_id
    if previous:
        lead.previous_owner_id = previous
    lead.owner_id = None
    lead.department_id = None
    lead.assigned_at = None
    lead.first_response_at = None
    lead.sla_due_at = None
    lead.next_contact_at = None
    return previous


def followed_up(lead, now: dt.datetime, next_contact_at: dt.datetime | None) -> None:
    """A follow-up was recorded now (the status change is ``transition("follow_up", ...)``)."""
    lead.last_followed_at = now
    if lead.first_response_at is None:
        lead.first_response_at = now
    lead.next_contact_at = next_contact_at
