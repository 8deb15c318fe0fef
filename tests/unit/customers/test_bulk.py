"""Bulk claim, assign, return and transfer (``application.bulk``): the single action on each id, each
its own transaction, one result per id in the order given (the customer, or the problem+json body the
single action would have answered), refusals never stopping the others; a retry of the same request
does only what was not done."""
from __future__ import annotations

import pytest

from crm_kit.errors import ServiceUnavailable, ValidationFailed
from crm_kit.records.teams import access_of
from crm_kit.runtime.uow import AlreadyHandled, RpcRequest
from services.customers import application as app
from services.customers.application import bulk
from services.customers.models import customer_team
from tests.unit.conftest import ADMIN
from tests.unit.customers import pool_support
from tests.unit.customers.pool_support import M1, M2, POOL_ADMIN, caps, events, in_pool, owned, pool, stored

db, clock = pool_support.db, pool_support.clock      # the fixtures


def test_bulk_claim_with_a_result_per_item(db, clock):
    p = pool(db, max_held=2)
    a, b, c = (in_pool(db, p["id"]) for _ in range(3))
    mine = owned(db, M2)
    result = app.bulk_claim_customers(db.uow(), M1, {"customer_ids": [a, b, a, c, mine, "no-such-id"]})
    assert [(i["customer_id"], i["status"]) for i in result["items"]] == [
        (a, 200), (b, 200), (c, 409), (mine, 404), ("no-such-id", 404)]         # each id once, in order
    assert (result["succeeded"], result["failed"]) == (2, 3)
    assert result["items"][0]["customer"]["owner_id"] == "m1" and result["items"][0]["problem"] is None
    problem = result["items"][2]["problem"]
    assert problem["type"].endswith("/limit-exceeded") and problem["status"] == 409
    assert (problem["limit"], problem["max"], problem["current"]) == ("max_held", 2, 2)
    assert "max_held" in problem["detail"] and result["items"][2]["customer"] is None
    assert result["items"][3]["problem"]["type"].endswith("/not-found")
    assert stored(db, c).owner_id is None
    assert len(events(db, "customer_claimed")) == 2


def test_bulk_assign_stops_at_the_holding_cap_item_by_item(db, clock):
    p = pool(db)
    caps(db, {"max_held": 2})
    ids = [in_pool(db, p["id"]) for _ in range(3)]
    result = app.bulk_assign_customers(db.uow(), POOL_ADMIN, {"owner_id": "m2", "customer_ids": ids}, "d2")
    assert [i["status"] for i in result["items"]] == [200, 200, 409]
    assert result["items"][2]["problem"]["limit"] == "holding_cap"
    assert [stored(db, i).owner_id for i in ids] == ["m2", "m2", None]
    refused = app.bulk_assign_customers(db.uow(), M1, {"owner_id": "m1", "customer_ids": ids[2:]})
    assert refused["items"][0]["status"] == 403


def test_bulk_return_and_transfer(db, clock):
    p = pool(db, return_reasons=["No budget"])
    ids = [owned(db, M1) for _ in range(2)]
    other = owned(db, M2)
    moved = app.bulk_transfer_customers(db.uow(), M1, {"owner_id": "m3", "customer_ids": ids + [other],
                                                       "keep_old_owner": "read", "reason": "Reorganisation"}, "d3")
    assert [i["status"] for i in moved["items"]] == [200, 200, 404]
    with db.session() as s:
        assert [access_of(s, customer_team, i, "m1") for i in ids] == ["read", "read"]
    back = app.bulk_return_customers(db.uow(), pool_support.M3, {"customer_ids": ids, "reason": "Bored",
                                                                 "pool_id": p["id"]})
    assert [i["status"] for i in back["items"]] == [422, 422]
    assert "reason" in back["items"][0]["problem"]["errors"]
    back = app.bulk_return_customers(db.uow(), pool_support.M3, {"customer_ids": ids, "reason": "No budget",
                                                                 "pool_id": p["id"]})
    assert [i["customer"]["pool_id"] for i in back["items"]] == [p["id"], p["id"]]


@pytest.mark.parametrize("call, data", [
    (app.bulk_claim_customers, {"customer_ids": []}),
    (app.bulk_claim_customers, {"customer_ids": ["x"] * 201}),
    (app.bulk_claim_customers, {}),
    (app.bulk_assign_customers, {"customer_ids": ["x"]}),
    (app.bulk_return_customers, {"customer_ids": ["x"]}),
    (app.bulk_transfer_customers, {"customer_ids": ["x"], "owner_id": "m2", "until": "2031-01-01T00:00:00Z"}),
])
def test_the_request_itself_is_checked_first(db, call, data):
    with pytest.raises(ValidationFailed):
        call(db.uow(), ADMIN, data)


def test_a_retry_does_only_what_was_not_done(db, clock, monkeypatch):
    p = pool(db)
    a, b = in_pool(db, p["id"]), in_pool(db, p["id"])
    real = bulk.claim_customer
    outage = {"on": True}

    def flaky(uow, principal, customer_id):
        if customer_id == b and outage["on"]:
            raise ServiceUnavailable("the database went away", {"service": "customers"})
        return real(uow, principal, customer_id)

    monkeypatch.setattr(bulk, "claim_customer", flaky)
    data = {"customer_ids": [a, b]}
    with pytest.raises(ServiceUnavailable):                    # the request ends; a stays claimed
        app.bulk_claim_customers(db.uow(request=RpcRequest("req-bulk-1", "bulk_claim_customers")), M1, data)
    assert stored(db, a).owner_id == "m1" and stored(db, b).owner_id is None
    outage["on"] = False
    retry = RpcRequest("req-bulk-1", "bulk_claim_customers", maybe_handled=True)
    result = app.bulk_claim_customers(db.uow(request=retry), M1, data)
    assert [i["status"] for i in result["items"]] == [200, 200]           # a answered from its record
    assert stored(db, a).claim_count == 1 and len(events(db, "customer_claimed")) == 2
    with pytest.raises(AlreadyHandled) as done:                           # the whole result is recorded now
        app.bulk_claim_customers(db.uow(request=retry), M1, data)
    assert done.value.reply == result
