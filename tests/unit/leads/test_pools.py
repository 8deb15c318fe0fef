"""Lead pools (``application.pools``) and the distribution of a new pool lead
(``application.distribution``)."""
from __future__ import annotations

import pytest

from crm_kit.errors import Duplicate, Forbidden, NotFound, StaleVersion, ValidationFailed
from services.leads import application as app
from tests.unit.conftest import ADMIN, MANAGER_D1
from tests.unit.leads.support import M1, OUTSIDER, POOL_ADMIN, audit_rows, events, lead, pool

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
    history = [e for e in audit_rows(db) if e.entity == "lead_pool"]
    assert any("member_ids" in e.changes for e in history)


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
