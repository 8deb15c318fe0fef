"""Recycling (``application.recycling``): one pool's rule, every pool's, and the cooldown after it."""
from __future__ import annotations

import datetime as dt

import pytest

from crm_kit.errors import Forbidden, LimitExceeded, ValidationFailed
from services.leads import application as app
from tests.unit.conftest import ADMIN
from tests.unit.leads.support import M1, POOL_ADMIN, UTC, events, lead, pool, shift


def test_recycle_pool(db):
    p = pool(db, default_assignee_id="m1", recycle_after_days=7)
    stale, followed, other = lead(db, p["id"]), lead(db, p["id"]), lead(db, p["id"])
    now = dt.datetime.now(UTC)
    shift(db, stale["id"], assigned_at=now - dt.timedelta(days=8))
    shift(db, followed["id"], assigned_at=now - dt.timedelta(days=8), last_followed_at=now - dt.timedelta(days=2))
    result = app.recycle_pool(db.uow(), POOL_ADMIN, p["id"], None)
    assert result["recycled"] == [stale["id"]]
    got = app.get_lead(db.uow(), ADMIN, stale["id"])
    assert (got["status"], got["owner_id"], got["previous_owner_id"]) == ("unassigned", None, "m1")
    [recycled] = events(db, "lead_recycled")
    assert recycled["previous_owner_id"] == "m1" and recycled["from_status"] == "pending"
    # as of ten days ahead, the rest go too
    later = (now + dt.timedelta(days=10)).isoformat()
    assert sorted(app.recycle_pool(db.uow(), ADMIN, p["id"], later)["recycled"]) == sorted(
        [followed["id"], other["id"]])
    with pytest.raises(Forbidden):
        app.recycle_pool(db.uow(), M1, p["id"], None)
    with pytest.raises(ValidationFailed):
        app.recycle_pool(db.uow(), ADMIN, p["id"], "not a time")


def test_recycle_all_pools_and_cooldown(db):
    p = pool(db, default_assignee_id="m1", recycle_after_days=1, reclaim_cooldown_days=3)
    pool(db, name="No recycling")
    stale = lead(db, p["id"])
    shift(db, stale["id"], assigned_at=dt.datetime.now(UTC) - dt.timedelta(days=2))
    assert app.recycle_all_pools(db.uow()) == {p["id"]: [stale["id"]]}
    with pytest.raises(LimitExceeded) as info:
        app.claim_lead(db.uow(), M1, stale["id"])
    assert info.value.extra["limit"] == "reclaim_cooldown_days"


def test_pool_not_recycling_recycles_nothing(db):
    p = pool(db, default_assignee_id="m1")
    lead(db, p["id"])
    assert app.recycle_pool(db.uow(), ADMIN, p["id"], "2099-01-01T00:00:00Z")["recycled"] == []
