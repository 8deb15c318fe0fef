"""Who a pool gives a new lead to (its ``distribution``).

``manual``: the default assignee when it is a member, else nobody (the lead waits ``unassigned``).
``round_robin``: the next member after the pool's cursor, in id order. ``least_loaded``: the member
holding the fewest of the pool's leads (ties: the smallest id). Automatic distribution skips members
holding ``max_held`` leads already.
"""
from __future__ import annotations

from services.leads.domain.pools import MANUAL, ROUND_ROBIN


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


def needs_held_counts(distribution: str) -> bool:
    """Whether choosing an owner looks at what the members hold (automatic distribution)."""
    return distribution != MANUAL


def eligible_members(members, held: dict[str, int], max_held: int | None) -> dict[str, int]:
    """``{member: leads held}`` of the members who may get one more (below ``max_held``)."""
    return {m: held.get(m, 0) for m in members if max_held is None or held.get(m, 0) < max_held}


def choose_owner(distribution: str, members: list[str], held: dict[str, int], max_held: int | None,
                 cursor: str | None, default_assignee_id: str | None) -> str | None:
    """The member the pool gives a new lead to, or None (it stays unassigned). ``members`` in id
    order; ``held``: the pool's held leads per member (automatic distribution only)."""
    if distribution == MANUAL:
        return default_assignee_id if default_assignee_id in members else None
    eligible = eligible_members(members, held, max_held)
    if distribution == ROUND_ROBIN:
        return next_round_robin(list(eligible), cursor)
    return least_loaded(eligible)
