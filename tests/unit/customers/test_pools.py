"""Public pools (``application.pools``) on SQLite: created by admins, seen by their admins and
members, changed by admins and the pool's admins with the version, members and admins kept and
audited, the rules between fields, and the customers of a pool listed for those who work it."""
from __future__ import annotations

import pytest

from crm_kit.errors import Duplicate, Forbidden, NotFound, StaleVersion, ValidationFailed
from services.customers import application as app
from tests.unit.conftest import ADMIN
from tests.unit.customers import pool_support
from tests.unit.customers.pool_support import M1, M2, MANAGER, OUTSIDER, POOL_ADMIN, in_pool, owned, pool

db, clock = pool_support.db, pool_support.clock      # the fixtures


def test_create_and_read(db):
    got = pool(db, max_held=5, max_claims_per_day=2, reclaim_cooldown_days=7, protection_days=1,
               hidden_fields=["phone", "address", "phone"], return_reasons=["No budget"],
               recycle_enabled=True, recycle_rules=[{"level": "A", "no_follow_up_days": 30, "warning_days": 3}])
    assert (got["admin_ids"], got["member_ids"]) == (["padmin"], ["m1", "m2", "m3"])
    assert got["hidden_fields"] == ["phone", "address"] and got["version"] == 1
    assert got["recycle_rules"] == [{"level": "A", "no_follow_up_days": 30, "no_opportunity_days": None,
                                     "no_deal_days": None, "exempt_deals": True,
                                     "exempt_open_opportunities": False, "warning_days": 3}]
    assert got["created_by"] == ADMIN.user_id
    for principal in (ADMIN, POOL_ADMIN, M1):
        assert app.get_customer_pool(db.uow(), principal, got["id"])["id"] == got["id"]
    for principal in (OUTSIDER, MANAGER):
        with pytest.raises(NotFound):
            app.get_customer_pool(db.uow(), principal, got["id"])


def test_only_admins_create_pools_and_names_are_unique(db):
    for principal in (POOL_ADMIN, MANAGER, M1):
        with pytest.raises(Forbidden):
            app.create_customer_pool(db.uow(), principal, {"name": "Mine"})
    pool(db, name="North")
    with pytest.raises(Duplicate) as exc:
        pool(db, name="North")
    assert exc.value.extra["field"] == "name"


@pytest.mark.parametrize("data, field", [
    ({"name": " "}, "name"),
    ({"name": "x", "recycle_enabled": True}, "recycle_enabled"),
    ({"name": "x", "recycle_rules": [{"level": "A"}]}, "recycle_rules"),
    ({"name": "x", "recycle_rules": [{"level": "A", "no_deal_days": 5}, {"level": "A", "no_deal_days": 6}]},
     "recycle_rules"),
    ({"name": "x", "hidden_fields": ["salary"]}, "hidden_fields"),
    ({"name": "x", "max_held": -1}, "max_held"),
    ({"name": "x", "protection_days": 4000}, "protection_days"),
    ({"name": "x", "created_by": "me"}, "created_by"),
    ({"name": "x", "owner_id": "me"}, "owner_id"),
])
def test_what_a_pool_may_not_be(db, data, field):
    with pytest.raises(ValidationFailed) as exc:
        app.create_customer_pool(db.uow(), ADMIN, data)
    assert any(key == field or key.startswith(field + ".") for key in exc.value.extra["errors"])


def test_list_pools_in_scope(db):
    mine, other = pool(db, name="Mine"), pool(db, name="Other", admin_ids=[], member_ids=["m2"])
    assert [p["id"] for p in app.list_customer_pools(db.uow(), M1, {})["items"]] == [mine["id"]]
    assert [p["id"] for p in app.list_customer_pools(db.uow(), M2, {})["items"]] == [other["id"], mine["id"]]
    assert app.list_customer_pools(db.uow(), OUTSIDER, {})["items"] == []
    page = app.list_customer_pools(db.uow(), ADMIN, {"limit": 1})
    assert len(page["items"]) == 1 and page["next_cursor"]


def test_update_by_the_pool_admin_with_the_version(db):
    p = pool(db)
    got = app.update_customer_pool(db.uow(), POOL_ADMIN, p["id"], {"max_held": 3, "member_ids": ["m1", "m9"]}, 1,
                                   {"m9": "d9"})
    assert (got["max_held"], got["member_ids"], got["version"]) == (3, ["m1", "m9"], 2)
    with pytest.raises(StaleVersion):
        app.update_customer_pool(db.uow(), POOL_ADMIN, p["id"], {"max_held": 4}, 1)
    with pytest.raises(Forbidden):                                     # a member sees it, may not change it
        app.update_customer_pool(db.uow(), M1, p["id"], {"max_held": 4}, None)
    for principal in (OUTSIDER, MANAGER):                              # outside the pool: not there
        with pytest.raises(NotFound):
            app.update_customer_pool(db.uow(), principal, p["id"], {"max_held": 4}, None)
    with pytest.raises(NotFound):
        app.get_customer_pool(db.uow(), M2, p["id"])                 # no longer a member
    with pytest.raises(ValidationFailed):                              # recycling needs a rule, as changed
        app.update_customer_pool(db.uow(), ADMIN, p["id"], {"recycle_enabled": True}, None)
    t = db.metadata.tables["audit_log"]
    with db.session() as s:
        changes = [r.changes for r in s.execute(t.select().where(t.c.entity == "customer_pool")).all()]
    assert {"member_ids": [["m1", "m2", "m3"], ["m1", "m9"]]} in changes


def test_the_customers_of_a_pool(db):
    p, other = pool(db), pool(db, name="Other")
    ids = [in_pool(db, p["id"], level="A"), in_pool(db, p["id"], level="B")]
    in_pool(db, other["id"])
    owned(db, M1)
    for principal in (ADMIN, POOL_ADMIN, M1):
        listed = app.list_customer_pool_customers(db.uow(), principal, p["id"], {})
        assert [c["id"] for c in listed["items"]] == ids[::-1]
    assert [c["id"] for c in app.list_customer_pool_customers(db.uow(), M1, p["id"], {"level": "A"})["items"]] == \
        ids[:1]
    with pytest.raises(NotFound):
        app.list_customer_pool_customers(db.uow(), OUTSIDER, p["id"], {})
    with pytest.raises(ValidationFailed):
        app.list_customer_pool_customers(db.uow(), M1, p["id"], {"level": "Z"})
