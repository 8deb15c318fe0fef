"""Who sees and changes a pool's leads (``application.access``): the kit's scopes plus the pools'
way in (pool admins every lead of their pool, its members its unassigned leads)."""
from __future__ import annotations

import pytest

from crm_kit.context import Principal
from crm_kit.errors import Forbidden, NotFound
from services.leads import application as app
from tests.unit.conftest import ADMIN
from tests.unit.leads.support import M1, M2, OUTSIDER, POOL_ADMIN, lead, pool


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
