"""Sales' orders and billing over the real broker: a payment plan prepared on a draft order is the
receivable's live plan once the order is approved (``order_approved`` carries it); a rejected order's
plan is void and opens nothing; a transferred order's receivable (and its payment awaiting review)
follows the new owner (``order_owner_changed``)."""
import datetime as dt

import pytest

from crm_kit.ids import new_id

PASSWORD = "a long password"


@pytest.fixture(scope="module")
def people(platform):
    tag = new_id()[-6:]
    dept = platform.post("/api/v1/departments", json={"name": f"Plans {tag}"}).json()
    tokens, users = {}, {}
    for name, role in (("rep", "member"), ("heir", "member"), ("clerk", "finance")):
        username = f"plan-{name}-{tag}"
        resp = platform.post("/api/v1/users", json={"username": username, "password": PASSWORD, "role": role,
                                                    "department_id": dept["id"]})
        assert resp.status_code == 201, resp.text
        users[name], tokens[name] = resp.json(), platform.login(username, PASSWORD)
    product = platform.post("/api/v1/products", json={"sku": f"PLAN-{tag}", "name": "Planned licence",
                                                      "unit_price": "500.00", "currency": "CNY"})
    assert product.status_code == 201, product.text
    return {"tokens": tokens, "users": users, "product": product.json(), "department": dept}


def _draft(platform, people, quantity="2", **data) -> dict:
    resp = platform.post("/api/v1/orders", json={
        "customer_id": new_id(), "lines": [{"product_id": people["product"]["id"], "quantity": quantity}], **data},
        token=people["tokens"]["rep"])
    assert resp.status_code == 201, resp.text
    return resp.json()


def _submit(platform, people, order_id):
    return platform.post(f"/api/v1/orders/{order_id}/submit", json={}, token=people["tokens"]["rep"])


def _approve(platform, people, order_id) -> dict:
    submitted = _submit(platform, people, order_id)
    assert submitted.status_code == 200, submitted.text
    if submitted.json()["status"] == "approved":
        return submitted.json()
    approved = platform.post(f"/api/v1/orders/{order_id}/approve", json={})     # the admins: the default step
    assert approved.status_code == 200 and approved.json()["status"] == "approved", approved.text
    return approved.json()


def _receivable(platform, people, order_id):
    items = platform.get("/api/v1/receivables", params={"order_id": order_id},
                         token=people["tokens"]["clerk"]).json()["items"]
    return items[0] if items else None


def test_a_plan_prepared_on_the_order_is_live_once_approved(platform, people):
    short = platform.post("/api/v1/orders", json={
        "customer_id": new_id(), "lines": [{"product_id": people["product"]["id"], "quantity": "2"}],
        "payment_plan": [{"amount": "900.00", "due_days": 30}]}, token=people["tokens"]["rep"])
    assert short.status_code == 422, short.text
    assert short.json()["detail"] == ("The instalments add up to 900.00 CNY, the order is 1000.00 CNY: "
                                      "100.00 CNY less.")
    order = _draft(platform, people, payment_plan=[{"percent": "40", "due_days": 10, "remind_days_before": 5},
                                                   {"amount": "600.00", "due_date": "2030-06-01"}])
    assert order["payment_plan_status"] == "prepared"
    # the lines change: the plan's fixed 600.00 no longer fits (3 x 500 = 1500: 40% = 600, 300.00 less)
    changed = platform.request("PATCH", f"/api/v1/orders/{order['id']}", json={
        "lines": [{"product_id": people["product"]["id"], "quantity": "3"}]},
        headers={"If-Match": str(order["version"])}, token=people["tokens"]["rep"])
    assert changed.status_code == 200, changed.text
    refused = _submit(platform, people, order["id"])
    assert refused.status_code == 422 and "300.00 CNY less" in refused.json()["detail"], refused.text
    fixed = platform.request("PATCH", f"/api/v1/orders/{order['id']}", json={"payment_plan": [
        {"percent": "40", "due_days": 10, "remind_days_before": 5}, {"amount": "900.00", "due_date": "2030-06-01"}]},
        headers={"If-Match": str(changed.json()["version"])}, token=people["tokens"]["rep"])
    assert fixed.status_code == 200, fixed.text
    approved = _approve(platform, people, order["id"])
    assert approved["payment_plan_status"] == "live"
    approved_on = dt.date.fromisoformat(approved["approved_at"][:10])

    receivable = platform.eventually(lambda: _receivable(platform, people, order["id"]))
    assert (receivable["amount"], receivable["plan_revision"], receivable["due_date"]) == ("1500.00", 1, "2030-06-01")
    assert [(i["number"], i["amount"], i["due_date"], i["remind_days_before"], i["status"])
            for i in receivable["instalments"]] == [
        (1, "600.00", (approved_on + dt.timedelta(days=10)).isoformat(), 5, "pending"),
        (2, "900.00", "2030-06-01", 3, "pending")]
    history = platform.get(f"/api/v1/receivables/{receivable['id']}/history",
                           token=people["tokens"]["clerk"]).json()["items"]
    assert any(e["action"] == "plan" and e["changes"].get("plan_origin") == [None, "from_order"] for e in history)
    # frozen with the approved order
    frozen = platform.request("PATCH", f"/api/v1/orders/{order['id']}", json={"payment_plan": None},
                            headers={"If-Match": str(approved["version"])}, token=people["tokens"]["rep"])
    assert frozen.status_code == 409, frozen.text


def test_a_rejected_orders_plan_is_void_and_opens_nothing(platform, people):
    order = _draft(platform, people, payment_plan=[{"percent": "100", "due_days": 30}])
    submitted = _submit(platform, people, order["id"])
    assert submitted.status_code == 200, submitted.text
    # a member's order waits for the default flow's approver (the admins): it can be rejected
    assert submitted.json()["status"] == "pending_approval", submitted.text
    rejected = platform.post(f"/api/v1/orders/{order['id']}/reject", json={"reason": "Not now"})
    assert rejected.status_code == 200, rejected.text
    assert (rejected.json()["status"], rejected.json()["payment_plan_status"]) == ("rejected", "void")
    # an approved order's receivable (heard after this one's rejection) opens; the rejected one never does
    other = _draft(platform, people, quantity="1")
    _approve(platform, people, other["id"])
    platform.eventually(lambda: _receivable(platform, people, other["id"]))
    assert _receivable(platform, people, order["id"]) is None


def test_a_transferred_orders_receivable_follows_the_new_owner(platform, people):
    order = _draft(platform, people, quantity="1")
    _approve(platform, people, order["id"])
    receivable = platform.eventually(lambda: _receivable(platform, people, order["id"]))
    assert receivable["owner_id"] == people["users"]["rep"]["id"]
    paid_at = (dt.datetime.now(dt.timezone.utc) - dt.timedelta(hours=2)).isoformat()
    payment = platform.post("/api/v1/payments", json={
        "receivable_id": receivable["id"], "amount": "100.00", "paid_at": paid_at, "method": "bank_transfer",
        "reviewer_id": people["users"]["clerk"]["id"]}, token=people["tokens"]["rep"])
    assert payment.status_code == 201, payment.text

    heir = people["users"]["heir"]
    moved = platform.post(f"/api/v1/orders/{order['id']}/transfer", json={"owner_id": heir["id"]})
    assert moved.status_code == 200 and moved.json()["owner_id"] == heir["id"], moved.text

    def followed():
        got = platform.get(f"/api/v1/receivables/{receivable['id']}", token=people["tokens"]["clerk"]).json()
        return got if got["owner_id"] == heir["id"] else None

    got = platform.eventually(followed)
    assert (got["department_id"], got["status"], got["amount"], got["pending_amount"]) == (
        people["department"]["id"], "open", "500.00", "100.00")
    mine = platform.get(f"/api/v1/payments/{payment.json()['id']}", token=people["tokens"]["heir"])
    assert mine.status_code == 200 and mine.json()["owner_id"] == heir["id"], mine.text
    # the previous owner no longer sees it (a member: own records only)
    assert platform.get(f"/api/v1/receivables/{receivable['id']}", token=people["tokens"]["rep"]).status_code == 404
