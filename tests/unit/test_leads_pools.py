"""Lead pools, pool actions, follow-ups, reminders, SLA, recycling, list filters, import/export:
the leads use cases driven directly with a unit of work on SQLite (no broker)."""
from __future__ import annotations

import csv
import datetime as dt
import io

import pytest

from crm_kit.context import Principal
from crm_kit.errors import (Conflict, Duplicate, Forbidden, InvalidState, LimitExceeded, NotFound,
                            StaleVersion, ValidationFailed)
from services.leads import application as app
from services.leads.models import Base, Lead, LeadOwnership
from services.leads.schemas import ImportReport
from tests.unit.conftest import ADMIN, MANAGER_D1, MEMBER_1, MEMBER_2

POOL_ADMIN = Principal("padmin", "member", "d9", ("d9",))
M1 = Principal("m1", "member", "d1", ("d1",))
M2 = Principal("m2", "member", "d2", ("d2",))
M3 = Principal("m3", "member", "d3", ("d3",))
OUTSIDER = Principal("outsider", "member", "d1", ("d1",))
UTC = dt.timezone.utc


@pytest.fixture
def db(make_db):
    return make_db(Base, "leads")


@pytest.fixture(params=["sqlite", "postgresql"])
def both_db(request, make_db):
    """For what is written in bulk (``crm_kit.records.db.bulk_insert`` differs by dialect)."""
    return make_db(Base, "leads", backend=request.param)


def pool(db, **data):
    body = {"name": "Shanghai leads", "admin_ids": ["padmin"], "member_ids": ["m1", "m2", "m3"]}
    body.update(data)
    return app.create_lead_pool(db.uow(), ADMIN, body, {"m1": "d1", "m2": "d2", "m3": "d3"})


_phones = iter(range(13800000000, 13900000000))


def lead(db, pool_id=None, principal=ADMIN, **data):
    body = {"name": "Wang Wu", "phone": str(next(_phones))}
    if pool_id:
        body["pool_id"] = pool_id
    body.update(data)
    return app.create_lead(db.uow(), principal, body)


def events(db, name):
    return [row.body["payload"] for row in db.outbox(name)]


def shift(db, lead_id, **times):
    """Move a lead's times into the past (what the clock would have done)."""
    with db.session() as s:
        row = s.get(Lead, lead_id)
        for name, value in times.items():
            setattr(row, name, value)
        s.commit()


# -- pools CRUD ---------------------------------------------------------------------
def test_create_and_read_pool(db):
    p = pool(db, distribution="round_robin", max_held=5, recycle_after_days=10, recycle_warning_days=2,
             first_response_hours=4)
    assert p["admin_ids"] == ["padmin"] and p["member_ids"] == ["m1", "m2", "m3"]
    assert p["distribution"] == "round_robin" and p["claiming_enabled"] is True and p["version"] == 1
    assert app.get_lead_pool(db.uow(), M1, p["id"]) == p
    assert app.get_lead_pool(db.uow(), POOL_ADMIN, p["id"]) == p
    with pytest.raises(NotFound):
        app.get_lead_pool(db.uow(), OUTSIDER, p["id"])
    assert [x["id"] for x in app.list_lead_pools(db.uow(), M1, {})["items"]] == [p["id"]]
    assert app.list_lead_pools(db.uow(), OUTSIDER, {})["items"] == []
    assert len(app.list_lead_pools(db.uow(), ADMIN, {})["items"]) == 1


def test_only_admins_create_pools(db):
    with pytest.raises(Forbidden):
        app.create_lead_pool(db.uow(), MANAGER_D1, {"name": "x"})


@pytest.mark.parametrize("body, field", [
    ({"name": ""}, "name"),
    ({"name": "p", "distribution": "random"}, "distribution"),
    ({"name": "p", "default_assignee_id": "m9", "member_ids": ["m1"]}, "default_assignee_id"),
    ({"name": "p", "distribution": "round_robin", "default_assignee_id": "m1", "member_ids": ["m1"]},
     "default_assignee_id"),
    ({"name": "p", "recycle_warning_days": 5}, "recycle_warning_days"),
    ({"name": "p", "recycle_after_days": 5, "recycle_warning_days": 5}, "recycle_warning_days"),
    ({"name": "p", "max_held": -1}, "max_held"),
    ({"name": "p", "rr_cursor": "m1"}, "rr_cursor"),
    ({"name": "p", "id": "x"}, "id"),
])
def test_pool_validation(db, body, field):
    with pytest.raises(ValidationFailed) as info:
        app.create_lead_pool(db.uow(), ADMIN, body)
    assert field in info.value.errors


def test_duplicate_pool_name(db):
    first = pool(db)
    with pytest.raises(Duplicate) as info:
        pool(db)
    assert info.value.extra["existing_id"] == first["id"]


def test_update_pool_by_pool_admin_versioned_and_audited(db):
    p = pool(db)
    out = app.update_lead_pool(db.uow(), POOL_ADMIN, p["id"], {"max_held": 3, "member_ids": ["m1", "m2"]}, 1)
    assert out["max_held"] == 3 and out["member_ids"] == ["m1", "m2"] and out["version"] == 2
    with pytest.raises(StaleVersion):
        app.update_lead_pool(db.uow(), POOL_ADMIN, p["id"], {"max_held": 4}, 1)
    with pytest.raises(Forbidden):
        app.update_lead_pool(db.uow(), M1, p["id"], {"max_held": 4}, None)
    with pytest.raises(NotFound):
        app.update_lead_pool(db.uow(), OUTSIDER, p["id"], {"max_held": 4}, None)
    # merged rules: a warning needs a recycle period
    with pytest.raises(ValidationFailed) as info:
        app.update_lead_pool(db.uow(), ADMIN, p["id"], {"recycle_warning_days": 2}, None)
    assert "recycle_warning_days" in info.value.errors
    history = [e for e in _audit(db) if e.entity == "lead_pool"]
    assert any("member_ids" in e.changes for e in history)


def _audit(db):
    from sqlalchemy import select
    t = db.metadata.tables["audit_log"]
    with db.session() as s:
        return s.execute(select(t).order_by(t.c.id)).all()


# -- distribution on create ------------------------------------------------------------
def test_manual_pool_without_default_leaves_leads_unassigned(db):
    p = pool(db)
    created = lead(db, p["id"])
    assert created["status"] == "unassigned" and created["owner_id"] is None
    assert events(db, "lead_assigned") == []


def test_manual_pool_default_assignee(db):
    p = pool(db, default_assignee_id="m2", first_response_hours=2)
    created = lead(db, p["id"])
    assert (created["status"], created["owner_id"], created["department_id"]) == ("pending", "m2", "d2")
    assert created["assigned_at"] and created["sla_due_at"] and created["sla_breached"] is False
    [assigned] = events(db, "lead_assigned")
    assert assigned["via"] == "distribution" and assigned["owner_id"] == "m2"


def test_round_robin(db):
    p = pool(db, distribution="round_robin")
    owners = [lead(db, p["id"])["owner_id"] for _ in range(4)]
    assert owners == ["m1", "m2", "m3", "m1"]
    assert app.get_lead_pool(db.uow(), ADMIN, p["id"])["version"] == 1   # the cursor is no edit


def test_least_loaded_and_max_held(db):
    p = pool(db, distribution="least_loaded", max_held=1)
    owners = sorted(lead(db, p["id"])["owner_id"] for _ in range(3))
    assert owners == ["m1", "m2", "m3"]
    assert lead(db, p["id"])["status"] == "unassigned"   # everyone is full


def test_pool_lead_needs_a_known_pool(db):
    p = pool(db)
    with pytest.raises(ValidationFailed) as info:
        lead(db, "no-such-pool")
    assert "pool_id" in info.value.errors
    with pytest.raises(ValidationFailed):
        lead(db, p["id"], principal=OUTSIDER)
    assert lead(db, p["id"], principal=M1)["status"] == "unassigned"


# -- visibility --------------------------------------------------------------------------
def test_members_see_unassigned_pool_leads_admins_see_all(db):
    p = pool(db)
    free = lead(db, p["id"])
    assert app.get_lead(db.uow(), M1, free["id"])["id"] == free["id"]
    assert [x["id"] for x in app.list_leads(db.uow(), M2, {"pool_id": p["id"]})["items"]] == [free["id"]]
    with pytest.raises(NotFound):
        app.get_lead(db.uow(), OUTSIDER, free["id"])
    with pytest.raises(Forbidden):   # may see it, not change it
        app.update_lead(db.uow(), M1, free["id"], {"notes": "x"}, None)
    app.claim_lead(db.uow(), M1, free["id"])
    with pytest.raises(NotFound):    # someone's lead now
        app.get_lead(db.uow(), M2, free["id"])
    assert app.get_lead(db.uow(), POOL_ADMIN, free["id"])["owner_id"] == "m1"
    assert app.update_lead(db.uow(), POOL_ADMIN, free["id"], {"notes": "checked"}, None)["notes"] == "checked"


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


# -- follow-ups, SLA, reminders ---------------------------------------------------------------------
def test_follow_up(db):
    own = lead(db, principal=MEMBER_1)
    nxt = "2030-01-02T03:04:05"
    fu = app.add_lead_follow_up(db.uow(), MEMBER_1, own["id"], {
        "kind": "visit", "content": "Met the buyer", "outcome": "wants a quote", "next_contact_at": nxt})
    assert fu["lead_id"] == own["id"] and fu["author_id"] == "user-1"
    assert fu["next_contact_at"].startswith("2030-01-02T03:04:05") and fu["next_contact_at"].endswith("+00:00")
    got = app.get_lead(db.uow(), MEMBER_1, own["id"])
    assert got["status"] == "following" and got["last_followed_at"] and got["first_response_at"]
    assert got["next_contact_at"] == fu["next_contact_at"]
    listed = app.list_lead_follow_ups(db.uow(), MEMBER_1, own["id"], {})
    assert [x["id"] for x in listed["items"]] == [fu["id"]]
    with pytest.raises(NotFound):
        app.list_lead_follow_ups(db.uow(), OUTSIDER, own["id"], {})
    with pytest.raises(ValidationFailed) as info:
        app.add_lead_follow_up(db.uow(), MEMBER_1, own["id"], {"kind": "fax", "content": ""})
    assert set(info.value.errors) == {"kind", "content"}


def test_one_follow_up_is_read_through_its_lead(db):
    own, other = lead(db, principal=MEMBER_1), lead(db, principal=MEMBER_1)
    fu = app.add_lead_follow_up(db.uow(), MEMBER_1, own["id"], {"kind": "call", "content": "Called"})
    assert app.get_lead_follow_up(db.uow(), MEMBER_1, own["id"], fu["id"]) == fu
    assert app.get_lead_follow_up(db.uow(), ADMIN, own["id"], fu["id"]) == fu
    for who, lead_id, follow_up_id in ((OUTSIDER, own["id"], fu["id"]),       # the lead is out of scope
                                       (MEMBER_1, other["id"], fu["id"]),     # not this lead's
                                       (MEMBER_1, own["id"], "no-such-id"),
                                       (MEMBER_1, "no-such-lead", fu["id"])):
        with pytest.raises(NotFound):
            app.get_lead_follow_up(db.uow(), who, lead_id, follow_up_id)
    with pytest.raises(Forbidden):
        app.get_lead_follow_up(db.uow(), None, own["id"], fu["id"])


def test_follow_up_refused_on_unassigned(db):
    p = pool(db)
    free = lead(db, p["id"])
    with pytest.raises(InvalidState) as info:
        app.add_lead_follow_up(db.uow(), POOL_ADMIN, free["id"], {"kind": "call", "content": "x"})
    assert info.value.extra["current_state"] == "unassigned"


def test_sla_breach_flag_and_filter(db):
    p = pool(db, default_assignee_id="m1", first_response_hours=4)
    late, answered, fresh = lead(db, p["id"]), lead(db, p["id"]), lead(db, p["id"])
    past = dt.datetime.now(UTC) - dt.timedelta(hours=10)
    shift(db, late["id"], assigned_at=past, sla_due_at=past + dt.timedelta(hours=4))
    shift(db, answered["id"], assigned_at=past, sla_due_at=past + dt.timedelta(hours=4))
    app.add_lead_follow_up(db.uow(), M1, answered["id"], {"kind": "call", "content": "late reply"})
    breached = app.list_leads(db.uow(), M1, {"sla_breached": "true"})["items"]
    assert sorted(x["id"] for x in breached) == sorted([late["id"], answered["id"]])
    assert all(x["sla_breached"] for x in breached)
    ok = app.list_leads(db.uow(), M1, {"sla_breached": "false"})["items"]
    assert [x["id"] for x in ok] == [fresh["id"]] and ok[0]["sla_breached"] is False


def test_reminders(db):
    p = pool(db, default_assignee_id="m1", recycle_after_days=10, recycle_warning_days=3)
    due, later, warned = lead(db, p["id"]), lead(db, p["id"]), lead(db, p["id"])
    now = dt.datetime.now(UTC)
    app.add_lead_follow_up(db.uow(), M1, due["id"], {"kind": "call", "content": "x",
                                                     "next_contact_at": (now - dt.timedelta(hours=1)).isoformat()})
    app.add_lead_follow_up(db.uow(), M1, later["id"], {"kind": "call", "content": "x",
                                                       "next_contact_at": (now + dt.timedelta(days=2)).isoformat()})
    shift(db, warned["id"], assigned_at=now - dt.timedelta(days=8))
    items = app.lead_reminders(db.uow(), M1, {})["items"]
    assert [(i["kind"], i["lead_id"]) for i in items] == [("next_contact", due["id"]),
                                                           ("recycle_warning", warned["id"])]
    soon = app.lead_reminders(db.uow(), M1, {"due_before": (now + dt.timedelta(days=3)).isoformat()})["items"]
    assert ("next_contact", later["id"]) in [(i["kind"], i["lead_id"]) for i in soon]
    assert app.lead_reminders(db.uow(), M2, {})["items"] == []
    with pytest.raises(ValidationFailed):
        app.lead_reminders(db.uow(), M1, {"due_before": "tomorrow"})


# -- recycling -----------------------------------------------------------------------------------
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


# -- list filters ----------------------------------------------------------------------------------
def test_list_filters(db):
    p = pool(db)
    a = lead(db, p["id"], name="Alpha Trading", company="Acme 100%", source="campaign", campaign_id="c1")
    b = lead(db, principal=MEMBER_1, name="Beta", company="Other", phone="13711112222")
    ids = lambda q: [x["id"] for x in app.list_leads(db.uow(), ADMIN, q)["items"]]
    assert ids({"pool_id": p["id"]}) == [a["id"]]
    assert ids({"campaign_id": "c1"}) == [a["id"]]
    assert ids({"source": "campaign", "status": "unassigned"}) == [a["id"]]
    assert ids({"owner_id": "user-1"}) == [b["id"]]
    assert ids({"q": "alpha"}) == [a["id"]]
    assert ids({"q": "100%"}) == [a["id"]]
    assert ids({"q": "1111"}) == [b["id"]]
    assert ids({"q": "_"}) == []
    now = dt.datetime.now(UTC)
    assert set(ids({"created_from": (now - dt.timedelta(minutes=5)).isoformat()})) == {a["id"], b["id"]}
    assert ids({"created_to": (now - dt.timedelta(minutes=5)).isoformat()}) == []
    with pytest.raises(ValidationFailed):
        app.list_leads(db.uow(), ADMIN, {"sla_breached": "maybe"})
    with pytest.raises(ValidationFailed):
        app.list_leads(db.uow(), ADMIN, {"created_from": "yesterday"})


# -- import / export ---------------------------------------------------------------------------------
def test_import_per_row_report(both_db):
    db = both_db
    existing = lead(db, principal=MEMBER_1, phone="13800001111")
    text = ("\ufeffname,phone,company,source\n"
            "Zhao Liu,13800002222,Acme,trade_show\n"
            "Dup,138 0000 1111,,\n"
            ",13800003333,,\n"
            "Bad Source,13800004444,,tv\n"
            "Short,13800005555\n"
            "\n"
            "Qian Qi,,Initech,\n"
            "Zhao Again,13800002222,,\n")
    report = app.import_leads(db.uow(), MEMBER_1, text)
    assert report == ImportReport().dump(report)          # what the RPC documents, exactly
    assert (report["created"], report["duplicates"], report["invalid"]) == (2, 2, 3)
    by_row = {r["row"]: r for r in report["rows"]}
    assert by_row[2]["outcome"] == "created" and by_row[2]["id"]
    assert by_row[3]["outcome"] == "duplicate" and by_row[3]["existing_id"] == existing["id"]
    assert by_row[4]["outcome"] == "invalid" and "name" in by_row[4]["errors"]
    assert by_row[5]["errors"] == {"source": ["Must be one of: trade_show, campaign, web_form, advertisement, "
                                              "purchased_list, referral, other."]}
    assert by_row[6]["outcome"] == "invalid" and "_row" in by_row[6]["errors"]
    assert by_row[8]["outcome"] == "created"
    assert by_row[9]["outcome"] == "duplicate" and by_row[9]["existing_id"] == by_row[2]["id"]
    assert db.count(Lead) == 3


def test_an_imported_lead_is_recorded_as_create_lead_records_it(both_db):
    """The bulk path writes without the ORM: its audit entry, its event and its row must be the
    ones create_lead (the ORM flush) writes for the same input."""
    db = both_db
    body = {"name": "Same Lead", "company": "Acme", "phone": "13800009999", "email": "s@example.com",
            "source": "referral", "region": "north", "industry": "retail", "notes": "n"}
    made = app.create_lead(db.uow(), MEMBER_1, body)
    app.discard_lead(db.uow(), MEMBER_1, made["id"])            # its phone is free again
    header = ",".join(body)
    report = app.import_leads(db.uow(), MEMBER_1, header + "\n" + ",".join(body.values()) + "\n")
    imported = report["rows"][0]["id"]
    assert report["created"] == 1 and imported

    entries = {e.entity_id: e for e in _audit(db) if e.entity == "lead" and e.action == "create"}
    volatile = {"id", "created_at", "updated_at", "assigned_at", "sla_due_at", "status"}
    made_changes = {k: v for k, v in entries[made["id"]].changes.items() if k not in volatile}
    imported_changes = {k: v for k, v in entries[imported].changes.items() if k not in volatile}
    assert imported_changes == made_changes
    assert set(entries[imported].changes) == set(entries[made["id"]].changes)
    assert entries[imported].actor_id == entries[made["id"]].actor_id
    # ... and both are what the ORM's audit (crm_kit.records.audit.changes_of) records of such a lead
    from crm_kit.records.audit import changes_of
    with db.session() as s:
        assert entries[imported].changes == changes_of(s.get(Lead, imported), "create")
        orm_view = changes_of(s.get(Lead, made["id"]), "create")
        assert orm_view.pop("status") == [None, "discarded"]            # discarded since
        assert dict(entries[made["id"]].changes, status=None) == dict(orm_view, status=None)

    created = {row.body["payload"]["lead_id"]: row.body for row in db.outbox("lead_created")}
    strip = lambda p: {k: v for k, v in p.items() if k not in ("lead_id", "created_at")}  # noqa: E731
    assert strip(created[imported]["payload"]) == strip(created[made["id"]]["payload"])
    assert created[imported]["actor"] == created[made["id"]]["actor"]
    again = app.get_lead(db.uow(), MEMBER_1, imported)
    assert {k: again[k] for k in body} == {k: made[k] for k in body}


def _race_before_leads_are_inserted(monkeypatch, db, concurrent: dict) -> None:
    """Just before the first import chunk's leads are inserted (at its commit), another user
    creates a lead with phone 13800007777 in their own transaction."""
    import crm_kit.runtime.uow
    real = crm_kit.runtime.uow.bulk_insert_all

    def racing(connection, batches):
        if not concurrent and any(table is Lead.__table__ for table, _ in batches):
            concurrent["racing"] = True          # (create_lead inserts through here too)
            concurrent.update(lead(db, principal=MEMBER_2, phone="13800007777"))
        return real(connection, batches)

    monkeypatch.setattr(crm_kit.runtime.uow, "bulk_insert_all", racing)


def test_import_chunk_refused_by_a_concurrent_create_is_redone_row_by_row(both_db, monkeypatch):
    """A lead with one of the chunk's phones created between the duplicate query and the insert:
    the unique index refuses the chunk, nothing of it stays, and each row is redone on its own."""
    db = both_db
    concurrent = {}
    _race_before_leads_are_inserted(monkeypatch, db, concurrent)
    report = app.import_leads(db.uow(), MEMBER_1, "name,phone\nFirst,13800006666\nRaced,13800007777\n"
                                                  "Third,13800008888\n")
    outcomes = [(r["outcome"], r["existing_id"]) for r in report["rows"]]
    assert outcomes == [("created", None), ("duplicate", concurrent["id"]), ("created", None)]
    assert db.count(Lead) == 3
    assert len(db.outbox("lead_created")) == 3                   # the two imported + the concurrent one
    created_entries = [e for e in _audit(db) if e.entity == "lead" and e.action == "create"]
    assert len(created_entries) == 3


def test_a_duplicate_of_a_row_whose_chunk_was_redone_names_the_lead_as_finally_created(both_db, monkeypatch):
    """Chunks are checked for duplicates ahead of their writing: a later row repeating the phone
    of a row whose chunk was then refused and redone row by row (new id) must name the new id."""
    db = both_db
    monkeypatch.setattr(app, "IMPORT_CHUNK", 2)
    concurrent = {}
    _race_before_leads_are_inserted(monkeypatch, db, concurrent)
    report = app.import_leads(db.uow(), MEMBER_1, "name,phone\nFirst,13800006666\nRaced,13800007777\n"
                                                  "Again,13800006666\nFourth,13800005555\n")
    first, raced, again, fourth = report["rows"]
    assert first["outcome"] == "created" and first["id"]
    assert (raced["outcome"], raced["existing_id"]) == ("duplicate", concurrent["id"])
    assert (again["outcome"], again["existing_id"]) == ("duplicate", first["id"])
    assert fourth["outcome"] == "created"
    ids = {lead_.id for lead_ in db.all(Lead)}
    assert {first["id"], fourth["id"], concurrent["id"]} == ids


def test_import_into_pool_and_bad_files(db):
    p = pool(db, distribution="round_robin")
    report = app.import_leads(db.uow(), ADMIN, "name\nA\nB\n", p["id"])
    owners = [app.get_lead(db.uow(), ADMIN, r["id"])["owner_id"] for r in report["rows"]]
    assert owners == ["m1", "m2"]
    for bad in ("", "nom,phone\nA,1\n", "name,name\nA,B\n", "phone\n123\n"):
        with pytest.raises(ValidationFailed):
            app.import_leads(db.uow(), ADMIN, bad)
    with pytest.raises(ValidationFailed):
        app.import_leads(db.uow(), ADMIN, {"not": "text"})


def export_pages(db, principal, query=None, page_size=app.EXPORT_PAGE_SIZE) -> list[dict]:
    """Every page of an export, asked for as the gateway does: with the same query and the last cursor."""
    pages, cursor = [], None
    while True:
        pages.append(app.export_leads_page(db.uow(), principal, query, cursor, page_size))
        cursor = pages[-1]["next_cursor"]
        if cursor is None:
            return pages
        assert len(pages) < 100, "the export does not end"


def export_rows(db, principal, query=None, page_size=app.EXPORT_PAGE_SIZE) -> list[dict]:
    text = "".join(page["csv"] for page in export_pages(db, principal, query, page_size))
    return list(csv.DictReader(io.StringIO(text)))


def test_export_is_scoped_and_filtered(db):
    mine = lead(db, principal=MEMBER_1, name="=HYPERLINK(1)", company="Mine")
    lead(db, principal=OUTSIDER, name="Theirs")
    rows = export_rows(db, MEMBER_1)
    assert [r["id"] for r in rows] == [mine["id"]]
    assert rows[0]["name"] == "'=HYPERLINK(1)" and rows[0]["sla_breached"] == "false"
    assert list(rows[0]) == list(app.EXPORT_COLUMNS)
    assert len(export_rows(db, ADMIN)) == 2
    assert [r["name"] for r in export_rows(db, ADMIN, {"q": "theirs"})] == ["Theirs"]


def test_export_pages_hold_every_visible_lead_once_newest_first(db):
    p = pool(db)                                        # M1 may read the pool's unassigned leads
    visible = [lead(db, principal=M1, name=f"Own {i}")["id"] for i in range(7)]
    visible += [lead(db, p["id"], name=f"Free {i}")["id"] for i in range(3)]
    hidden = [lead(db, principal=OUTSIDER)["id"], lead(db, p["id"], principal=POOL_ADMIN)["id"]]
    app.assign_lead(db.uow(), ADMIN, hidden[-1], "m2", "d2")               # no longer unassigned
    pages = export_pages(db, M1, page_size=3)
    assert [len(page["csv"].splitlines()) for page in pages] == [1 + 3, 3, 3, 1]   # the header once, first
    assert pages[0]["csv"].startswith(",".join(app.EXPORT_COLUMNS) + "\r\n")
    assert not any(page["csv"].startswith("id,") for page in pages[1:])
    ids = [r["id"] for r in export_rows(db, M1, page_size=3)]
    assert ids == sorted(visible, reverse=True)                       # each once, in keyset order
    assert ids == [x["id"] for x in app.list_leads(db.uow(), M1, {"limit": 200})["items"]]
    assert not set(hidden) & set(ids)
    # an exact multiple of the page size ends without an empty page; nothing to export: the header
    assert len(export_pages(db, M1, {"status": "unassigned"}, page_size=3)) == 1
    assert export_pages(db, M1, {"status": "converted"}, page_size=3) == [
        {"csv": ",".join(app.EXPORT_COLUMNS) + "\r\n", "next_cursor": None}]


def test_export_filters_and_limit_apply_to_every_page(db):
    for i in range(8):
        lead(db, principal=M1, name=f"Lead {i}", source="referral" if i % 2 else "web_form")
    referrals = export_rows(db, M1, {"source": "referral"}, page_size=3)
    assert [r["name"] for r in referrals] == ["Lead 7", "Lead 5", "Lead 3", "Lead 1"]
    first_five = export_rows(db, M1, {"limit": "5"}, page_size=3)          # 3 + 2 rows, then no cursor
    assert [r["name"] for r in first_five] == [f"Lead {i}" for i in range(7, 2, -1)]
    assert [r["name"] for r in export_rows(db, M1, {"limit": 2, "source": "web_form"}, page_size=3)] == [
        "Lead 6", "Lead 4"]
    assert len(export_rows(db, M1, {"limit": 6}, page_size=3)) == 6            # ends on a page boundary
    assert export_rows(db, M1, {"q": "Lead 4", "created_from": "2000-01-01T00:00:00Z"}, page_size=1)[0][
        "name"] == "Lead 4"


def test_export_is_consistent_while_leads_change_between_pages(db, monkeypatch):
    ids = [lead(db, principal=M1, name=f"Lead {i}")["id"] for i in range(6)]   # newest last
    start = dt.datetime.now(UTC)
    shift(db, ids[0], sla_due_at=start + dt.timedelta(hours=1))                # due an hour after the start
    monkeypatch.setattr(app, "utcnow", lambda: start)
    first = app.export_leads_page(db.uow(), M1, {"sla_breached": "false"}, None, 2)
    # between pages: a new lead (newer than the first page), one not yet exported deleted, and two hours pass
    lead(db, principal=M1, name="Created meanwhile")
    app.delete_lead(db.uow(), M1, ids[2])
    monkeypatch.setattr(app, "utcnow", lambda: start + dt.timedelta(hours=2))
    rest, cursor = [], first["next_cursor"]
    while cursor:
        page = app.export_leads_page(db.uow(), M1, {"sla_breached": "false"}, cursor, 2)
        rest.append(page["csv"])
        cursor = page["next_cursor"]
    rows = list(csv.DictReader(io.StringIO(first["csv"] + "".join(rest))))
    assert [r["id"] for r in rows] == [ids[5], ids[4], ids[3], ids[1], ids[0]]
    assert rows[-1]["sla_breached"] == "false"       # judged as of the start, like the filter that kept it
    assert app.list_leads(db.uow(), M1, {"sla_breached": "true"})["items"][0]["id"] == ids[0]   # now it is


@pytest.mark.parametrize("query,cursor,field", [
    ({"status": "lost"}, None, "status"),
    ({"created_from": "yesterday"}, None, "created_from"),
    ({"limit": 0}, None, "limit"),
    ({"cursor": "abc"}, None, "cursor"),                   # not a filter: the export pages itself
    ({}, "%%%", "cursor"),
    ({}, "list", "cursor"),                                # a list's cursor has no start time
    ({}, "stale", "cursor"),
])
def test_export_rejects_bad_filters_and_cursors(db, query, cursor, field):
    from crm_kit.records.pagination import encode_cursor
    cursor = {"list": encode_cursor("x"), "stale": encode_cursor("x", as_of="2026-01-01T00:00:00", left=0)}.get(
        cursor, cursor)
    with pytest.raises(ValidationFailed) as info:
        app.export_leads_page(db.uow(), M1, query, cursor)
    assert list(info.value.errors) == [field]


def test_whoever_may_read_a_pool_lead_may_read_its_history(db):
    """Pool admins see every lead of their pools, pool members its unassigned leads: their
    history too (it was 404 for them, as for a stranger)."""
    p = pool(db)                                         # manual, no default assignee: unassigned
    free = lead(db, p["id"])
    assert free["status"] == "unassigned"
    member = Principal("m1", "member", "d1", ("d1",))
    stranger = Principal("nobody", "member", "d7", ("d7",))
    for who in (POOL_ADMIN, member, ADMIN):
        entries = app.lead_history(db.uow(), who, free["id"])["items"]
        assert entries and entries[-1]["action"] == "create"
    with pytest.raises(NotFound):
        app.lead_history(db.uow(), stranger, free["id"])
    app.assign_lead(db.uow(), POOL_ADMIN, free["id"], "m2")
    assert app.lead_history(db.uow(), POOL_ADMIN, free["id"])["items"][0]["action"] in ("assign", "update")
    with pytest.raises(NotFound):                        # no longer unassigned: members of the pool lose sight
        app.lead_history(db.uow(), member, free["id"])


def test_text_longer_than_its_column_is_refused_by_name_not_by_the_database(both_db):
    """PostgreSQL refuses a value longer than its column (a 500 if it got there): the schemas
    refuse it first, in a create and in an import row alike (tests/unit/test_schema_lengths.py)."""
    db = both_db
    long_email = "x" * 250 + "@a.io"
    with pytest.raises(ValidationFailed) as exc:
        app.create_lead(db.uow(), MEMBER_1, {"name": "Long", "email": long_email})
    assert "email" in exc.value.errors
    report = app.import_leads(db.uow(), MEMBER_1, f"name,email\nLong,{long_email}\nShort,s@a.io\n")
    assert [r["outcome"] for r in report["rows"]] == ["invalid", "created"]
    assert "email" in report["rows"][0]["errors"]
