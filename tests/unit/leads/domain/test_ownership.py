"""Giving a lead, letting it go, answering it (``services.leads.domain.ownership``)."""
from __future__ import annotations

import datetime as dt
from types import SimpleNamespace

import pytest

from services.leads import domain

T0 = dt.datetime(2024, 11, 1, 9, tzinfo=dt.timezone.utc)
FIELDS = ("owner_id", "department_id", "assigned_at", "first_response_at", "sla_due_at", "next_contact_at",
          "previous_owner_id", "last_followed_at")


def lead(**values):
    return SimpleNamespace(**{**dict.fromkeys(FIELDS), **values})


@pytest.mark.parametrize("before, owner, hours, previous, remembered", [
    ({}, "u1", None, None, None),                                       # unassigned -> u1
    ({"owner_id": "u1"}, "u2", 4, "u1", "u1"),                          # u1 -> u2: u1 remembered
    ({"owner_id": "u1", "previous_owner_id": "u0"}, "u1", None, "u1", "u0"),   # to the same owner again
    ({"previous_owner_id": "u0"}, "u1", None, None, "u0"),             # a returned lead claimed
])
def test_give(before, owner, hours, previous, remembered):
    subject = lead(first_response_at=T0, **before)
    assert domain.give(subject, owner, "d1", T0, hours) == previous
    assert (subject.owner_id, subject.department_id, subject.assigned_at) == (owner, "d1", T0)
    assert subject.first_response_at is None                            # the clock restarts
    assert subject.sla_due_at == (T0 + dt.timedelta(hours=hours) if hours else None)
    assert subject.previous_owner_id == remembered


@pytest.mark.parametrize("owner, remembered", [("u1", "u1"), (None, "u0")])
def test_release(owner, remembered):
    subject = lead(owner_id=owner, previous_owner_id="u0", department_id="d1", assigned_at=T0, sla_due_at=T0,
                   first_response_at=T0, next_contact_at=T0, last_followed_at=T0)
    assert domain.release(subject) == owner
    assert subject.previous_owner_id == remembered
    assert all(getattr(subject, f) is None for f in ("owner_id", "department_id", "assigned_at", "sla_due_at",
                                                       "first_response_at", "next_contact_at"))
    assert subject.last_followed_at == T0                               # history stays


def test_a_follow_up_is_the_first_response_once():
    subject = lead()
    domain.followed_up(subject, T0, T0 + dt.timedelta(days=2))
    assert (subject.last_followed_at, subject.first_response_at, subject.next_contact_at) == (
        T0, T0, T0 + dt.timedelta(days=2))
    later = T0 + dt.timedelta(hours=5)
    domain.followed_up(subject, later, None)
    assert (subject.last_followed_at, subject.first_response_at, subject.next_contact_at) == (later, T0, None)
