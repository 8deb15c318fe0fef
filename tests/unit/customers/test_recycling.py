"""Running the recycle rules (``application.recycling``) on SQLite: what moves and what stays, the
rule and its inputs in the audit and the event, dry runs, batches, the periodic job, who may run
it, and how a recycle meets the pool's protection period and the previous owner's cooldown."""
from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import update

from crm_kit.errors import Forbidden, LimitExceeded, NotFound
from services.customers import application as app
from services.customers.application import pool_actions, pools, recycling
from services.customers.models import Base, Contact, Customer, CustomerOwnership
from tests.unit.conftest import ADMIN, MEMBER_1, MEMBER_2

UTC = dt.timezone.utc
DAY = dt.timedelta(days=1)
NOW = dt.datetime.now(UTC).replace(microsecond=0)


@pytest.fixture
def db(make_db):
    return make_db(Base, "customers")


def pool(db, rules, **extra) -> dict:
    body = {"name": f"Pool {len(db.all(pools.CustomerPool))}", "admin_ids": [], "member_ids": [MEMBER_1.user_id,
                                                                                               MEMBER_2.user_id],
            "recycle_enabled": True, "recycle_rules": rules, **extra}
    return pools.create_customer_pool(db.uow(), ADMIN, body, {MEMBER_1.user_id: "d1", MEMBER_2.user_id: "d1"})


def customer(db, name, received_days_ago, owner=MEMBER_1, **facts) -> str:
    """A customer of ``owner``, received ``received_days_ago`` days ago, with ``facts`` set."""
    cid = app.create_customer(db.uow(), owner, {"name": name})["id"]
    received = NOW - received_days_ago * DAY
    with db.session() as s:
        s.execute(update(CustomerOwnership).where(CustomerOwnership.customer_id == cid).values(started_at=received))
        s.execute(update(Customer).where(Customer.id == cid).values(
            owner_since=received, created_at=received - DAY, **facts))
        s.commit()
    return cid


def row(db, cid) -> Customer:
    with db.session() as s:
        return s.get(Customer, cid)


def test_the_due_go_back_and_the_rest_stay(db):
    p = pool(db, [{"level": None, "no_follow_up_days": 30}])
    due = customer(db, "Stale", 31)
    fresh = customer(db, "Fresh", 10)
    followed = customer(db, "Followed", 60, last_followed_at=NOW - 5 * DAY)
    locked = customer(db, "Locked", 90, locked=True)
    deal = customer(db, "Deal", 90, deal_status="deal", deal_at=NOW - 80 * DAY)
    contact = app.create_contact(db.uow(), MEMBER_1, {"customer_id": due, "name": "Peter"})
    kept_contact = app.create_contact(db.uow(), MEMBER_1, {"customer_id": fresh, "name": "Bill"})
    app.add_customer_follow_up(db.uow(), MEMBER_1, due, {"kind": "call", "content": "x"})
    with db.session() as s:       # (that follow-up was long ago)
        s.execute(update(Customer).where(Customer.id == due).values(last_followed_at=NOW - 31 * DAY))
        s.commit()
    got = app.recycle_customer_pool(db.uow(), ADMIN, p["id"], NOW.isoformat())
    assert (got["count"], got["dry_run"], got["complete"]) == (1, False, True)
    [item] = got["items"]
    assert (item["customer_id"], item["previous_owner_id"], item["rule"]["clock"], item["rule"]["days"]) == (
        due, MEMBER_1.user_id, "no_follow_up", 30)
    recycled = row(db, due)
    assert (recycled.owner_id, recycled.pool_id, recycled.previous_owner_id) == (None, p["id"], MEMBER_1.user_id)
    for kept in (fresh, followed, locked, deal):
        assert row(db, kept).owner_id == MEMBER_1.user_id, kept
    # nothing lost: its contacts (now without owner, as their customer) and follow-ups stay with it
    with db.session() as s:
        assert (s.get(Contact, contact["id"]).customer_id, s.get(Contact, contact["id"]).owner_id) == (due, None)
        assert s.get(Contact, kept_contact["id"]).owner_id == MEMBER_1.user_id
    assert len(app.list_customer_follow_ups(db.uow(), ADMIN, due)["items"]) == 1
    # a second run as of the same time finds nothing left
    assert app.recycle_customer_pool(db.uow(), ADMIN, p["id"], NOW.isoformat())["count"] == 0


def test_the_rule_and_its_inputs_are_in_the_event_the_audit_and_the_owner_history(db):
    p = pool(db, [{"level": "A", "no_follow_up_days": 20, "warning_days": 2}])
    cid = customer(db, "Stale A", 25, level="A", last_followed_at=NOW - 24 * DAY)
    app.recycle_customer_pool(db.uow(), ADMIN, p["id"], NOW.isoformat())
    [event] = [r.body["payload"] for r in db.outbox("customer_recycled")]
    received, followed = NOW - 25 * DAY, NOW - 24 * DAY
    assert event["customer_id"] == cid and event["pool_id"] == p["id"]
    assert event["previous_owner_id"] == MEMBER_1.user_id
    rule = event["rule"]
    assert (rule["level"], rule["clock"], rule["days"]) == ("A", "no_follow_up", 20)
    assert dt.datetime.fromisoformat(rule["since"]) == followed
    assert dt.datetime.fromisoformat(rule["due_at"]) == followed + 20 * DAY
    assert {k: dt.datetime.fromisoformat(v) for k, v in rule["inputs"].items()} == {
        "owner_since": received, "last_followed_at": followed}
    assert dt.datetime.fromisoformat(event["as_of"]) == NOW
    [changed] = [r.body["payload"] for r in db.outbox("customer_owner_changed")
                 if r.body["payload"]["kind"] == "recycle"]
    assert changed["previous_owner_id"] == MEMBER_1.user_id and changed["pool_id"] == p["id"]
    entries = [e for e in app.customer_history(db.uow(), ADMIN, cid, {})["items"] if e["action"] == "recycle"]
    audited = [e["changes"]["recycle_rule"][1] for e in entries if "recycle_rule" in e["changes"]]
    assert len(audited) == 1 and audited[0]["clock"] == "no_follow_up" and audited[0]["pool_id"] == p["id"]
    assert set(audited[0]["inputs"]) == {"owner_since", "last_followed_at"}
    assert {e["actor_id"] for e in entries} == {ADMIN.user_id}
    with db.session() as s:
        [stretch] = s.query(CustomerOwnership).filter_by(customer_id=cid).all()
        assert stretch.end_kind == "recycle" and "no follow up for 20 days" in stretch.end_reason


def test_a_dry_run_answers_what_would_move_and_moves_nothing(db):
    p = pool(db, [{"level": None, "no_deal_days": 40, "exempt_deals": False}])
    ids = sorted(customer(db, f"C{i}", 41) for i in range(3))
    got = app.recycle_customer_pool(db.uow(), ADMIN, p["id"], NOW.isoformat(), dry_run=True)
    assert got["dry_run"] and got["count"] == 3 and [i["customer_id"] for i in got["items"]] == ids
    assert {i["rule"]["clock"] for i in got["items"]} == {"no_deal"}
    assert all(row(db, cid).owner_id == MEMBER_1.user_id for cid in ids)
    assert db.outbox("customer_recycled") == []
    # as of an earlier time nothing is due
    earlier = (NOW - 2 * DAY).isoformat()
    assert app.recycle_customer_pool(db.uow(), ADMIN, p["id"], earlier, dry_run=True)["count"] == 0


# each clock and exemption, through the run: (rule, customer facts, received days ago) -> recycled?
CASES = {
    "no follow-up, due": ({"no_follow_up_days": 10}, {}, 11, True),
    "no follow-up, followed since": ({"no_follow_up_days": 10}, {"last_followed_at": NOW - 3 * DAY}, 30, False),
    "no opportunity, due": ({"no_opportunity_days": 10}, {"last_opportunity_at": NOW - 50 * DAY}, 11, True),
    "no opportunity, a new one since": ({"no_opportunity_days": 10}, {"last_opportunity_at": NOW - DAY}, 30, False),
    "no deal, due": ({"no_deal_days": 10, "exempt_deals": False}, {}, 11, True),
    "no deal, a deal since": ({"no_deal_days": 10, "exempt_deals": False},
                              {"deal_status": "deal", "deal_at": NOW - 2 * DAY}, 30, False),
    "deal customers exempt": ({"no_follow_up_days": 10}, {"deal_status": "deal", "deal_at": NOW - 20 * DAY},
                              30, False),
    "open opportunities exempt": ({"no_follow_up_days": 10, "exempt_open_opportunities": True},
                                  {"open_opportunities": 1}, 30, False),
    "open opportunities not exempt": ({"no_follow_up_days": 10}, {"open_opportunities": 1}, 30, True),
    "locked: never": ({"no_follow_up_days": 10, "exempt_deals": False}, {"locked": True}, 300, False),
    "received recently, however old the follow-up": ({"no_follow_up_days": 10},
                                                     {"last_followed_at": NOW - 300 * DAY}, 5, False),
}


@pytest.mark.parametrize("case", CASES)
def test_each_clock_and_exemption(db, case):
    rule, facts, received, recycled = CASES[case]
    p = pool(db, [{"level": None, **rule}])
    cid = customer(db, "Subject", received, **facts)
    got = app.recycle_customer_pool(db.uow(), ADMIN, p["id"], NOW.isoformat())
    assert (got["count"] == 1) is recycled
    assert (row(db, cid).owner_id is None) is recycled


def test_levels_each_have_their_rule(db):
    p = pool(db, [{"level": "A", "no_follow_up_days": 60}, {"level": None, "no_follow_up_days": 10}])
    a_kept = customer(db, "A kept", 30, level="A")
    a_gone = customer(db, "A gone", 61, level="A")
    b_gone = customer(db, "B gone", 30, level="B")
    none_gone = customer(db, "No level", 11)
    got = app.recycle_customer_pool(db.uow(), ADMIN, p["id"], NOW.isoformat())
    assert {i["customer_id"]: i["rule"]["level"] for i in got["items"]} == {a_gone: "A", b_gone: None,
                                                                           none_gone: None}
    assert row(db, a_kept).owner_id == MEMBER_1.user_id


def test_a_pool_takes_only_its_departments_and_the_higher_priority_pool_wins(db):
    narrow = pool(db, [{"level": None, "no_follow_up_days": 10}], recycle_department_ids=["d9"])
    broad = pool(db, [{"level": None, "no_follow_up_days": 10}], priority=1)
    first = pool(db, [{"level": None, "no_follow_up_days": 100}], priority=5, recycle_department_ids=["d1"])
    cid = customer(db, "Stale", 50)              # owner in d1: the priority-5 pool takes it, and keeps it
    assert app.recycle_customer_pool(db.uow(), ADMIN, narrow["id"], NOW.isoformat())["count"] == 0
    assert app.recycle_customer_pool(db.uow(), ADMIN, broad["id"], NOW.isoformat())["count"] == 0
    assert app.recycle_customer_pool(db.uow(), ADMIN, first["id"], NOW.isoformat())["count"] == 0
    assert row(db, cid).owner_id == MEMBER_1.user_id
    later = (NOW + 60 * DAY).isoformat()
    assert app.recycle_customer_pool(db.uow(), ADMIN, first["id"], later)["count"] == 1
    assert row(db, cid).pool_id == first["id"]


def test_the_job_runs_every_pool_in_short_batches(db):
    p1 = pool(db, [{"level": None, "no_follow_up_days": 10}], recycle_department_ids=["d1"])
    due = [customer(db, f"D{i}", 20) for i in range(5)]
    kept = [customer(db, f"K{i}", 2) for i in range(3)]
    result = app.recycle_all_pools(db.uow(), NOW, batch_size=2)
    assert result["recycled"] == {p1["id"]: 5} and result["batches"] >= 3
    assert 0 <= result["longest_transaction_ms"] < 1000
    assert all(row(db, cid).pool_id == p1["id"] for cid in due)
    assert all(row(db, cid).owner_id == MEMBER_1.user_id for cid in kept)
    [entry] = [e for e in app.customer_history(db.uow(), ADMIN, due[0], {})["items"]
               if "recycle_rule" in e["changes"]]
    assert entry["actor_id"] == "customers"
    assert app.recycle_all_pools(db.uow(), NOW)["recycled"] == {}


def test_broken_stored_rules_leave_the_pool_out(db):
    p = pool(db, [{"level": None, "no_follow_up_days": 10}])
    customer(db, "Stale", 20)
    with db.session() as s:
        s.execute(update(pools.CustomerPool).where(pools.CustomerPool.id == p["id"])
                  .values(recycle_rules=[{"level": None}]))
        s.commit()
    assert recycling.recycling_pools(db.session()) == []
    assert app.recycle_all_pools(db.uow(), NOW)["recycled"] == {}


def test_who_may_run_it(db):
    p = pool(db, [{"level": None, "no_follow_up_days": 10}])
    admin_pool = pool(db, [{"level": None, "no_follow_up_days": 10}], admin_ids=[MEMBER_2.user_id])
    with pytest.raises((Forbidden, NotFound)):
        app.recycle_customer_pool(db.uow(), MEMBER_1, p["id"], NOW.isoformat())
    assert app.recycle_customer_pool(db.uow(), MEMBER_2, admin_pool["id"], None, True)["count"] == 0
    with pytest.raises(NotFound):
        app.recycle_customer_pool(db.uow(), ADMIN, "no-such-pool")


def test_bad_input_is_refused(db):
    p = pool(db, [{"level": None, "no_follow_up_days": 10}])
    from crm_kit.errors import ValidationFailed
    for as_of, dry in (("yesterday", None), (NOW.isoformat(), "maybe"), ("9999-01-01T00:00:00Z", None)):
        with pytest.raises(ValidationFailed):
            app.recycle_customer_pool(db.uow(), ADMIN, p["id"], as_of, dry)


def test_a_recycled_customer_is_protected_and_its_previous_owner_waits(db):
    """The pool's protection period and the reclaim cooldown count from the recycle; a claim then
    starts every clock afresh."""
    p = pool(db, [{"level": None, "no_follow_up_days": 10}], protection_days=2, reclaim_cooldown_days=5)
    cid = customer(db, "Stale", 20)
    app.recycle_customer_pool(db.uow(), ADMIN, p["id"], None)
    recycled_at = row(db, cid).pool_since
    with pytest.raises(LimitExceeded) as protected:
        pool_actions.claim_customer(db.uow(), MEMBER_2, cid)
    assert dt.datetime.fromisoformat(protected.value.public_extra()["available_at"]) == recycled_at + 2 * DAY
    with db.session() as s:           # three days pass
        s.execute(update(Customer).where(Customer.id == cid).values(pool_since=recycled_at - 3 * DAY))
        s.execute(update(CustomerOwnership).where(CustomerOwnership.customer_id == cid)
                  .values(ended_at=recycled_at - 3 * DAY))
        s.commit()
    with pytest.raises(LimitExceeded):               # the previous owner: five days from the recycle
        pool_actions.claim_customer(db.uow(), MEMBER_1, cid)
    pool_actions.claim_customer(db.uow(), MEMBER_2, cid)
    claimed = row(db, cid)
    assert claimed.owner_id == MEMBER_2.user_id and claimed.owner_since > recycled_at
    # received now: nothing is due for another ten days, though nobody followed it up for 20
    assert app.recycle_customer_pool(db.uow(), ADMIN, p["id"], None)["count"] == 0
    later = (claimed.owner_since + 10 * DAY).isoformat()
    assert app.recycle_customer_pool(db.uow(), ADMIN, p["id"], later, True)["count"] == 1


def test_a_run_on_postgresql(make_db):
    """Row locks, the batch's statements (executemany) and several batches in flight, on PostgreSQL."""
    db = make_db(Base, "customers", backend="postgresql")
    p = pool(db, [{"level": None, "no_follow_up_days": 10}])
    due = [customer(db, f"D{i}", 20) for i in range(7)]
    kept = [customer(db, f"K{i}", 2) for i in range(3)]
    contact = app.create_contact(db.uow(), MEMBER_1, {"customer_id": due[0], "name": "Peter"})
    versions = {cid: row(db, cid).version for cid in due}
    result = app.recycle_all_pools(db.uow(), NOW, batch_size=2, workers=3)
    assert result["recycled"] == {p["id"]: 7} and result["batches"] >= 4
    for cid in due:
        got = row(db, cid)
        assert (got.owner_id, got.pool_id, got.version) == (None, p["id"], versions[cid] + 1)
    assert all(row(db, cid).owner_id == MEMBER_1.user_id for cid in kept)
    with db.session() as s:
        assert s.get(Contact, contact["id"]).owner_id is None
        ended = s.query(CustomerOwnership).filter(CustomerOwnership.customer_id.in_(due)).all()
        assert {(o.end_kind, o.ended_by) for o in ended} == {("recycle", "customers")}
    assert len(db.outbox("customer_recycled")) == 7
    # the customer is still editable with its new version (If-Match)
    app.update_customer(db.uow(), ADMIN, due[0], {"level": "A"}, versions[due[0]] + 1)
    assert app.recycle_all_pools(db.uow(), NOW)["recycled"] == {}


def test_the_job_previewed_moves_nothing(db):
    """``run_job("recycle_customers", as_of, dry_run=True)`` runs it on a preview unit of work: every
    batch (each its own sibling) is rolled back, and the answer and events are what a run would make."""
    from crm_kit.runtime.preview import PreviewUnitOfWork
    p = pool(db, [{"level": None, "no_follow_up_days": 10}])
    due = [customer(db, f"D{i}", 20) for i in range(5)]
    previewed: list = []
    preview = PreviewUnitOfWork(db.session_factory, "customers", db.metadata, previewed=previewed)
    assert app.recycle_all_pools(preview, NOW, batch_size=2)["recycled"] == {p["id"]: 5}
    assert sorted(e["payload"]["customer_id"] for e in previewed if e["event_type"] == "customer_recycled") == \
        sorted(due)
    assert all(row(db, cid).owner_id == MEMBER_1.user_id for cid in due)
    assert db.outbox("customer_recycled") == []
