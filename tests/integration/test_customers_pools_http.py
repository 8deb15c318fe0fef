"""Customer pools (公海) and ownership end to end: real users at the gateway, the customers service
over RPC, problem+json -- pools and their customers, claim limits with their `available_at`, masked
fields, return / move / lock / transfer, the owner history, bulk actions, the customer settings and
the holding cap, and who may call each route."""
import datetime as dt
import uuid

import pytest

from crm_kit.ids import new_id


@pytest.fixture(scope="module")
def crew(platform):
    tag = new_id()[-6:]
    dept = platform.post("/api/v1/departments", json={"name": f"Customer pool sales {tag}"}).json()
    users, tokens = {}, {}
    for name, role in (("m1", "member"), ("m2", "member"), ("padmin", "member"), ("outsider", "member"),
                       ("manager", "manager")):
        username = f"cp-{name}-{tag}"
        resp = platform.post("/api/v1/users", json={"username": username, "password": "a long password",
                                                    "role": role, "department_id": dept["id"]})
        assert resp.status_code == 201, resp.text
        users[name] = resp.json()
        tokens[name] = platform.login(username, "a long password")
    return {"tag": tag, "dept": dept, "users": users, "tokens": tokens}


def make_pool(platform, crew, **rules):
    u = crew["users"]
    body = {"name": f"Customer pool {new_id()[-8:]}", "admin_ids": [u["padmin"]["id"]],
            "member_ids": [u["m1"]["id"], u["m2"]["id"]], **rules}
    resp = platform.post("/api/v1/customer-pools", json=body)
    assert resp.status_code == 201, resp.text
    assert resp.headers["Location"].endswith(f"/api/v1/customer-pools/{resp.json()['id']}")
    return resp.json()


def owned_by(platform, token, **fields):
    resp = platform.post("/api/v1/customers", json={"name": f"Customer {new_id()[-8:]}", **fields}, token=token)
    assert resp.status_code == 201, resp.text
    return resp.json()


def pooled(platform, crew, pool, **fields):
    """A customer m1 entered and returned to ``pool``."""
    customer = owned_by(platform, crew["tokens"]["m1"], **fields)
    resp = platform.post(f"/api/v1/customers/{customer['id']}/return", json={"reason": "No budget",
                                                                             "pool_id": pool["id"]},
                         token=crew["tokens"]["m1"])
    assert resp.status_code == 200, resp.text
    return resp.json()


def test_pool_crud_visibility_and_its_customers(platform, crew):
    t = crew["tokens"]
    pool = make_pool(platform, crew, max_held=2)
    assert platform.get(f"/api/v1/customer-pools/{pool['id']}", token=t["m1"]).status_code == 200
    assert platform.get(f"/api/v1/customer-pools/{pool['id']}", token=t["outsider"]).status_code == 404
    assert pool["id"] in {p["id"] for p in platform.get("/api/v1/customer-pools", token=t["m2"]).json()["items"]}
    patched = platform.request("PATCH", f"/api/v1/customer-pools/{pool['id']}", json={"max_held": 3},
                               headers={"If-Match": "1"}, token=t["padmin"])
    assert patched.status_code == 200 and patched.json()["version"] == 2, patched.text
    stale = platform.request("PATCH", f"/api/v1/customer-pools/{pool['id']}", json={"max_held": 4},
                             headers={"If-Match": "1"}, token=t["padmin"])
    assert stale.status_code == 409
    assert platform.request("PATCH", f"/api/v1/customer-pools/{pool['id']}", json={"max_held": 4},
                            token=t["m1"]).status_code == 403
    assert platform.post("/api/v1/customer-pools", json={"name": "x"}, token=t["padmin"]).status_code == 403
    unknown = platform.post("/api/v1/customer-pools", json={"name": f"y {new_id()}", "member_ids": ["nobody"]})
    assert unknown.status_code == 422 and "member_ids" in unknown.json()["errors"]
    bad = platform.post("/api/v1/customer-pools", json={"name": f"z {new_id()}", "recycle_enabled": True})
    assert bad.status_code == 422 and "recycle_enabled" in bad.json()["errors"]
    customer = pooled(platform, crew, pool)
    listed = platform.get(f"/api/v1/customer-pools/{pool['id']}/customers", token=t["m2"]).json()["items"]
    assert [c["id"] for c in listed] == [customer["id"]]
    assert platform.get(f"/api/v1/customer-pools/{pool['id']}/customers",
                        token=t["outsider"]).status_code == 404


def test_claim_limits_name_the_rule_and_when(platform, crew):
    t, u = crew["tokens"], crew["users"]
    pool = make_pool(platform, crew, max_held=1, reclaim_cooldown_days=2)
    first, second = pooled(platform, crew, pool), pooled(platform, crew, pool)
    assert first["owner_id"] is None and first["pool_id"] == pool["id"]
    claimed = platform.post(f"/api/v1/customers/{first['id']}/claim", token=t["m2"])
    assert claimed.status_code == 200, claimed.text
    assert (claimed.json()["owner_id"], claimed.json()["department_id"]) == (u["m2"]["id"], crew["dept"]["id"])
    limited = platform.post(f"/api/v1/customers/{second['id']}/claim", token=t["m2"])
    assert limited.status_code == 409 and limited.headers["Content-Type"].startswith("application/problem+json")
    assert (limited.json()["limit"], limited.json()["max"], limited.json()["current"]) == ("max_held", 1, 1)
    assert "max_held" in limited.json()["detail"]
    # m1 returned `second` just now: the cooldown names when m1 may claim it again
    cooldown = platform.post(f"/api/v1/customers/{second['id']}/claim", token=t["m1"])
    assert cooldown.status_code == 409 and cooldown.json()["limit"] == "reclaim_cooldown_days", cooldown.text
    available = dt.datetime.fromisoformat(cooldown.json()["available_at"])
    assert dt.timedelta(days=1) < available - dt.datetime.now(dt.timezone.utc) <= dt.timedelta(days=2)
    assert available.isoformat() in cooldown.json()["detail"]
    protected = make_pool(platform, crew, protection_days=1)
    fresh = pooled(platform, crew, protected)
    refused = platform.post(f"/api/v1/customers/{fresh['id']}/claim", token=t["m2"])
    assert refused.status_code == 409 and refused.json()["limit"] == "protection_days"
    assert refused.json()["available_at"]
    assert platform.post(f"/api/v1/customers/{first['id']}/claim", token=t["outsider"]).status_code == 404
    wrong = platform.post(f"/api/v1/customers/{first['id']}/claim", token=t["m2"])
    assert wrong.status_code == 409 and wrong.json()["current_state"] == "owned"


def test_hidden_fields_are_masked_until_claimed(platform, crew):
    t = crew["tokens"]
    pool = make_pool(platform, crew, hidden_fields=["phone", "address"])
    customer = pooled(platform, crew, pool, mobile=f"139{uuid.uuid4().int % 10**8:08d}", address="1 Main Road")
    seen = platform.get(f"/api/v1/customers/{customer['id']}", token=t["m2"])
    assert seen.status_code == 200, seen.text
    assert seen.json()["mobile"] is None and seen.json()["address"] is None
    assert {"mobile", "address"} <= set(seen.json()["masked_fields"])
    admin_view = platform.get(f"/api/v1/customers/{customer['id']}", token=t["padmin"]).json()
    assert admin_view["mobile"] and admin_view["address"] == "1 Main Road" and "masked_fields" not in admin_view
    claimed = platform.post(f"/api/v1/customers/{customer['id']}/claim", token=t["m2"]).json()
    assert claimed["mobile"] == admin_view["mobile"] and "masked_fields" not in claimed


def test_return_move_lock_transfer_and_the_owner_history(platform, crew):
    t, u = crew["tokens"], crew["users"]
    pool = make_pool(platform, crew, return_reasons=["No budget", "Lost"])
    other = make_pool(platform, crew)
    customer = owned_by(platform, t["m1"])
    options = platform.get(f"/api/v1/customers/{customer['id']}/return-options", token=t["m1"]).json()
    assert {pool["id"], other["id"]} <= {o["pool_id"] for o in options["items"]}
    bad = platform.post(f"/api/v1/customers/{customer['id']}/return", json={"reason": "Bored", "pool_id": pool["id"]},
                        token=t["m1"])
    assert bad.status_code == 422 and "reason" in bad.json()["errors"]
    locked = platform.post(f"/api/v1/customers/{customer['id']}/lock", token=t["m1"])
    assert locked.status_code == 200 and locked.json()["locked"] is True
    refused = platform.post(f"/api/v1/customers/{customer['id']}/return", json={"reason": "No budget",
                                                                                "pool_id": pool["id"]}, token=t["m1"])
    assert refused.status_code == 409 and refused.json()["current_state"] == "locked"
    assert platform.post(f"/api/v1/customers/{customer['id']}/unlock", token=t["m1"]).json()["locked"] is False
    until = (dt.datetime.now(dt.timezone.utc) + dt.timedelta(days=14)).isoformat()
    moved = platform.post(f"/api/v1/customers/{customer['id']}/transfer", token=t["m1"], json={
        "owner_id": u["m2"]["id"], "keep_old_owner": "read", "until": until, "reason": "Holiday cover"})
    assert moved.status_code == 200 and moved.json()["owner_id"] == u["m2"]["id"], moved.text
    team = platform.get(f"/api/v1/customers/{customer['id']}/team", token=t["m1"]).json()["items"]
    assert [(m["access"], m["expires_at"] is not None) for m in team if m["user_id"] == u["m1"]["id"]] == [
        ("read", True)]
    assert platform.post(f"/api/v1/customers/{customer['id']}/transfer", json={"owner_id": u["m1"]["id"]},
                         token=t["m1"]).status_code == 403
    nobody = platform.post(f"/api/v1/customers/{customer['id']}/transfer", json={"owner_id": "nobody"},
                           token=t["m2"])
    assert nobody.status_code == 422 and "owner_id" in nobody.json()["errors"]
    back = platform.post(f"/api/v1/customers/{customer['id']}/return", json={"reason": "Lost", "pool_id": pool["id"]},
                         token=t["m2"])
    assert back.status_code == 200 and back.json()["pool_id"] == pool["id"], back.text
    assert platform.post(f"/api/v1/customers/{customer['id']}/move", json={"pool_id": other["id"]},
                         token=t["m2"]).status_code == 403
    moved = platform.post(f"/api/v1/customers/{customer['id']}/move", json={"pool_id": other["id"]},
                          token=t["padmin"])
    assert moved.status_code == 200 and moved.json()["pool_id"] == other["id"], moved.text
    assigned = platform.post(f"/api/v1/customers/{customer['id']}/assign", json={"owner_id": u["m1"]["id"]},
                             token=t["padmin"])
    assert assigned.status_code == 200 and assigned.json()["owner_id"] == u["m1"]["id"], assigned.text
    history = platform.get(f"/api/v1/customers/{customer['id']}/owners", token=t["m1"]).json()["items"]
    assert [(h["owner_id"], h["start_kind"], h["end_kind"]) for h in history] == [
        (u["m1"]["id"], "created", "transfer"), (u["m2"]["id"], "transfer", "return"),
        (u["m1"]["id"], "assign", None)]
    assert history[0]["end_reason"] == "Holiday cover" and history[1]["end_reason"] == "Lost"
    assert platform.get(f"/api/v1/customers/{customer['id']}/owners", token=t["outsider"]).status_code == 404


def test_bulk_claim_answers_per_item(platform, crew):
    t = crew["tokens"]
    pool = make_pool(platform, crew, max_held=2)
    ids = [pooled(platform, crew, pool)["id"] for _ in range(3)]
    resp = platform.post("/api/v1/customers/bulk/claim", json={"customer_ids": ids + [new_id()]}, token=t["m2"])
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert [i["status"] for i in body["items"]] == [200, 200, 409, 404]
    assert (body["succeeded"], body["failed"]) == (2, 2)
    assert body["items"][2]["problem"]["limit"] == "max_held"
    assert body["items"][2]["problem"]["type"].endswith("/limit-exceeded")
    key = {"Idempotency-Key": new_id()}
    first = platform.post("/api/v1/customers/bulk/assign", json={"customer_ids": ids[2:], "owner_id":
                                                                crew["users"]["m1"]["id"]}, headers=key,
                          token=t["padmin"])
    again = platform.post("/api/v1/customers/bulk/assign", json={"customer_ids": ids[2:], "owner_id":
                                                                crew["users"]["m1"]["id"]}, headers=key,
                          token=t["padmin"])
    assert first.status_code == again.status_code == 200 and again.json() == first.json()
    assert again.headers["Idempotent-Replayed"] == "true"
    assert platform.post("/api/v1/customers/bulk/claim", json={"customer_ids": []}, token=t["m2"]).status_code == 422


def test_settings_and_the_holding_cap(platform, crew):
    t, u = crew["tokens"], crew["users"]
    assert platform.get("/api/v1/customer-settings", token=t["manager"]).status_code == 403
    assert platform.request("PATCH", "/api/v1/customer-settings", json={"holding_caps": []},
                            token=t["m1"]).status_code == 403
    current = platform.get("/api/v1/customer-settings").json()
    assert set(current) >= {"holding_caps", "deal_triggers", "return_reasons", "version"}
    # a cap only for this test's department (other tests share the platform)
    caps = [{"department_id": crew["dept"]["id"], "max_held": 0}]
    changed = platform.request("PATCH", "/api/v1/customer-settings", json={"holding_caps": caps},
                               headers={"If-Match": str(current["version"])})
    assert changed.status_code == 200 and changed.json()["version"] == current["version"] + 1, changed.text
    try:
        stale = platform.request("PATCH", "/api/v1/customer-settings", json={"holding_caps": []},
                                 headers={"If-Match": str(current["version"])})
        assert stale.status_code == 409
        pool = make_pool(platform, crew)
        customer = platform.post("/api/v1/customers", json={"name": f"Capped {new_id()[-8:]}"}).json()  # the admin's
        platform.post(f"/api/v1/customers/{customer['id']}/return", json={"reason": "x", "pool_id": pool["id"]})
        refused = platform.post(f"/api/v1/customers/{customer['id']}/claim", token=t["m1"])
        assert refused.status_code == 409 and refused.json()["limit"] == "holding_cap", refused.text
        assert (refused.json()["max"], "available_at" in refused.json()) == (0, False)
        assigned = platform.post(f"/api/v1/customers/{customer['id']}/assign", json={"owner_id": u["m2"]["id"]},
                                 token=t["padmin"])
        assert assigned.status_code == 409 and assigned.json()["limit"] == "holding_cap"
        bad = platform.request("PATCH", "/api/v1/customer-settings", json={"holding_caps": [{"role": "king"}]},
                               headers={"If-Match": str(changed.json()["version"])})
        assert bad.status_code == 422
    finally:
        latest = platform.get("/api/v1/customer-settings").json()
        platform.request("PATCH", "/api/v1/customer-settings", json={
            "holding_caps": current["holding_caps"], "return_reasons": current["return_reasons"]},
            headers={"If-Match": str(latest["version"])})


# who may call each route, on m1's owned customer / a pool customer (domain.md data scopes)
def test_permissions_of_every_route(platform, crew):
    t, u = crew["tokens"], crew["users"]
    pool = make_pool(platform, crew)
    mine = owned_by(platform, t["m1"])
    in_pool = pooled(platform, crew, pool)
    c, p = mine["id"], in_pool["id"]
    cases = [
        # (method, path, body, token, status)
        ("GET", f"/api/v1/customers/{c}/owners", None, "outsider", 404),
        ("GET", f"/api/v1/customers/{c}/owners", None, "manager", 200),
        ("GET", f"/api/v1/customers/{c}/return-options", None, "manager", 200),
        ("GET", f"/api/v1/customers/{c}/return-options", None, "m2", 404),
        ("POST", f"/api/v1/customers/{c}/lock", None, "outsider", 404),
        ("POST", f"/api/v1/customers/{c}/lock", None, "padmin", 404),
        ("POST", f"/api/v1/customers/{c}/assign", {"owner_id": u["m2"]["id"]}, "m1", 403),
        ("POST", f"/api/v1/customers/{c}/transfer", {"owner_id": u["m2"]["id"]}, "outsider", 404),
        ("POST", f"/api/v1/customers/{c}/return", {"reason": "x"}, "m2", 404),
        ("POST", f"/api/v1/customers/{c}/move", {"pool_id": pool["id"]}, "m1", 403),
        ("POST", f"/api/v1/customers/{p}/claim", None, "padmin", 403),
        ("POST", f"/api/v1/customers/{p}/claim", None, "manager", 404),
        ("POST", f"/api/v1/customers/{p}/assign", {"owner_id": u["m2"]["id"]}, "m1", 403),
        ("POST", f"/api/v1/customers/{p}/lock", None, "m1", 403),
        ("POST", f"/api/v1/customers/{p}/transfer", {"owner_id": u["m2"]["id"]}, "m2", 403),
        ("GET", f"/api/v1/customer-pools/{pool['id']}/customers", None, "manager", 404),
        ("GET", "/api/v1/customer-settings", None, "padmin", 403),
        ("POST", "/api/v1/customer-pools", {"name": "nope"}, "manager", 403),
        ("POST", f"/api/v1/customer-pools/{pool['id']}/recycle", {}, "m1", 403),
        ("GET", f"/api/v1/customers/{c}/owners", None, False, 401),
    ]
    wrong = []
    for method, path, body, who, status in cases:
        token = t[who] if who else False
        resp = platform.request(method, path, json=body, token=token) if body is not None else \
            platform.request(method, path, token=token)
        if resp.status_code != status:
            wrong.append((method, path.replace(c, "{owned}").replace(p, "{pooled}"), who, resp.status_code, status))
    assert not wrong, wrong
    # and none of the refused calls changed anything
    assert platform.get(f"/api/v1/customers/{c}").json()["owner_id"] == u["m1"]["id"]
    assert platform.get(f"/api/v1/customers/{p}").json()["pool_id"] == pool["id"]
