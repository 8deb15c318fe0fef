"""The approval engine's routes end to end: approval flows administered by admins (the sales service
asks the gateway's ``org_chart`` RPC to check the users a flow names), ``/me/approvals``, one
approval request's visibility, and who may call each route."""
import pytest

from crm_kit.ids import new_id


@pytest.fixture(scope="module")
def crew(platform):
    tag = new_id()[-6:]
    dept = platform.post("/api/v1/departments", json={"name": f"Approvals {tag}"}).json()
    users, tokens = {}, {}
    for name, role in (("rep", "member"), ("boss", "manager")):
        username = f"ap-{name}-{tag}"
        resp = platform.post("/api/v1/users", json={"username": username, "password": "a long password",
                                                    "role": role, "department_id": dept["id"]})
        assert resp.status_code == 201, resp.text
        users[name], tokens[name] = resp.json(), platform.login(username, "a long password")
    return {"dept": dept, "users": users, "tokens": tokens}


def test_flows_are_administered_by_admins_through_the_gateway(platform, crew):
    boss = crew["users"]["boss"]["id"]
    body = {"name": f"Big orders {new_id()[-8:]}", "subject_kind": "order", "min_amount": "10000.00",
            "cc_user_ids": [boss], "steps": [{"approver": "user", "user_ids": [boss], "mode": "all"},
                                             {"approver": "managers", "levels": 2}]}
    resp = platform.post("/api/v1/approval-flows", json=body)
    assert resp.status_code == 201, resp.text
    flow = resp.json()
    assert resp.headers["Location"].endswith(f"/api/v1/approval-flows/{flow['id']}")
    assert [s["approver"] for s in flow["steps"]] == ["user", "managers"] and flow["min_amount"] == "10000.00"
    unknown = platform.post("/api/v1/approval-flows", json={**body, "name": "x", "fallback_approver_id": new_id()})
    assert unknown.status_code == 422 and "fallback_approver_id" in unknown.json()["errors"]
    assert platform.post("/api/v1/approval-flows", json={"name": "y"},
                         token=crew["tokens"]["boss"]).status_code == 403
    assert platform.get(f"/api/v1/approval-flows/{flow['id']}", token=crew["tokens"]["rep"]).status_code == 403
    listed = platform.get("/api/v1/approval-flows", params={"subject_kind": "order"}).json()["items"]
    assert flow["id"] in {f["id"] for f in listed}
    patched = platform.request("PATCH", f"/api/v1/approval-flows/{flow['id']}", json={"priority": 7},
                               headers={"If-Match": str(flow["version"])})
    assert patched.status_code == 200 and patched.json()["priority"] == 7
    stale = platform.request("PATCH", f"/api/v1/approval-flows/{flow['id']}", json={"priority": 8},
                             headers={"If-Match": str(flow["version"])})
    assert stale.status_code == 409
    assert platform.request("DELETE", f"/api/v1/approval-flows/{flow['id']}").status_code == 204
    assert platform.get(f"/api/v1/approval-flows/{flow['id']}").status_code == 404


def test_what_waits_for_me_and_requests_out_of_reach(platform, crew):
    mine = platform.get("/api/v1/me/approvals", token=crew["tokens"]["rep"])
    assert mine.status_code == 200 and mine.json() == {"items": [], "next_cursor": None}
    assert platform.get("/api/v1/me/approvals", params={"kind": "sometimes"}).status_code == 422
    assert platform.get(f"/api/v1/approvals/{new_id()}", token=crew["tokens"]["rep"]).status_code == 404
    assert platform.get("/api/v1/me/approvals", token=False).status_code == 401
