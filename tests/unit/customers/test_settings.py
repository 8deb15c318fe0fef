"""The customer settings (``application.settings``) and the holding caps they hold: read and changed
by admins only, versioned; the holding cap on every path that gives a user a customer (claim, assign,
transfer, lead conversion), deal customers counted or not, the most specific cap, and the locked cap."""
from __future__ import annotations

import pytest

from crm_kit.errors import Forbidden, LimitExceeded, StaleVersion, ValidationFailed
from crm_kit.ids import new_id
from services.customers import application as app
from services.customers.events import LeadConverted
from services.customers.models import Customer
from tests.unit.conftest import ADMIN
from tests.unit.customers import pool_support
from tests.unit.customers.pool_support import (
    M1,
    M2,
    MANAGER,
    POOL_ADMIN,
    caps,
    in_pool,
    owned,
    pool,
    set_columns,
    stored,
)

db, clock = pool_support.db, pool_support.clock      # the fixtures


def test_defaults_and_who_may_read_or_change_them(db):
    got = app.get_customer_settings(db.uow(), ADMIN)
    assert got == {"holding_caps": [], "deal_triggers": ["opportunity_won", "order_approved", "contract_signed"],
                   "return_reasons": [], "updated_by": None, "version": 1, "updated_at": None}
    for principal in (M1, MANAGER, POOL_ADMIN):
        with pytest.raises(Forbidden):
            app.get_customer_settings(db.uow(), principal)
        with pytest.raises(Forbidden):
            app.update_customer_settings(db.uow(), principal, {"holding_caps": []}, 1)


def test_change_them_with_the_version(db):
    got = app.update_customer_settings(db.uow(), ADMIN, {"holding_caps": [{"max_held": 5}]}, 1)
    assert got["version"] == 2 and got["updated_by"] == ADMIN.user_id
    assert got["holding_caps"] == [{"department_id": None, "role": None, "max_held": 5, "max_locked": None,
                                    "count_deals": True}]
    with pytest.raises(StaleVersion):
        app.update_customer_settings(db.uow(), ADMIN, {"holding_caps": []}, 1)
    again = app.update_customer_settings(db.uow(), ADMIN, {"holding_caps": [{"max_held": 5}]}, 2)
    assert again["version"] == 2                                  # nothing changed: no new version
    t = db.metadata.tables["audit_log"]
    with db.session() as s:
        entries = s.execute(t.select().where(t.c.entity == "customer_settings")).all()
    assert {e.action for e in entries} == {"settings_update"}
    assert any("holding_caps" in e.changes for e in entries)


@pytest.mark.parametrize("data, field", [
    ({"holding_caps": [{"role": "member", "department_id": "d1"}]}, "holding_caps"),
    ({"holding_caps": [{"max_held": 1}, {"max_held": 2}]}, "holding_caps"),
    ({"holding_caps": [{"max_held": -1}]}, "holding_caps"),
    ({"holding_caps": [{"role": "king"}]}, "holding_caps"),
    ({"deal_triggers": ["order_paid"]}, "deal_triggers"),
    ({"return_reasons": [" "]}, "return_reasons"),
    ({"updated_by": "me"}, "updated_by"),
    ({"surprise": 1}, "surprise"),
])
def test_what_is_refused(db, data, field):
    with pytest.raises(ValidationFailed) as exc:
        app.update_customer_settings(db.uow(), ADMIN, data, 1)
    assert any(key == field or key.startswith(field + ".") for key in exc.value.extra["errors"])


# -- the holding cap on every path ----------------------------------------------------------------------
def lead(owner_id="m2", department_id="d2", company=None) -> dict:
    return {"event_id": new_id(), "actor": "m2", "payload": {
        "lead_id": new_id(), "name": "Li Lei", "company": company or f"Company {new_id()[-8:]}", "phone": None,
        "owner_id": owner_id, "department_id": department_id}}


def give_by(path: str, db, p) -> dict | None:
    """Give one customer to m2 (department d2) by ``path``; the customer (None: conversion)."""
    if path == "claim":
        return app.claim_customer(db.uow(), M2, in_pool(db, p["id"]))
    if path == "assign":
        return app.assign_customer(db.uow(), POOL_ADMIN, in_pool(db, p["id"]), "m2", "d2")
    if path == "transfer":
        return app.transfer_customer(db.uow(), M1, owned(db, M1), "m2", owner_department_id="d2")
    if path == "convert into a new customer":
        db.handle(app.on_lead_converted, lead(), LeadConverted)
        return None
    if path == "convert into one in a pool":
        name = f"Pooled {new_id()[-8:]}"
        in_pool(db, p["id"], name=name)
        db.handle(app.on_lead_converted, lead(company=name), LeadConverted)
        return None
    raise AssertionError(path)


PATHS = ["claim", "assign", "transfer", "convert into a new customer", "convert into one in a pool"]


@pytest.mark.parametrize("path", PATHS)
def test_the_holding_cap_on_every_path(db, clock, path):
    p = pool(db)
    caps(db, {"max_held": 1})
    owned(db, M2)                                              # m2 holds one: the cap
    before = db.count(Customer)
    if path.startswith("convert"):
        give_by(path, db, p)                                   # the customer is not lost: it waits in the pool
        assert db.count(Customer) == before + (1 if path.endswith("new customer") else 1)
        with db.session() as s:
            newest = s.query(Customer).filter(Customer.source_lead_id.is_not(None) | Customer.pool_id.is_not(None)) \
                .order_by(Customer.created_at.desc(), Customer.id.desc()).first()
        assert newest.owner_id is None and newest.pool_id == p["id"]
        entries = [h for h in app.customer_history(db.uow(), ADMIN, newest.id, {})["items"]
                   if h["action"] == "holding_cap_exceeded"]
        assert entries and entries[0]["changes"]["holding_cap_exceeded"][1]["owner_id"] == "m2"
        assert entries[0]["changes"]["holding_cap_exceeded"][1]["max"] == 1
        return
    with pytest.raises(LimitExceeded) as exc:
        give_by(path, db, p)
    assert exc.value.extra == {"limit": "holding_cap", "max": 1, "current": 1}
    assert "holding_cap" in exc.value.detail


@pytest.mark.parametrize("path", PATHS)
def test_within_the_cap_every_path_gives(db, clock, path):
    p = pool(db)
    caps(db, {"max_held": 2})
    owned(db, M2)
    got = give_by(path, db, p)
    if got is not None:
        assert got["owner_id"] == "m2"
    else:
        with db.session() as s:
            assert s.query(Customer).filter(Customer.owner_id == "m2").count() == 2


@pytest.mark.parametrize("count_deals, refused", [(True, True), (False, False)])
def test_deal_customers_count_or_not_per_setting(db, clock, count_deals, refused):
    p = pool(db)
    caps(db, {"max_held": 1, "count_deals": count_deals})
    set_columns(db, owned(db, M2), deal_status="deal")
    cid = in_pool(db, p["id"])
    if refused:
        with pytest.raises(LimitExceeded, match="holding_cap"):
            app.claim_customer(db.uow(), M2, cid)
    else:
        assert app.claim_customer(db.uow(), M2, cid)["owner_id"] == "m2"


def test_the_most_specific_cap_applies(db, clock):
    p = pool(db)
    caps(db, {"max_held": 0}, {"role": "member", "max_held": 1}, {"department_id": "d3", "max_held": 2})
    # a claim: the caller's role is known (member: 1)
    assert app.claim_customer(db.uow(), M2, in_pool(db, p["id"]))["owner_id"] == "m2"
    with pytest.raises(LimitExceeded) as exc:
        app.claim_customer(db.uow(), M2, in_pool(db, p["id"]))
    assert "role member" in exc.value.detail
    # an assign names another user: their department's cap (d3: 2), else the default (0), never a role's
    app.assign_customer(db.uow(), POOL_ADMIN, in_pool(db, p["id"]), "m3", "d3")
    app.assign_customer(db.uow(), POOL_ADMIN, in_pool(db, p["id"]), "m3", "d3")
    with pytest.raises(LimitExceeded, match="department d3"):
        app.assign_customer(db.uow(), POOL_ADMIN, in_pool(db, p["id"]), "m3", "d3")
    with pytest.raises(LimitExceeded, match="the default cap"):
        app.assign_customer(db.uow(), POOL_ADMIN, in_pool(db, p["id"]), "m1", "d1")


def test_the_locked_cap(db, clock):
    caps(db, {"max_held": None, "max_locked": 1})
    first, second = owned(db, M1), owned(db, M1)
    app.lock_customer(db.uow(), M1, first)
    with pytest.raises(LimitExceeded) as exc:
        app.lock_customer(db.uow(), M1, second)
    assert exc.value.extra == {"limit": "locked_cap", "max": 1, "current": 1} and "locked_cap" in exc.value.detail
    assert stored(db, second).locked is False
    app.unlock_customer(db.uow(), M1, first)
    assert app.lock_customer(db.uow(), M1, second)["id"] == second
    assert stored(db, second).locked is True
