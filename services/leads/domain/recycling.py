"""Recycling: when a pool takes a held lead back, and when its owner is warned.

A pool with ``recycle_after_days`` takes back a held lead (``pending``, ``following``,
``invalid``) that had no follow-up -- nor, since its last follow-up, a new assignment -- for that
many days: the period counts from the last follow-up, else the assignment, else the lead's
creation. ``recycle_warning_days`` before that time the owner gets a reminder.
"""
from __future__ import annotations

import datetime as dt


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
    """When the owner is warned: ``warning_days`` before the recycle time (None: no warning)."""
    if recycle_time is None or not warning_days:
        return None
    return recycle_time - dt.timedelta(days=warning_days)


# -- the same, for a lead (its last_followed_at, assigned_at, created_at) -------------------------
def counted_from(lead) -> dt.datetime | None:
    """The assignment the period counts from when there was no follow-up: a lead never assigned
    (distributed on creation) counts from its creation."""
    return lead.assigned_at or lead.created_at


def lead_last_activity(lead) -> dt.datetime | None:
    return last_activity(lead.last_followed_at, counted_from(lead))


def lead_recycle_at(lead, recycle_after_days: int | None) -> dt.datetime | None:
    return recycle_at(lead.last_followed_at, counted_from(lead), recycle_after_days)


def lead_due_for_recycle(lead, recycle_after_days: int | None, as_of: dt.datetime) -> bool:
    return is_due_for_recycle(lead.last_followed_at, counted_from(lead), recycle_after_days, as_of)


def stale_since(as_of: dt.datetime, recycle_after_days: int) -> dt.datetime:
    """A lead last active at or before this time is due as of ``as_of`` (what the query selects;
    :func:`lead_due_for_recycle` decides each)."""
    return as_of - dt.timedelta(days=recycle_after_days)


def recycle_warning(lead, recycle_after_days: int | None, recycle_warning_days: int | None,
                    due_before: dt.datetime) -> dt.datetime | None:
    """The lead's recycle time if its owner is warned by ``due_before``, else None."""
    due = lead_recycle_at(lead, recycle_after_days)
    warn = warning_at(due, recycle_warning_days)
    return due if warn is not None and warn <= due_before else None
