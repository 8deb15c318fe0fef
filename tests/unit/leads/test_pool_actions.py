"""The actions on a pool's leads (``application.pool_actions``): assign, claim within the pool's
limits, return, invalidate, discard, restore."""
from __future__ import annotations

import datetime as dt

import pytest

from crm_kit.errors import Conflict, Duplicate, Forbidden, InvalidState, LimitExceeded, NotFound, ValidationFailed
from services.leads import application as app
from services.leads.models import LeadOwnership
from tests.unit.conftest import ADMIN, MANAGER_D1, MEMBER_1
from tests.unit.leads.support import M1, M2, OUTSIDER, POOL_ADMIN, events, lead, pool

# -- assign --------------------------------------------------------------------------------

def test_pool_admin_assigns_with_department(db):
    p = pool(db)
    free = lead(db, p["id"])
    out = app.assign_lead(db.uow(), POOL_ADMIN, free["id"], "m3", "d3x")
    assert (out["status"], out["owner_id"], out["department_id"]) == ("pending", "m3", "d3x")
    # without a department from the gateway, the pool's record of the member is used
    out = app.assign_lead(db.uow(), POOL_ADMIN, free["id"], "m2")
    assert (out["owner_id"], out["department_id"], out["previous_owner_id"]) == ("m2", "d2", "m3")
    [first, second] = events(db, "lead_assigned")
    assert second["previous_owner_id"] == "m3" and second["via"] == "assign"


def test_assign_permissions(db):
    p = pool(db)
    free = lead(db, p["id"])
    with pytest.raises(Forbidden):
        app.assign_lead(db.uow(), M1, free["id"], "m1")      # a member sees it but may not assign
    with pytest.raises(NotFound):
        app.assign_lead(db.uow(), OUTSIDER, free["id"], "m1")
    own = lead(db, principal=MEMBER_1)
    with pytest.raises(Forbidden):
        app.assign_lead(db.uow(), MEMBER_1, own["id"], "user-2")   # owners do not hand leads around
    assert app.assign_lead(db.uow(), MANAGER_D1, own["id"], "user-2", "d1")["owner_id"] == "user-2"
    with pytest.raises(ValidationFailed):
        app.assign_lead(db.uow(), ADMIN, own["id"], "")


def test_assign_refused_on_converted(db):
    own = lead(db, principal=MEMBER_1)
    app.convert_lead(db.uow(), MEMBER_1, own["id"], None)
    with pytest.raises(InvalidState) as info:
        app.assign_lead(db.uow(), ADMIN, own["id"], "x")
    assert info.value.extra["current_state"] == "converted"


# -- claim and its limits --------------------------------------------------------------------

def test_claim(db):
    p = pool(db)
    free = lead(db, p["id"])
    out = app.claim_lead(db.uow(), M2, free["id"])
    assert (out["status"], out["owner_id"], out["department_id"]) == ("pending", "m2", "d2")
    assert events(db, "lead_assigned")[0]["via"] == "claim"
    with pytest.raises(NotFound):          # not visible to others any more
        app.claim_lead(db.uow(), M1, free["id"])
    with pytest.raises(InvalidState) as info:
        app.claim_lead(db.uow(), M2, free["id"])
    assert info.value.extra["current_state"] == "pending"


def test_claim_needs_membership_and_claiming_enabled(db):
    p = pool(db, claiming_enabled=False)
    free = lead(db, p["id"])
    with pytest.raises(Forbidden):
        app.claim_lead(db.uow(), M1, free["id"])
    with pytest.raises(Forbidden):
        app.claim_lead(db.uow(), POOL_ADMIN, free["id"])   # an admin of the pool, not a member
    with pytest.raises(NotFound):
        app.claim_lead(db.uow(), OUTSIDER, free["id"])


def test_claim_max_held(db):
    p = pool(db, max_held=1)
    a, b = lead(db, p["id"]), lead(db, p["id"])
    app.claim_lead(db.uow(), M1, a["id"])
    with pytest.raises(LimitExceeded) as info:
        app.claim_lead(db.uow(), M1, b["id"])
    assert info.value.status == 409 and info.value.extra["limit"] == "max_held"
    assert "max_held" in info.value.detail
    assert app.get_lead(db.uow(), ADMIN, b["id"])["status"] == "unassigned"


def test_claim_max_claims_per_day(db):
    p = pool(db, max_claims_per_day=1)
    a, b = lead(db, p["id"]), lead(db, p["id"])
    app.claim_lead(db.uow(), M1, a["id"])
    app.return_lead(db.uow(), M1, a["id"], "not for me")
    with pytest.raises(LimitExceeded) as info:
        app.claim_lead(db.uow(), M1, b["id"])
    assert info.value.extra["limit"] == "max_claims_per_day" and "max_claims_per_day" in info.value.detail


def test_claim_cooldown_after_return(db):
    p = pool(db, reclaim_cooldown_days=7)
    a = lead(db, p["id"])
    app.claim_lead(db.uow(), M1, a["id"])
    app.return_lead(db.uow(), M1, a["id"], "no answer")
    with pytest.raises(LimitExceeded) as info:
        app.claim_lead(db.uow(), M1, a["id"])
    assert info.value.extra["limit"] == "reclaim_cooldown_days" and "available_at" in info.value.extra
    assert app.claim_lead(db.uow(), M2, a["id"])["owner_id"] == "m2"   # others may
    # eight days later the first owner may again
    with db.session() as s:
        for row in s.query(LeadOwnership).all():
            row.at = row.at - dt.timedelta(days=8)
        s.commit()
    app.return_lead(db.uow(), M2, a["id"], "busy")
    assert app.claim_lead(db.uow(), M1, a["id"])["owner_id"] == "m1"


# -- return, invalidate, discard, restore --------------------------------------------------------

def test_return_records_reason_and_previous_owner(db):
    p = pool(db, default_assignee_id="m1")
    a = lead(db, p["id"])
    out = app.return_lead(db.uow(), M1, a["id"], "Only buys via a distributor")
    assert (out["status"], out["owner_id"], out["department_id"]) == ("unassigned", None, None)
    assert out["previous_owner_id"] == "m1" and out["return_reason"] == "Only buys via a distributor"
    [returned] = events(db, "lead_returned")
    assert returned["previous_owner_id"] == "m1" and returned["from_status"] == "pending"
    with pytest.raises(InvalidState):
        app.return_lead(db.uow(), POOL_ADMIN, a["id"], "again")
    with pytest.raises(ValidationFailed):
        app.return_lead(db.uow(), POOL_ADMIN, a["id"], "")


def test_return_needs_a_pool(db):
    own = lead(db, principal=MEMBER_1)
    with pytest.raises(Conflict):
        app.return_lead(db.uow(), MEMBER_1, own["id"], "meh")


def test_invalidate_follow_up_revives(db):
    own = lead(db, principal=MEMBER_1)
    assert app.invalidate_lead(db.uow(), MEMBER_1, own["id"])["status"] == "invalid"
    app.add_lead_follow_up(db.uow(), MEMBER_1, own["id"], {"kind": "call", "content": "reached at last"})
    assert app.get_lead(db.uow(), MEMBER_1, own["id"])["status"] == "following"
    changes = [(e["action"], e["from_status"], e["to_status"]) for e in events(db, "lead_status_changed")]
    assert changes == [("invalidate", "pending", "invalid"), ("follow_up", "invalid", "following")]


def test_discard_and_admin_restore(db):
    own = lead(db, principal=MEMBER_1, phone="13912345678")
    app.discard_lead(db.uow(), MEMBER_1, own["id"])
    with pytest.raises(Forbidden):
        app.restore_lead(db.uow(), MEMBER_1, own["id"])
    with pytest.raises(Forbidden):
        app.restore_lead(db.uow(), MANAGER_D1, own["id"])
    out = app.restore_lead(db.uow(), ADMIN, own["id"])
    assert (out["status"], out["owner_id"], out["previous_owner_id"]) == ("unassigned", None, "user-1")
    with pytest.raises(InvalidState):
        app.restore_lead(db.uow(), ADMIN, own["id"])


def test_restore_refused_when_phone_is_live_again(db):
    own = lead(db, principal=MEMBER_1, phone="13912345678")
    app.discard_lead(db.uow(), MEMBER_1, own["id"])
    other = lead(db, principal=MEMBER_1, phone="13912345678")
    with pytest.raises(Duplicate) as info:
        app.restore_lead(db.uow(), ADMIN, own["id"])
    assert info.value.extra["existing_id"] == other["id"]
    assert app.get_lead(db.uow(), ADMIN, own["id"])["status"] == "discarded"
