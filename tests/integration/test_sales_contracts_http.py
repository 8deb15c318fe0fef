"""Contracts and sales targets end to end: real users at the gateway, the sales service over RPC (the
approval engine reading the gateway's org chart), problem+json, and the data scopes of each route."""
import pytest

from crm_kit.ids import new_id


@pytest.fixture(scope="module")
def crew(platform):
    tag = new_id()[-6:]
    dept = platform.post("/api/v1/departments", json={"name": f"Contracts {tag}"}).json()
    users, tokens = {}, {}
    for name, role in (("rep", "member"), ("boss", "manager"), ("outsider", "member")):
        username = f"ct-{name}-{tag}"
        body = {"username": username, "password": "a long password", "role": role}
        if name != "outsider":
            body["department_id"] = dept["id"]
        resp = platform.post("/api/v1/users", json=body)
        assert resp.status_code == 201, resp.text
        users[name], tokens[name] = resp.json(), platform.login(username, "a long password")
    return {"dept": dept, "users": users, "tokens": tokens}


def test_a_contract_from_draft_to_signed_and_renewed(platform, crew):
    t, boss = crew["tokens"], crew["users"]["boss"]["id"]
    resp = platform.post("/api/v1/contracts", json={
        "customer_id": new_id(), "name": "Framework 2025", "amount": "120000.00", "start_date": "2025-01-01",
        "end_date": "2025-12-31", "payment_terms": "30/70"}, token=t["rep"])
    assert resp.status_code == 201, resp.text
    contract = resp.json()
    assert resp.headers["Location"].endswith(f"/api/v1/contracts/{contract['id']}")
    assert contract["number"].startswith("CT-") and contract["status"] == "draft"
    c = f"/api/v1/contracts/{contract['id']}"
    assert platform.get(c, token=t["outsider"]).status_code == 404
    assert platform.post(f"{c}/submit", json={}, token=t["outsider"]).status_code == 404
    bad = platform.post("/api/v1/contracts", json={"customer_id": new_id(), "name": "x", "amount": "1.00",
                                                   "status": "signed"}, token=t["rep"])
    assert bad.status_code == 422 and "status" in bad.json()["errors"]
    pending = platform.post(f"{c}/submit", json={"approver_id": boss}, token=t["rep"])
    assert pending.status_code == 200, pending.text
    if pending.json()["status"] == "pending_approval":
        assert platform.post(f"{c}/approve", json={}, token=t["outsider"]).status_code == 404
        approved = platform.post(f"{c}/approve", json={"comment": "ok"}, token=t["boss"])
        assert approved.status_code == 200, approved.text
    assert platform.get(c, token=t["rep"]).json()["status"] == "approved"
    edit = platform.request("PATCH", c, json={"amount": "1.00"}, token=t["rep"])
    assert edit.status_code == 409 and edit.json()["current_state"] == "approved"
    signed = platform.post(f"{c}/sign", json={"our_signed_on": "2024-12-19", "customer_signed_on": "2024-12-20"},
                           token=t["rep"])
    assert signed.status_code == 200 and signed.json()["status"] == "signed", signed.text
    renewal = platform.post(f"{c}/renew", token=t["boss"])
    assert renewal.status_code == 201, renewal.text
    assert (renewal.json()["renews_contract_id"], renewal.json()["start_date"]) == (contract["id"], "2026-01-01")
    assert platform.post(f"{c}/renew", token=t["rep"]).status_code == 409
    voided = platform.post(f"/api/v1/contracts/{renewal.json()['id']}/void", json={"reason": "Not renewing"},
                           token=t["rep"])
    assert voided.status_code == 200 and voided.json()["status"] == "void"
    listed = platform.get("/api/v1/contracts", params={"status": "signed"}, token=t["rep"]).json()["items"]
    assert [x["id"] for x in listed] == [contract["id"]]
    assert platform.get(f"{c}/history", token=t["rep"]).json()["items"]


def test_targets_with_their_attainment_and_who_sets_them(platform, crew):
    t, u = crew["tokens"], crew["users"]
    year = 2000 + int(new_id()[-3:], 16) % 900           # a period of its own (the platform is shared)
    dept = platform.post("/api/v1/targets", json={"year": year, "scope": "department",
                                                  "department_id": crew["dept"]["id"], "metric": "order_amount",
                                                  "amount": "100000.00"})
    assert dept.status_code == 201, dept.text
    assert (dept.json()["attained"], dept.json()["attainment_percent"]) == ("0.00", "0.00")
    person = platform.post("/api/v1/targets", json={"year": year, "month": 3, "scope": "user",
                                                    "user_id": u["rep"]["id"], "metric": "collected_amount",
                                                    "amount": "5000.00"}, token=t["boss"])
    assert person.status_code == 201, person.text
    assert platform.post("/api/v1/targets", json={"year": year, "scope": "company", "metric": "order_amount",
                                                  "amount": "1.00"}, token=t["boss"]).status_code == 403
    seen = {x["id"] for x in platform.get("/api/v1/targets", params={"year": year}, token=t["rep"]).json()["items"]}
    assert seen == {dept.json()["id"], person.json()["id"]}
    assert platform.get(f"/api/v1/targets/{person.json()['id']}", token=t["outsider"]).status_code == 404
    changed = platform.request("PATCH", f"/api/v1/targets/{person.json()['id']}", json={"amount": "6000.00"},
                               headers={"If-Match": "1"}, token=t["boss"])
    assert changed.status_code == 200 and changed.json()["amount"] == "6000.00"
    assert platform.request("DELETE", f"/api/v1/targets/{person.json()['id']}", token=t["rep"]).status_code == 403
    assert platform.request("DELETE", f"/api/v1/targets/{person.json()['id']}", token=t["boss"]).status_code == 204
