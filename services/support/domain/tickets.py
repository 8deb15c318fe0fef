"""A ticket's statuses and its status machine (domain.md, Support; issue 14), kept as data.

``new`` → ``assigned`` → ``in_progress`` → ``waiting_on_customer`` ↔ ``in_progress`` → ``resolved``
→ ``closed``; a resolved ticket may be reopened, a closed one within ``REOPEN_DAYS`` of its closing
(then it is a new ticket's turn). :func:`transition` answers where an action leads or raises
``InvalidState`` naming the current state and what is allowed in it (409 at the gateway).
"""
from __future__ import annotations

import datetime as dt

from crm_kit.errors import InvalidState

NEW, ASSIGNED, IN_PROGRESS, WAITING, RESOLVED, CLOSED = (
    "new", "assigned", "in_progress", "waiting_on_customer", "resolved", "closed")
STATUSES = (NEW, ASSIGNED, IN_PROGRESS, WAITING, RESOLVED, CLOSED)
OPEN_STATUSES = (NEW, ASSIGNED, IN_PROGRESS, WAITING)       # counted in an agent's load
CHANNELS = ("phone", "email", "web", "chat", "portal")
CATEGORIES = ("fault", "complaint", "consultation", "suggestion")
PRIORITIES = ("low", "normal", "high", "urgent")
REOPEN_DAYS = 7            # a closed ticket may be reopened for this many days after its closing

# action -> {from_state: to_state}. Every (state, action) pair not listed is InvalidState.
TRANSITIONS: dict[str, dict[str, str]] = {
    # given to an agent (by routing or by hand); again: a reassignment, the status stays
    "assign": {NEW: ASSIGNED, ASSIGNED: ASSIGNED, IN_PROGRESS: IN_PROGRESS, WAITING: WAITING},
    # the assignee starts on it (their first public reply starts it too)
    "start": {ASSIGNED: IN_PROGRESS},
    # a question to the customer: the SLA clocks pause
    "wait": {IN_PROGRESS: WAITING},
    # the customer answered (or the agent goes on): the clocks run again
    "resume": {WAITING: IN_PROGRESS},
    "resolve": {ASSIGNED: RESOLVED, IN_PROGRESS: RESOLVED, WAITING: RESOLVED},
    "close": {RESOLVED: CLOSED},
    # not solved after all: back to its assignee
    "reopen": {RESOLVED: IN_PROGRESS, CLOSED: IN_PROGRESS},
}
ACTIONS = tuple(TRANSITIONS)


def allowed_actions(status: str) -> list[str]:
    return [action for action, moves in TRANSITIONS.items() if status in moves]


def transition(status: str, action: str, *, closed_at: dt.datetime | None = None,
               now: dt.datetime | None = None, reopen_days: int = REOPEN_DAYS) -> str:
    """The status ``action`` leads to from ``status``; ``InvalidState`` (naming the state) otherwise.
    Reopening a closed ticket needs ``closed_at`` and ``now``: allowed for ``reopen_days`` days."""
    moves = TRANSITIONS.get(action)
    if moves is None:
        raise ValueError(f"unknown ticket action {action!r}")
    if status not in moves:
        raise InvalidState(f"Cannot {action.replace('_', ' ')} a ticket in state '{status}'.",
                           {"action": action, "current_state": status, "allowed_actions": allowed_actions(status)})
    if action == "reopen" and status == CLOSED:
        limit = closed_at + dt.timedelta(days=reopen_days) if closed_at is not None else None
        if limit is None or now is None or now > limit:
            raise InvalidState(
                f"A closed ticket may be reopened within {reopen_days} days of its closing"
                + (f" (until {limit.isoformat()})" if limit else "") + "; open a new ticket instead.",
                {"action": action, "current_state": status, "reopen_days": reopen_days,
                 "allowed_until": limit.isoformat() if limit else None})
    return moves[status]
