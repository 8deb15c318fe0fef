"""Lead pools end to end: real users at the gateway, the leads service over RPC, problem+json."""
import datetime as dt

import pytest

from crm_kit.ids import new_id


@pytest.fixture(scope="module")
def crew(platform):
    tag = new_id()[-6:]
    dept = platform.post("/api/v1/departments", json={"name": f"Pool sales {tag}"}).json()
    users, tokens = {}, {}
    for name in ("m1", "m2", "padmin", "outsider"):
        username = f"{name}-{tag}"
        resp = platform.post("/api/v1/users", json={"username": username, "password": "a long password",
                                                    "role": "member", "department_id": dept["id"]})
        assert resp.status_code == 201, resp.text
        users[name] = resp.json()
        tokens[name] = platform.login(username, "a long password")
    return {"tag": tag, "dept": dept, "users": users, "tokens": tokens}


def make_pool(platform, crew, **rules):
    body = {"name": f"Pool {new_id()[-8:]}", "admin_ids": [crew["users"]["padmin"]["id"]],
            "member_ids": [crew["users"]["m1"]["id"], crew["users"]["m2"]["id"]], **rules}
    resp = platform.post("/api/v1/lead-pools", json=body)
    assert resp.status_code == 201, resp.text
    assert resp.headers["Location"].endswith(f"/api/v1/lead-pools/{resp.json()['id']}")
    return resp.json()


def pool_lead(platform, pool_id, token=None):
    resp = platform.post("/api/v1/leads", json={"name": f"Lead {new_id()[-6:]}", "pool_id": pool_id}, token=token)
    assert resp.status_code == 201, resp.text
    return resp.json()


def test_pool_crud_and_visibility(platform, crew):
    pool = make_pool(platform, crew, max_held=2)
    t = crew["tokens"]
    assert platform.get(f"/api/v1/lead-pools/{pool['id']}", token=t["m1"]).status_code == 200
    assert platform.get(f"/api/v1/lead-pools/{pool['id']}", token=t["outsider"]).status_code == 404
    listed = platform.get("/api/v1/lead-pools", token=t["m1"]).json()["items"]
    assert pool["id"] in {p["id"] for p in listed}
    patched = platform.request("PATCH", f"/api/v1/lead-pools/{pool['id']}", json={"max_held": 3},
                               headers={"If-Match": "1"}, token=t["padmin"])
    assert patched.status_code == 200 and patched.json()["version"] == 2, patched.text
    stale = platform.request("PATCH", f"/api/v1/lead-pools/{pool['id']}", json={"max_held": 4},
                             headers={"If-Match": "1"}, token=t["padmin"])
    assert stale.status_code == 409
    forbidden = platform.request("PATCH", f"/api/v1/lead-pools/{pool['id']}", json={"max_held": 4},
                                 token=t["m1"])
    assert forbidden.status_code == 403
    assert platform.post("/api/v1/lead-pools", json={"name": "x"}, token=t["m1"]).status_code == 403
    bad = platform.post("/api/v1/lead-pools", json={"name": "y", "recycle_warning_days": 3})
    assert bad.status_code == 422 and "recycle_warning_days" in bad.json()["errors"]


def test_claim_limits_return_and_cooldown(platform, crew):
    t, users = crew["tokens"], crew["users"]
    pool = make_pool(platform, crew, max_held=1, reclaim_cooldown_days=2)
    first, second = pool_lead(platform, pool["id"]), pool_lead(platform, pool["id"])
    assert first["status"] == "unassigned"
    claimed = platform.post(f"/api/v1/leads/{first['id']}/claim", token=t["m1"])
    assert claimed.status_code == 200, claimed.text
    assert claimed.json()["owner_id"] == users["m1"]["id"]
    assert claimed.json()["department_id"] == crew["dept"]["id"]
    limited = platform.post(f"/api/v1/leads/{second['id']}/claim", token=t["m1"])
    assert limited.status_code == 409, limited.text
    assert limited.headers["Content-Type"].startswith("application/problem+json")
    assert limited.json()["limit"] == "max_held" and "max_held" in limited.json()["detail"]
    assert (limited.json()["max"], limited.json()["current"]) == (1, 1)    # services/leads/README.md: max, current
    again = platform.post(f"/api/v1/leads/{first['id']}/claim", token=t["m2"])
    assert again.status_code == 404            # someone else's lead now: not visible
    returned = platform.post(f"/api/v1/leads/{first['id']}/return", json={"reason": "no budget"}, token=t["m1"])
    assert returned.status_code == 200 and returned.json()["status"] == "unassigned", returned.text
    cooldown = platform.post(f"/api/v1/leads/{first['id']}/claim", token=t["m1"])
    assert cooldown.status_code == 409 and cooldown.json()["limit"] == "reclaim_cooldown_days"
    available = dt.datetime.fromisoformat(cooldown.json()["available_at"])        # ... and available_at
    assert cooldown.json()["max"] == 2 and dt.timedelta(days=1) < available - dt.datetime.now(dt.timezone.utc)
    assert available.isoformat() in cooldown.json()["detail"]
    wrong = platform.post(f"/api/v1/leads/{first['id']}/return", json={"reason": "again"})
    assert wrong.status_code == 409 and wrong.json()["current_state"] == "unassigned"
    assert "unassigned" in wrong.json()["detail"]
    assert platform.post(f"/api/v1/leads/{first['id']}/claim", token=t["outsider"]).status_code == 404
    extra = platform.post(f"/api/v1/leads/{first['id']}/return", json={"reason": "x", "owner_id": "y"})
    assert extra.status_code == 422


def test_round_robin_follow_up_reminders_and_recycle(platform, crew):
    t, users = crew["tokens"], crew["users"]
    pool = make_pool(platform, crew, distribution="round_robin", recycle_after_days=5, recycle_warning_days=2,
                     first_response_hours=1)
    a, b = pool_lead(platform, pool["id"]), pool_lead(platform, pool["id"])
    assert {a["owner_id"], b["owner_id"]} == {users["m1"]["id"], users["m2"]["id"]}
    mine = a if a["owner_id"] == users["m1"]["id"] else b
    soon = (dt.datetime.now(dt.timezone.utc) - dt.timedelta(minutes=1)).isoformat()
    fu = platform.post(f"/api/v1/leads/{mine['id']}/follow-ups", token=t["m1"],
                       json={"kind": "call", "content": "Asked for a quote", "next_contact_at": soon})
    assert fu.status_code == 201, fu.text
    listed = platform.get(f"/api/v1/leads/{mine['id']}/follow-ups", token=t["m1"]).json()["items"]
    assert [x["id"] for x in listed] == [fu.json()["id"]]
    got = platform.get(f"/api/v1/leads/{mine['id']}", token=t["m1"]).json()
    assert got["status"] == "following" and got["first_response_at"] and got["sla_breached"] is False
    reminders = platform.get("/api/v1/me/reminders", token=t["m1"]).json()["items"]
    assert ("next_contact", mine["id"]) in {(r["kind"], r["lead_id"]) for r in reminders}
    later = (dt.datetime.now(dt.timezone.utc) + dt.timedelta(days=10)).isoformat()
    recycled = platform.post(f"/api/v1/lead-pools/{pool['id']}/recycle", json={"as_of": later}, token=t["padmin"])
    assert recycled.status_code == 200, recycled.text
    assert set(recycled.json()["recycled"]) == {a["id"], b["id"]}
    assert platform.get(f"/api/v1/leads/{a['id']}").json()["status"] == "unassigned"
    assert platform.post(f"/api/v1/lead-pools/{pool['id']}/recycle", json={}, token=t["m1"]).status_code == 403


def test_a_follow_up_has_its_own_url(platform, crew):
    t = crew["tokens"]
    lead = platform.post("/api/v1/leads", json={"name": f"Followed {new_id()[-6:]}"}, token=t["m1"]).json()
    other = platform.post("/api/v1/leads", json={"name": f"Other {new_id()[-6:]}"}, token=t["m1"]).json()
    created = platform.post(f"/api/v1/leads/{lead['id']}/follow-ups", json={"kind": "visit", "content": "Met them"},
                            token=t["m1"])
    assert created.status_code == 201, created.text
    fu = created.json()
    assert created.headers["Location"] == f"/api/v1/leads/{lead['id']}/follow-ups/{fu['id']}"
    got = platform.get(created.headers["Location"], token=t["m1"])
    assert got.status_code == 200 and got.json() == fu
    assert platform.get(created.headers["Location"]).json() == fu                          # the admin
    for path, token in ((f"/api/v1/leads/{other['id']}/follow-ups/{fu['id']}", t["m1"]),   # another lead's
                        (f"/api/v1/leads/{lead['id']}/follow-ups/{new_id()}", t["m1"]),     # no such follow-up
                        (created.headers["Location"], t["outsider"])):                      # lead out of scope
        missing = platform.get(path, token=token)
        assert missing.status_code == 404 and missing.headers["Content-Type"] == "application/problem+json"
    # a replayed create answers the same Location
    key = {"Idempotency-Key": new_id()}
    first = platform.post(f"/api/v1/leads/{lead['id']}/follow-ups", json={"kind": "call", "content": "Again"},
                          headers=key, token=t["m1"])
    again = platform.post(f"/api/v1/leads/{lead['id']}/follow-ups", json={"kind": "call", "content": "Again"},
                          headers=key, token=t["m1"])
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.headers["Location"] == first.headers["Location"] == (
        f"/api/v1/leads/{lead['id']}/follow-ups/{first.json()['id']}")


def test_assign_invalidate_discard_restore(platform, crew):
    t, users = crew["tokens"], crew["users"]
    pool = make_pool(platform, crew)
    lead = pool_lead(platform, pool["id"])
    assert platform.post(f"/api/v1/leads/{lead['id']}/assign", json={"owner_id": users["m2"]["id"]},
                         token=t["m1"]).status_code == 403
    assigned = platform.post(f"/api/v1/leads/{lead['id']}/assign", json={"owner_id": users["m2"]["id"]},
                             token=t["padmin"])
    assert assigned.status_code == 200 and assigned.json()["owner_id"] == users["m2"]["id"], assigned.text
    assert platform.post(f"/api/v1/leads/{lead['id']}/invalidate", token=t["m2"]).json()["status"] == "invalid"
    assert platform.post(f"/api/v1/leads/{lead['id']}/discard", token=t["m2"]).json()["status"] == "discarded"
    assert platform.post(f"/api/v1/leads/{lead['id']}/restore", token=t["padmin"]).status_code == 403
    restored = platform.post(f"/api/v1/leads/{lead['id']}/restore")
    assert restored.status_code == 200 and restored.json()["status"] == "unassigned"
    breached = platform.get("/api/v1/leads", params={"sla_breached": "true", "pool_id": pool["id"]}).json()
    assert breached["items"] == []
