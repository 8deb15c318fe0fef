"""The lead's rules, in plain Python (no database, no broker).

The status machine of domain.md, kept as data (:data:`TRANSITIONS`): which
action is allowed in which state, and where it leads. Application code asks
:func:`transition` before changing a lead; a forbidden action raises
``InvalidState`` naming the current state (409 at the gateway).

Also here: the pool rules that need no I/O (who gets a distributed lead, the
recycle and warning times, the first-response SLA).
"""
from __future__ import annotations

import datetime as dt

from crm_kit.errors import InvalidState

UNASSIGNED, PENDING, FOLLOWING, INVALID, CONVERTED, DISCARDED = (
    "unassigned", "pending", "following", "invalid", "converted", "discarded")
STATUSES = (UNASSIGNED, PENDING, FOLLOWING, INVALID, CONVERTED, DISCARDED)
LIVE_STATUSES = tuple(s for s in STATUSES if s != DISCARDED)
# An owner holds the lead (counts for max_held, least-loaded, recycling, reminders).
HELD_STATUSES = (PENDING, FOLLOWING, INVALID)
SOURCES = ("trade_show", "campaign", "web_form", "advertisement", "purchased_list", "referral", "other")
FOLLOW_UP_KINDS = ("call", "email", "visit", "sms", "meeting", "other")

MANUAL, ROUND_ROBIN, LEAST_LOADED = "manual", "round_robin", "least_loaded"
DISTRIBUTIONS = (MANUAL, ROUND_ROBIN, LEAST_LOADED)

# action -> {from_state: to_state}. Every (state, action) pair not listed is InvalidState.
TRANSITIONS: dict[str, dict[str, str]] = {
    # a pool admin / manager / admin gives the lead to someone (or to someone else)
    "assign": {UNASSIGNED: PENDING, PENDING: PENDING, FOLLOWING: FOLLOWING, INVALID: INVALID},
    # a pool member takes an unassigned lead
    "claim": {UNASSIGNED: PENDING},
    # the owner gives it back to the pool, with a reason
    "return": {PENDING: UNASSIGNED, FOLLOWING: UNASSIGNED, INVALID: UNASSIGNED},
    # no follow-up for the pool's recycle period: back to the pool
    "recycle": {PENDING: UNASSIGNED, FOLLOWING: UNASSIGNED, INVALID: UNASSIGNED},
    # could not be reached (may be followed up again later)
    "invalidate": {PENDING: INVALID, FOLLOWING: INVALID},
    # junk
    "discard": {UNASSIGNED: DISCARDED, PENDING: DISCARDED, FOLLOWING: DISCARDED, INVALID: DISCARDED},
    # only an admin: discarded -> back to the pool
    "restore": {DISCARDED: UNASSIGNED},
    # a follow-up record was added
    "follow_up": {PENDING: FOLLOWING, FOLLOWING: FOLLOWING, INVALID: FOLLOWING},
    "convert": {PENDING: CONVERTED, FOLLOWING: CONVERTED, INVALID: CONVERTED},
}
ACTIONS = tuple(TRANSITIONS)


def transition(action: str, current: str) -> str:
    """The state ``action`` leads to from ``current``, or ``InvalidState``."""
    target = TRANSITIONS[action].get(current)
    if target is None:
        raise InvalidState.for_action("lead", action, current)
    return target


def initial_status(owner_id: str | None) -> str:
    """A lead with an owner starts ``pending``; a pool lead ``unassigned``."""
    return PENDING if owner_id else UNASSIGNED


# A lead may be deleted while nothing came of it yet; a followed or converted lead is history.
DELETABLE_STATUSES = (UNASSIGNED, PENDING, INVALID, DISCARDED)
# A converted lead is a record of what was converted: its fields no longer change.
EDITABLE_STATUSES = tuple(s for s in STATUSES if s != CONVERTED)


def ensure_deletable(current: str) -> None:
    if current not in DELETABLE_STATUSES:
        raise InvalidState.for_action("lead", "delete", current)


def ensure_editable(current: str) -> None:
    if current not in EDITABLE_STATUSES:
        raise InvalidState.for_action("lead", "update", current)


# -- distribution ----------------------------------------------------------------
def next_round_robin(members: list[str], cursor: str | None) -> str | None:
    """The member after ``cursor`` in a stable (sorted) order, wrapping around."""
    ordered = sorted(set(members))
    if not ordered:
        return None
    for user_id in ordered:
        if cursor is None or user_id > cursor:
            return user_id
    return ordered[0]


def least_loaded(held: dict[str, int]) -> str | None:
    """The member holding the fewest leads (ties: the smallest id, so the choice is stable)."""
    if not held:
        return None
    return min(sorted(held), key=lambda user_id: held[user_id])


# -- recycling and SLA -------------------------------------------------------------
def last_activity(last_followed_at: dt.datetime | None, assigned_at: dt.datetime | None) -> dt.datetime | None:
    """What the recycle period counts from: the last follow-up, else the assignment."""
    if last_followed_at and assigned_at:
        return max(last_followed_at, assigned_at)
    return last_followed_at or assigned_at


def recycle_at(last_followed_at, assigned_at, recycle_after_days: int | None) -> dt.datetime | None:
    """When a held lead goes back to the pool (None: the pool does not recycle)."""
    since = last_activity(last_followed_at, assigned_at)
    if recycle_after_days is None or since is None:
        return None
    return since + dt.timedelta(days=recycle_after_days)


def is_due_for_recycle(last_followed_at, assigned_at, recycle_after_days, as_of: dt.datetime) -> bool:
    due = recycle_at(last_followed_at, assigned_at, recycle_after_days)
    return due is not None and due <= as_of


def warning_at(recycle_time: dt.datetime | None, warning_days: int | None) -> dt.datetime | None:
    if recycle_time is None or not warning_days:
        return None
    return recycle_time - dt.timedelta(days=warning_days)


def sla_due_at(assigned_at: dt.datetime | None, first_response_hours: int | None) -> dt.datetime | None:
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
