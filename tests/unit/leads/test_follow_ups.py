"""Follow-ups, the first-response SLA and the owner's reminders (``application.follow_ups``)."""
from __future__ import annotations

import datetime as dt

import pytest

from crm_kit.errors import InvalidState, NotFound, ValidationFailed
from services.leads import application as app
from tests.unit.conftest import ADMIN, MEMBER_1
from tests.unit.leads.support import M1, M2, OUTSIDER, POOL_ADMIN, UTC, lead, pool, shift


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
