"""A ticket's SLA clocks (``domain.sla``) as they stand at an instant: the policy and calendar the
ticket runs by (chosen when it opens or its priority or group changes: ``choose``), its pauses,
when each clock stopped, and the flags already raised. ``refresh`` keeps ``next_sla_check_at``, the
earliest moment a clock may warn or breach, so the timer finds due tickets with one indexed query.

Each clock starts when the ticket opens; ``first_response`` stops at the first public comment,
``resolution`` at the resolution, ``arrival`` (on-site tickets only) at the arrival recorded --
and every clock not stopped yet stops when the ticket is resolved. Every pause (waiting on the
customer; a resolved ticket until it is reopened) stands them all still.
"""
from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from services.support.domain import sla
from services.support.domain.sla_policies import DEFAULT_POLICIES, calendar_from, policy_from_dict, policy_to_dict
from services.support.models import SlaPolicy, SupportGroup, Ticket


def choose(session, ticket: Ticket, group: SupportGroup | None) -> None:
    """Snapshot the policy of the ticket's priority (and customer level) and its group's calendar."""
    stored = [sla.Policy(p.name, p.priority, p.customer_level, p.first_response_minutes, p.resolution_minutes,
                         p.arrival_minutes, p.warn_fraction)
              for p in session.scalars(select(SlaPolicy).where(SlaPolicy.priority == ticket.priority))]
    policy = (sla.choose_policy(stored, ticket.priority, ticket.customer_level)
              or sla.choose_policy(DEFAULT_POLICIES, ticket.priority, None))
    ticket.sla_policy = policy_to_dict(policy) if policy is not None else None
    ticket.sla_calendar = calendar_from(group.calendar if group is not None else None).describe()


def _stops(ticket: Ticket) -> dict[str, dt.datetime | None]:
    resolved = ticket.resolved_at
    return {"first_response": ticket.first_response_at or resolved, "resolution": resolved,
            "arrival": ticket.arrived_at or resolved}


def states(ticket: Ticket, now: dt.datetime) -> list[sla.ClockState]:
    if not ticket.sla_policy:
        return []
    policy, calendar = policy_from_dict(ticket.sla_policy), calendar_from(ticket.sla_calendar)
    pauses = [(p.started_at, p.ended_at) for p in ticket.pauses]
    stops, out = _stops(ticket), []
    for clock in sla.CLOCKS:
        target = policy.target(clock)
        if target is None or clock == "arrival" and not ticket.onsite:
            continue
        stopped = stops[clock]
        out.append(sla.clock_state(calendar, clock, ticket.opened_at, target, now, pauses,
                                   stopped if stopped is not None and stopped <= now else None,
                                   policy.warn_fraction))
    return out


def flagged(ticket: Ticket) -> set[tuple[str, str]]:
    return {(f.clock, f.kind) for f in ticket.flags}


def refresh(ticket: Ticket, now: dt.datetime, found: list[sla.ClockState] | None = None) -> None:
    """``next_sla_check_at``: the earliest warning or deadline to come of a clock that runs (a paused
    clock has none: the resume sets it again)."""
    found = states(ticket, now) if found is None else found
    ticket.next_sla_check_at = sla.next_check([s for s in found if s.state != sla.PAUSED], flagged(ticket))


def sla_of(ticket: Ticket, now: dt.datetime) -> dict:
    """The ticket's ``sla`` field: its policy and each clock's state, due time and what remains."""
    found, raised = states(ticket, now), flagged(ticket)
    return {"policy": (ticket.sla_policy or {}).get("name"), "as_of": now.isoformat(),
            "calendar_tz": (ticket.sla_calendar or {}).get("tz"),
            "clocks": [{**s.as_dict(), "warned": (s.clock, "warning") in raised,
                        "breach_flagged": (s.clock, "breached") in raised} for s in found],
            "next_check_at": ticket.next_sla_check_at.isoformat() if ticket.next_sla_check_at else None}
