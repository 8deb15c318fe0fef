"""Claim, assign, return and move (``application.pool_actions``) on SQLite: who may, in which state,
the pool's claim limits as they count what happened (each limit, the protection period, the reclaim
cooldown with the time it becomes allowed), the return's pool and reason, and the events."""
from __future__ import annotations

import datetime as dt

import pytest

from crm_kit.errors import Forbidden, InvalidState, LimitExceeded, NotFound, ValidationFailed
from services.customers import application as app
from tests.unit.conftest import ADMIN
from tests.unit.customers import pool_support
from tests.unit.customers.pool_support import (
    DAY,
    M1,
    M2,
    MANAGER,
    OUTSIDER,
    POOL_ADMIN,
    T0,
    events,
    in_pool,
    owned,
    pool,
    set_columns,
    stored,
    stretches,
)

db, clock = pool_support.db, pool_support.clock      # the fixtures

UTC = dt.timezone.utc


def test_a_member_claims_a_customer_of_the_pool(db, clock):
    p = pool(db)
    cid = in_pool(db, p["id"])
    got = app.claim_customer(db.uow(), M1, cid)
    assert (got["owner_id"], got["department_id"], got["pool_id"], got["claim_count"]) == ("m1", "d1", None, 1)
    row = stored(db, cid)
    assert (row.owner_since, row.pool_since, row.previous_owner_id) == (T0, None, None)
    [stretch] = stretches(db, cid)
    assert (stretch.owner_id, stretch.start_kind, stretch.pool_id, stretch.started_at, stretch.ended_at) == (
        "m1", "claim", p["id"], T0, None)
    assert events(db, "customer_claimed") == [{"customer_id": cid, "owner_id": "m1", "department_id": "d1",
                                               "pool_id": p["id"], "claimed_at": T0.isoformat()}]
    [changed] = events(db, "customer_owner_changed")
    assert (changed["kind"], changed["owner_id"], changed["previous_owner_id"], changed["pool_id"]) == (
        "claim", "m1", None, p["id"])
    history = app.customer_history(db.uow(), M1, cid, {})["items"]
    assert history[0]["action"] == "claim" and history[0]["changes"]["owner_id"] == [None, "m1"]


# who -> outcome of claiming a customer of the pool
WHO_CLAIMS = {
    "a member": (M1, None),
    "the pool's admin (assigns, does not claim)": (POOL_ADMIN, Forbidden),
    "a platform admin (not a member)": (ADMIN, Forbidden),
    "someone outside the pool": (OUTSIDER, NotFound),
    "a manager outside the pool": (MANAGER, NotFound),
}


@pytest.mark.parametrize("name", WHO_CLAIMS)
def test_who_may_claim(db, clock, name):
    principal, error = WHO_CLAIMS[name]
    cid = in_pool(db, pool(db)["id"])
    if error is None:
        assert app.claim_customer(db.uow(), principal, cid)["owner_id"] == principal.user_id
    else:
        with pytest.raises(error):
            app.claim_customer(db.uow(), principal, cid)
        assert stored(db, cid).owner_id is None


def test_claiming_disabled_and_not_in_a_pool(db, clock):
    p = pool(db, claiming_enabled=False)
    cid = in_pool(db, p["id"])
    with pytest.raises(Forbidden, match="does not allow claiming"):
        app.claim_customer(db.uow(), M1, cid)
    mine = owned(db, M1)
    with pytest.raises(InvalidState) as exc:
        app.claim_customer(db.uow(), M1, mine)
    assert exc.value.extra["current_state"] == "owned"


# -- the claim limits as the use case counts them -----------------------------------------------------
def refusal(db, principal, cid) -> dict:
    with pytest.raises(LimitExceeded) as exc:
        app.claim_customer(db.uow(), principal, cid)
    assert exc.value.extra["limit"] in exc.value.detail
    return exc.value.extra


def test_protection_period_of_a_customer_new_to_the_pool(db, clock):
    p = pool(db, protection_days=3)
    cid = in_pool(db, p["id"], since=T0 - DAY)
    extra = refusal(db, M1, cid)
    assert extra == {"limit": "protection_days", "max": 3, "current": 1, "available_at": (T0 + 2 * DAY).isoformat()}
    clock.advance(2 * DAY)
    assert app.claim_customer(db.uow(), M1, cid)["owner_id"] == "m1"


def test_held_at_once_counts_what_came_from_this_pool(db, clock):
    p, other = pool(db, max_held=2), pool(db, name="Other pool")
    first, second, third = (in_pool(db, p["id"]) for _ in range(3))
    elsewhere = in_pool(db, other["id"])
    owned(db, M1)                                       # their own customers do not count
    app.claim_customer(db.uow(), M1, elsewhere)         # nor another pool's
    app.claim_customer(db.uow(), M1, first)
    app.claim_customer(db.uow(), M1, second)
    assert refusal(db, M1, third) == {"limit": "max_held", "max": 2, "current": 2}
    assert app.claim_customer(db.uow(), M2, third)["owner_id"] == "m2"     # per member
    app.return_customer(db.uow(), M1, first, "No budget")                    # returning frees a place
    clock.advance(DAY)
    assert app.claim_customer(db.uow(), M1, in_pool(db, p["id"]))["owner_id"] == "m1"


def test_claims_per_day_until_the_next_utc_midnight(db, clock):
    clock.now = dt.datetime(2030, 3, 4, 22, 0, tzinfo=UTC)
    p = pool(db, max_claims_per_day=2)
    ids = [in_pool(db, p["id"]) for _ in range(3)]
    app.claim_customer(db.uow(), M1, ids[0])
    app.claim_customer(db.uow(), M1, ids[1])
    app.return_customer(db.uow(), M1, ids[1], "Wrong one")          # a return does not give a claim back
    assert refusal(db, M1, ids[2]) == {"limit": "max_claims_per_day", "max": 2, "current": 2,
                                       "available_at": "2030-03-05T00:00:00+00:00"}
    clock.now = dt.datetime(2030, 3, 5, 0, 0, tzinfo=UTC)
    assert app.claim_customer(db.uow(), M1, ids[2])["owner_id"] == "m1"


def test_reclaim_cooldown_of_a_previous_owner(db, clock):
    p = pool(db, reclaim_cooldown_days=7)
    cid = in_pool(db, p["id"])
    app.claim_customer(db.uow(), M1, cid)
    clock.advance(DAY)
    returned_at = clock.now
    app.return_customer(db.uow(), M1, cid, "No budget")
    clock.advance(2 * DAY)
    assert refusal(db, M1, cid) == {"limit": "reclaim_cooldown_days", "max": 7, "current": 2,
                                    "available_at": (returned_at + 7 * DAY).isoformat()}
    assert app.claim_customer(db.uow(), M2, cid)["owner_id"] == "m2"     # anyone else may
    app.return_customer(db.uow(), M2, cid, "Not for me")
    clock.now = returned_at + 7 * DAY
    assert app.claim_customer(db.uow(), M1, cid)["owner_id"] == "m1"


# -- assign -------------------------------------------------------------------------------------------
def test_the_pool_admin_assigns_a_pool_customer(db, clock):
    p = pool(db, max_held=0, protection_days=30)       # the pool's claim limits do not bind an assign
    cid = in_pool(db, p["id"], since=T0)
    got = app.assign_customer(db.uow(), POOL_ADMIN, cid, "m2")
    assert (got["owner_id"], got["department_id"], got["pool_id"]) == ("m2", "d2", None)   # the pool's record
    assert stretches(db, cid)[0].start_kind == "assign"
    assert events(db, "customer_claimed") == []
    [changed] = events(db, "customer_owner_changed")
    assert (changed["kind"], changed["owner_id"]) == ("assign", "m2")


def test_assign_an_owned_customer_and_who_may(db, clock):
    cid = owned(db, M1)
    with pytest.raises(Forbidden):
        app.assign_customer(db.uow(), M1, cid, "m2")                 # the owner transfers, not assigns
    with pytest.raises(NotFound):
        app.assign_customer(db.uow(), POOL_ADMIN, cid, "m2")         # not their pool's customer
    got = app.assign_customer(db.uow(), MANAGER, cid, "m3", "d3")    # a manager of its department
    assert (got["owner_id"], got["department_id"], got["claim_count"]) == ("m3", "d3", 1)
    assert app.assign_customer(db.uow(), ADMIN, cid, "m3", "d3")["claim_count"] == 1   # the same owner: no change
    with pytest.raises(ValidationFailed):
        app.assign_customer(db.uow(), ADMIN, cid, "")


# -- return -------------------------------------------------------------------------------------------
def test_return_to_the_pool_it_came_from_with_a_reason(db, clock):
    p = pool(db, return_reasons=["No budget", "Lost to a competitor"])
    pool(db, name="Second pool")                              # m1 belongs to it too: two candidates
    cid = in_pool(db, p["id"])
    app.claim_customer(db.uow(), M1, cid)
    with pytest.raises(ValidationFailed) as exc:
        app.return_customer(db.uow(), M1, cid, "Bored")
    assert "reason" in exc.value.extra["errors"]
    clock.advance(DAY)
    got = app.return_customer(db.uow(), M1, cid, "No budget")
    assert (got["owner_id"], got["pool_id"]) == (None, p["id"])
    row = stored(db, cid)
    assert (row.previous_owner_id, row.pool_since, row.locked) == ("m1", T0 + DAY, False)
    [stretch] = stretches(db, cid)
    assert (stretch.ended_at, stretch.end_kind, stretch.end_reason, stretch.ended_by) == (
        T0 + DAY, "return", "No budget", "m1")
    assert events(db, "customer_returned") == [{
        "customer_id": cid, "previous_owner_id": "m1", "pool_id": p["id"], "reason": "No budget",
        "returned_at": (T0 + DAY).isoformat()}]
    assert events(db, "customer_owner_changed")[-1]["kind"] == "return"


def test_the_platforms_return_reasons_where_the_pool_has_none(db, clock):
    own, plain = pool(db, name="Own reasons", return_reasons=["Lost"]), pool(db, name="Plain")
    app.update_customer_settings(db.uow(), ADMIN, {"return_reasons": ["No budget", "No budget", "Moved away"]}, 1)
    assert app.get_customer_settings(db.uow(), ADMIN)["return_reasons"] == ["No budget", "Moved away"]
    cid = owned(db, M1)
    options = {o["pool_id"]: o["return_reasons"] for o in app.customer_return_options(db.uow(), M1, cid)["items"]}
    assert options == {own["id"]: ["Lost"], plain["id"]: ["No budget", "Moved away"]}
    with pytest.raises(ValidationFailed) as exc:
        app.return_customer(db.uow(), M1, cid, "Lost", plain["id"])          # the pool's own list is another's
    assert exc.value.extra["errors"]["reason"] == ["Must be one of the return reasons: No budget, Moved away."]
    assert app.return_customer(db.uow(), M1, cid, "Moved away", plain["id"])["pool_id"] == plain["id"]


def test_return_where_the_customer_may_go_to_several_pools(db, clock):
    first, second = pool(db, name="North", priority=5), pool(db, name="South")
    cid = owned(db, M1)                                         # entered by hand: came from no pool
    options = app.customer_return_options(db.uow(), M1, cid)
    assert [o["pool_id"] for o in options["items"]] == [first["id"], second["id"]]   # priority first
    assert options["default_pool_id"] is None
    with pytest.raises(ValidationFailed) as exc:
        app.return_customer(db.uow(), M1, cid, "Moving on")
    assert "choose one of" in str(exc.value.extra["errors"]["pool_id"])
    with pytest.raises(ValidationFailed):
        app.return_customer(db.uow(), M1, cid, "Moving on", "no-such-pool")
    assert app.return_customer(db.uow(), M1, cid, "Moving on", second["id"])["pool_id"] == second["id"]


def test_return_refusals(db, clock):
    p = pool(db)
    cid = owned(db, M1)
    app.set_customer_team_member(db.uow(), M1, cid, "m2", "read_write")
    with pytest.raises(Forbidden):
        app.return_customer(db.uow(), M2, cid, "Not mine to give")         # a team member may not
    app.lock_customer(db.uow(), M1, cid)
    with pytest.raises(InvalidState) as exc:
        app.return_customer(db.uow(), M1, cid, "Locked", p["id"])
    assert exc.value.extra["current_state"] == "locked"
    in_p = in_pool(db, p["id"])
    with pytest.raises(InvalidState):
        app.return_customer(db.uow(), ADMIN, in_p, "Already there", p["id"])
    # an owner in no pool may still return to a pool taking their department's customers (empty: everyone's)
    lonely = owned(db, OUTSIDER)
    assert [o["pool_id"] for o in app.customer_return_options(db.uow(), OUTSIDER, lonely)["items"]] == [p["id"]]
    app.update_customer_pool(db.uow(), ADMIN, p["id"], {"recycle_department_ids": ["d7"]}, None)
    assert app.customer_return_options(db.uow(), OUTSIDER, lonely)["items"] == []
    with pytest.raises(InvalidState, match="no pool"):
        app.return_customer(db.uow(), OUTSIDER, lonely, "Nowhere to go")


def test_a_deal_customer_may_be_returned(db, clock):
    p = pool(db)
    cid = owned(db, M1)
    set_columns(db, cid, deal_status="deal")
    assert app.return_customer(db.uow(), M1, cid, "Next sale", p["id"])["deal_status"] == "deal"


# -- move ---------------------------------------------------------------------------------------------
def test_move_between_pools_restarts_the_protection(db, clock):
    p, q = pool(db), pool(db, name="VIP", protection_days=2, member_ids=["m1"])
    cid = in_pool(db, p["id"])
    with pytest.raises(Forbidden):
        app.move_customer(db.uow(), M1, cid, q["id"])
    got = app.move_customer(db.uow(), POOL_ADMIN, cid, q["id"])
    assert got["pool_id"] == q["id"] and stored(db, cid).pool_since == T0
    assert events(db, "customer_owner_changed") == []                   # no owner either side
    assert app.customer_history(db.uow(), ADMIN, cid, {})["items"][0]["action"] == "move"
    extra = refusal(db, M1, cid)
    assert extra["limit"] == "protection_days" and extra["available_at"] == (T0 + 2 * DAY).isoformat()
    with pytest.raises(NotFound):
        app.move_customer(db.uow(), ADMIN, cid, "no-such-pool")
    mine = owned(db, M1)
    with pytest.raises(InvalidState):
        app.move_customer(db.uow(), ADMIN, mine, p["id"])


# -- claims at the same moment (PostgreSQL: the pool's row lock makes them take turns) ------------------
def _race(db, *calls) -> list:
    import threading
    results, barrier = [None] * len(calls), threading.Barrier(len(calls))

    def run(i, call):
        barrier.wait()
        try:
            results[i] = call()
        except Exception as exc:        # noqa: BLE001 (the outcome is what the test looks at)
            results[i] = exc

    threads = [threading.Thread(target=run, args=(i, c)) for i, c in enumerate(calls)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    return results


@pytest.mark.parametrize("attempt", range(3))
def test_two_members_claim_one_customer_at_once(make_db, attempt):
    from services.customers.models import Base
    db = make_db(Base, "customers", backend="postgresql")
    cid = in_pool(db, pool(db)["id"])
    results = _race(db, lambda: app.claim_customer(db.uow(), M1, cid), lambda: app.claim_customer(db.uow(), M2, cid))
    won = [r for r in results if isinstance(r, dict)]
    lost = [r for r in results if not isinstance(r, dict)]
    assert len(won) == 1 and len(lost) == 1, results
    assert isinstance(lost[0], (InvalidState, NotFound)), lost
    assert stored(db, cid).owner_id == won[0]["owner_id"] and stored(db, cid).claim_count == 1
    assert len(stretches(db, cid)) == 1


def test_one_member_claims_two_at_once_within_max_held(make_db):
    from services.customers.models import Base
    db = make_db(Base, "customers", backend="postgresql")
    p = pool(db, max_held=1)
    a, b = in_pool(db, p["id"]), in_pool(db, p["id"])
    results = _race(db, lambda: app.claim_customer(db.uow(), M1, a), lambda: app.claim_customer(db.uow(), M1, b))
    assert sorted(type(r).__name__ for r in results) == ["LimitExceeded", "dict"], results
