"""A lead's statuses and its status machine (domain.md, Leads), kept as data.

:data:`TRANSITIONS` says which action is allowed in which state and where it leads. Application
code asks :func:`transition` before changing a lead; a forbidden action raises ``InvalidState``
naming the current state (409 at the gateway). Also here: what a lead is made of that is not a
status -- its sources, the kinds of follow-up -- and which states may be edited or deleted.
"""
from __future__ import annotations

from crm_kit.errors import InvalidState

UNASSIGNED, PENDING, FOLLOWING, INVALID, CONVERTED, DISCARDED = (
    "unassigned", "pending", "following", "invalid", "converted", "discarded")
STATUSES = (UNASSIGNED, PENDING, FOLLOWING, INVALID, CONVERTED, DISCARDED)
LIVE_STATUSES = tuple(s for s in STATUSES if s != DISCARDED)
# An owner holds the lead (counts for max_held, least-loaded, recycling, reminders).
HELD_STATUSES = (PENDING, FOLLOWING, INVALID)
SOURCES = ("trade_show", "campaign", "web_form", "advertisement", "purchased_list", "referral", "other")
DEFAULT_SOURCE = "other"           # a lead that does not say where it came from (model and input)
FOLLOW_UP_KINDS = ("call", "email", "visit", "sms", "meeting", "other")

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
