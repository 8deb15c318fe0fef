"""The leads service's timer runs the recycle rule by itself (LEADS_RECYCLE_INTERVAL_SECONDS)."""
import datetime as dt

import pytest
from sqlalchemy import create_engine, text

from tests.integration.harness import Platform


@pytest.fixture
def timer_platform(tmp_path):
    plat = Platform(tmp_path, backend="sqlite", services=("leads", "gateway"),
                    extra_env={"LEADS_RECYCLE_INTERVAL_SECONDS": "0.5"})
    try:
        plat.start()
        yield plat
    finally:
        plat.destroy()


def test_timer_recycles_stale_pool_leads_sqlite(timer_platform):
    plat = timer_platform
    member = plat.post("/api/v1/users", json={"username": "timer-m1", "password": "a long password",
                                              "role": "member"}).json()
    pool = plat.post("/api/v1/lead-pools", json={"name": "Timer pool", "member_ids": [member["id"]],
                                                 "default_assignee_id": member["id"], "recycle_after_days": 3})
    assert pool.status_code == 201, pool.text
    stale = plat.post("/api/v1/leads", json={"name": "Stale", "pool_id": pool.json()["id"]}).json()
    fresh = plat.post("/api/v1/leads", json={"name": "Fresh", "pool_id": pool.json()["id"]}).json()
    assert stale["owner_id"] == member["id"] and stale["status"] == "pending"
    # four days pass for one of them (nothing else in the platform can move a lead's clock)
    engine = create_engine(plat.db_urls["leads"])
    with engine.begin() as conn:
        conn.execute(text("UPDATE leads SET assigned_at = :t WHERE id = :id"),
                     {"t": (dt.datetime.now(dt.timezone.utc) - dt.timedelta(days=4)).replace(tzinfo=None),
                      "id": stale["id"]})
    engine.dispose()
    got = plat.eventually(lambda: (lambda lead: lead if lead["status"] == "unassigned" else None)(
        plat.get(f"/api/v1/leads/{stale['id']}").json()))
    assert got["owner_id"] is None and got["previous_owner_id"] == member["id"]
    assert plat.get(f"/api/v1/leads/{fresh['id']}").json()["status"] == "pending"
    history = plat.get(f"/api/v1/leads/{stale['id']}/history").json()["items"]
    assert history[0]["action"] == "recycle" and history[0]["actor_id"] == "leads"
