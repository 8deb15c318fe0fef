"""Ownership that loses nothing (``application.ownership`` through claim, assign, return, transfer):
contacts, follow-ups, team, tags, history and the business summary stay; the contacts' owner copies
follow; the owner history says who, from, until, how and why; a transfer may keep the old owner as a
team member (``read`` / ``read_write``, optionally until a time); ``customer_owner_changed`` says
only who owns it now."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from sqlalchemy import update

from crm_kit.context import Principal
from crm_kit.errors import Forbidden, InvalidState, NotFound, ValidationFailed
from crm_kit.records.db import utcnow
from services.customers import application as app
from services.customers.models import Contact, customer_team
from tests.unit.conftest import ADMIN
from tests.unit.customers import pool_support
from tests.unit.customers.pool_support import (
    DAY,
    M1,
    M2,
    M3,
    MANAGER,
    OUTSIDER,
    POOL_ADMIN,
    T0,
    events,
    owned,
    pool,
    set_columns,
    stored,
)

db, clock = pool_support.db, pool_support.clock      # the fixtures


def rich_customer(db) -> str:
    """M1's customer with two contacts, follow-ups, a team, tags and money from other contexts."""
    cid = owned(db, M1)
    app.update_customer(db.uow(), M1, cid, {"tags": ["vip", "north"], "level": "A"}, None)
    for name in ("Peter", "Milton"):
        app.create_contact(db.uow(), M1, {"customer_id": cid, "name": name})
    for kind in ("call", "visit"):
        app.add_customer_follow_up(db.uow(), M1, cid, {"kind": kind, "content": f"{kind} done"})
    app.set_customer_team_member(db.uow(), M1, cid, "helper-1", "read")
    set_columns(db, cid, opportunity_total=Decimal("1200.00"), order_total=Decimal("800.00"),
                paid_total=Decimal("300.00"), deal_status="deal")
    return cid


def snapshot(db, cid) -> dict:
    got = app.get_customer(db.uow(), ADMIN, cid)
    return {
        "contacts": sorted((c["id"], c["name"]) for c in app.list_contacts_of(db.uow(), ADMIN, cid)["items"]),
        "follow_ups": [f["id"] for f in app.list_customer_follow_ups(db.uow(), ADMIN, cid, {"limit": 200})["items"]],
        "team": {m["user_id"]: m["access"] for m in app.list_customer_team(db.uow(), ADMIN, cid)["items"]
                 if m["user_id"] == "helper-1"},
        "tags": got["tags"], "level": got["level"], "deal_status": got["deal_status"], "summary": got["summary"],
        "history": [h["id"] for h in app.customer_history(db.uow(), ADMIN, cid, {"limit": 200})["items"]],
    }


def claim_back(db, cid):
    """Return M1's customer to a pool, then M2 claims it."""
    p = pool(db)
    app.return_customer(db.uow(), M1, cid, "No budget", p["id"])
    return app.claim_customer(db.uow(), M2, cid)


CHANGES = {
    "return, then claim": claim_back,
    "assign": lambda db, cid: app.assign_customer(db.uow(), MANAGER, cid, "m2", "d2"),
    "transfer": lambda db, cid: app.transfer_customer(db.uow(), M1, cid, "m2", reason="Handover",
                                                      owner_department_id="d2"),
    "transfer keeping the old owner": lambda db, cid: app.transfer_customer(
        db.uow(), M1, cid, "m2", "read", owner_department_id="d2"),
}


@pytest.mark.parametrize("name", CHANGES)
def test_an_owner_change_loses_nothing(db, clock, name):
    cid = rich_customer(db)
    before = snapshot(db, cid)
    got = CHANGES[name](db, cid)
    assert got["owner_id"] == "m2"
    after = snapshot(db, cid)
    assert {k: v for k, v in after.items() if k != "history"} == {k: v for k, v in before.items() if k != "history"}
    assert after["history"][-len(before["history"]):] == before["history"]      # every entry kept, new ones on top
    with db.session() as s:                                                     # the contacts' copies follow
        assert {(c.owner_id, c.department_id) for c in s.query(Contact).filter(Contact.customer_id == cid)} == {
            ("m2", "d2")}
    assert got["claim_count"] >= 1


def test_the_owner_history(db, clock):
    cid = owned(db, M1)
    clock.advance(DAY)
    app.transfer_customer(db.uow(), M1, cid, "m2", reason="Handover to the north team", owner_department_id="d2")
    clock.advance(DAY)
    app.assign_customer(db.uow(), ADMIN, cid, "m3", "d3")
    clock.advance(DAY)
    p = pool(db)
    app.return_customer(db.uow(), M3, cid, "No budget", p["id"])
    clock.advance(DAY)
    app.claim_customer(db.uow(), M1, cid)
    items = app.list_customer_owners(db.uow(), M1, cid)["items"]
    rows = [(i["owner_id"], i["start_kind"], i["started_by"], i["end_kind"], i["end_reason"], i["ended_by"])
            for i in items]
    assert rows == [
        ("m1", "created", "m1", "transfer", "Handover to the north team", "m1"),
        ("m2", "transfer", "m1", "assign", None, ADMIN.user_id),
        ("m3", "assign", ADMIN.user_id, "return", "No budget", "m3"),
        ("m1", "claim", "m1", None, None, None),
    ]
    assert items[1]["from"] == (T0 + DAY).isoformat() and items[1]["until"] == (T0 + 2 * DAY).isoformat()
    assert items[-1]["until"] is None and items[-1]["pool_id"] == p["id"]
    assert stored(db, cid).claim_count == 3                   # transfer, assign, claim (seed 004: 负责人更换的次数)
    kinds = [e["kind"] for e in events(db, "customer_owner_changed")]
    assert kinds == ["transfer", "assign", "return", "claim"]


def test_who_sees_the_owner_history(db, clock):
    cid = owned(db, M1)
    for principal in (M1, MANAGER, ADMIN):
        assert app.list_customer_owners(db.uow(), principal, cid)["items"]
    for principal in (M2, OUTSIDER, POOL_ADMIN):
        with pytest.raises(NotFound):
            app.list_customer_owners(db.uow(), principal, cid)
    with pytest.raises(NotFound):
        app.list_customer_owners(db.uow(), ADMIN, "no-such-customer")


def test_transfer_keeps_the_old_owner_as_a_team_member_until_a_time(db):
    cid = owned(db, M1)
    until = utcnow() + 30 * DAY
    got = app.transfer_customer(db.uow(), M1, cid, "m2", "read_write", until.isoformat(), "Parental leave", "d2")
    assert got["owner_id"] == "m2"
    [member] = [m for m in app.list_customer_team(db.uow(), M2, cid)["items"] if m["user_id"] == "m1"]
    assert member["access"] == "read_write" and dt.datetime.fromisoformat(member["expires_at"]) == until
    app.update_customer(db.uow(), M1, cid, {"level": "B"}, None)            # still may change it
    with pytest.raises(Forbidden):
        app.transfer_customer(db.uow(), M1, cid, "m3")                      # but it is not theirs to give
    history = app.customer_history(db.uow(), M2, cid, {})["items"]
    assert any("team.m1" in h["changes"] for h in history)
    with db.session() as s:                                                 # the date passes
        s.execute(update(customer_team).where(customer_team.c.user_id == "m1")
                  .values(expires_at=utcnow() - dt.timedelta(seconds=1)))
        s.commit()
    with pytest.raises(NotFound):
        app.get_customer(db.uow(), M1, cid)


def test_transfer_for_good_with_read_access_and_without(db):
    first, second = owned(db, M1), owned(db, M1)
    app.transfer_customer(db.uow(), M1, first, "m2", "read", owner_department_id="d2")
    assert app.get_customer(db.uow(), M1, first)["owner_id"] == "m2"
    with pytest.raises(Forbidden):
        app.update_customer(db.uow(), M1, first, {"level": "C"}, None)
    app.transfer_customer(db.uow(), M1, second, "m2", owner_department_id="d2")
    with pytest.raises(NotFound):
        app.get_customer(db.uow(), M1, second)


@pytest.mark.parametrize("kwargs, field", [
    ({"until": "2031-01-01T00:00:00+00:00"}, "until"),                  # needs keep_old_owner
    ({"keep_old_owner": "read", "until": "2001-01-01T00:00:00+00:00"}, "until"),   # in the past
    ({"keep_old_owner": "owner"}, "keep_old_owner"),
])
def test_transfer_refusals(db, kwargs, field):
    cid = owned(db, M1)
    with pytest.raises(ValidationFailed) as exc:
        app.transfer_customer(db.uow(), M1, cid, "m2", **kwargs)
    assert field in exc.value.extra["errors"]
    p = pool(db)
    app.return_customer(db.uow(), M1, cid, "Gone", p["id"])
    with pytest.raises(InvalidState):
        app.transfer_customer(db.uow(), ADMIN, cid, "m2")                     # in a pool: assign it


def test_a_lock_is_its_owners(db, clock):
    cid = owned(db, M1)
    got = app.lock_customer(db.uow(), M1, cid)
    row = stored(db, cid)
    assert (row.locked, row.locked_by, row.locked_at) == (True, "m1", T0)
    assert app.lock_customer(db.uow(), M1, cid)["id"] == cid                 # again: nothing changes
    assert app.customer_history(db.uow(), M1, cid, {})["items"][0]["action"] == "lock"
    app.set_customer_team_member(db.uow(), M1, cid, "m3", "read_write")
    with pytest.raises(Forbidden):
        app.unlock_customer(db.uow(), M3, cid)                               # a team member may not
    app.transfer_customer(db.uow(), M1, cid, "m2", owner_department_id="d2")
    assert stored(db, cid).locked is False                                    # the new owner may lock it again
    assert got["id"] == cid


def test_the_owner_changed_event_says_who_owns_it_and_nothing_else(db, clock):
    cid = owned(db, M1)
    app.transfer_customer(db.uow(), M1, cid, "m2", reason="Handover", owner_department_id="d2")
    [payload] = events(db, "customer_owner_changed")
    assert payload == {"customer_id": cid, "owner_id": "m2", "department_id": "d2", "previous_owner_id": "m1",
                       "pool_id": None, "kind": "transfer", "reason": "Handover", "changed_at": T0.isoformat()}


# -- who may act on an owned customer (domain.md data scopes, then domain.permissions) -------------------
WHO = {
    "admin": (ADMIN, "ok", "ok"),
    "manager of the owner's department": (MANAGER, "ok", "ok"),
    "manager elsewhere": (Principal("mgr-9", "manager", "d9", ("d9",)), "404", "404"),
    "the owner": (M1, "ok", "ok"),
    "team member (read)": (Principal("reader", "member", "d5", ("d5",)), "403", "ok"),
    "team member (read_write)": (Principal("writer", "member", "d5", ("d5",)), "403", "ok"),
    "someone else": (OUTSIDER, "404", "404"),
}
ACTIONS = {       # action -> (kind: hold / read, run)
    "lock": ("hold", lambda db, p, cid: app.lock_customer(db.uow(), p, cid)),
    "unlock": ("hold", lambda db, p, cid: app.unlock_customer(db.uow(), p, cid)),
    "transfer": ("hold", lambda db, p, cid: app.transfer_customer(db.uow(), p, cid, "m3", owner_department_id="d3")),
    "return": ("hold", lambda db, p, cid: app.return_customer(db.uow(), p, cid, "No budget")),
    "return options": ("hold", lambda db, p, cid: app.customer_return_options(db.uow(), p, cid)),
    "owner history": ("read", lambda db, p, cid: app.list_customer_owners(db.uow(), p, cid)),
}


@pytest.mark.parametrize("action", ACTIONS)
@pytest.mark.parametrize("who", WHO)
def test_who_may_act_on_an_owned_customer(db, clock, who, action):
    pool(db)
    cid = owned(db, M1)
    app.set_customer_team_member(db.uow(), M1, cid, "reader", "read")
    app.set_customer_team_member(db.uow(), M1, cid, "writer", "read_write")
    principal, hold, read = WHO[who]
    kind, run = ACTIONS[action]
    try:
        run(db, principal, cid)
        outcome = "ok"
    except NotFound:
        outcome = "404"
    except Forbidden:
        outcome = "403"
    assert outcome == (hold if kind == "hold" else read)
