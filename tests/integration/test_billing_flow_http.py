"""An approved order to cash over the real broker: sales' ``order_approved`` opens the receivable in
billing, its owner sets a two-instalment plan, payments are recorded (one above the outstanding
amount refused, stating it) and confirmed by finance through the gateway (the owner may not),
and the receivable is paid with every instalment paid; ``payment_confirmed`` and
``receivable_settled`` leave billing's outbox; the overdue run previews and marks as of a time."""
import datetime as dt

import pytest

from crm_kit.ids import new_id

PASSWORD = "a long password"


@pytest.fixture(scope="module")
def people(platform):
    tag = new_id()[-6:]
    dept = platform.post("/api/v1/departments", json={"name": f"Billing {tag}"}).json()
    tokens, users = {}, {}
    for name, role in (("rep", "member"), ("clerk", "finance")):
        username = f"bill-{name}-{tag}"
        resp = platform.post("/api/v1/users", json={"username": username, "password": PASSWORD, "role": role,
                                                    "department_id": dept["id"]})
        assert resp.status_code == 201, resp.text
        users[name], tokens[name] = resp.json(), platform.login(username, PASSWORD)
    product = platform.post("/api/v1/products", json={"sku": f"BILL-{tag}", "name": "Billed licence",
                                                      "unit_price": "500.00", "currency": "CNY"})
    assert product.status_code == 201, product.text
    return {"tokens": tokens, "users": users, "product": product.json()}


def test_an_approved_order_is_collected_through_a_plan(platform, people):
    rep, clerk = people["tokens"]["rep"], people["tokens"]["clerk"]
    order = platform.post("/api/v1/orders", json={
        "customer_id": new_id(), "due_days": 30,
        "lines": [{"product_id": people["product"]["id"], "quantity": "2"}]}, token=rep)
    assert order.status_code == 201, order.text
    order = order.json()
    # the admin approves (the default flow's step: the admins)
    submitted = platform.post(f"/api/v1/orders/{order['id']}/submit", json={}, token=rep)
    assert submitted.status_code == 200, submitted.text
    if submitted.json()["status"] != "approved":
        approved = platform.post(f"/api/v1/orders/{order['id']}/approve", json={})
        assert approved.status_code == 200 and approved.json()["status"] == "approved", approved.text

    def the_receivable():
        items = platform.get("/api/v1/receivables", params={"order_id": order["id"]}, token=rep).json()["items"]
        return items[0] if items else None

    receivable = platform.eventually(the_receivable)
    assert (receivable["amount"], receivable["outstanding_amount"], receivable["status"]) == (
        "1000.00", "1000.00", "open")
    assert receivable["owner_id"] == people["users"]["rep"]["id"]
    # finance of the department sees it too
    assert platform.get(f"/api/v1/receivables/{receivable['id']}", token=clerk).status_code == 200

    path = f"/api/v1/receivables/{receivable['id']}/plan"
    short = platform.post(path, json={"instalments": [{"amount": "400.00", "due_date": "2027-01-10"},
                                                      {"amount": "500.00", "due_date": "2027-02-10"}]}, token=rep)
    assert short.status_code == 422 and "100.00 CNY less" in short.json()["detail"], short.text
    plan = platform.post(path, json={"instalments": [{"amount": "400.00", "due_date": "2027-01-10"},
                                                     {"amount": "600.00", "due_date": "2027-02-10"}]}, token=rep)
    assert plan.status_code == 200, plan.text
    first, second = plan.json()["instalments"]

    paid_at = (dt.datetime.now(dt.timezone.utc) - dt.timedelta(hours=2)).isoformat()

    def pay(amount, instalment):
        return platform.post("/api/v1/payments", json={
            "receivable_id": receivable["id"], "instalment_id": instalment["id"], "amount": amount,
            "paid_at": paid_at, "method": "bank_transfer", "payer": "Initech",
            "reviewer_id": people["users"]["clerk"]["id"]}, token=rep)

    over = pay("1000.01", first)
    assert over.status_code == 409, over.text
    assert "outstanding amount of 1000.00 CNY" in over.json()["detail"] and over.json()["max"] == "1000.00"
    one = pay("400.00", first)
    assert one.status_code == 201 and one.json()["status"] == "pending_review", one.text
    assert platform.post(f"/api/v1/payments/{one.json()['id']}/confirm", json={}, token=rep).status_code == 403
    confirmed = platform.post(f"/api/v1/payments/{one.json()['id']}/confirm", json={}, token=clerk)
    assert confirmed.status_code == 200 and confirmed.json()["status"] == "confirmed", confirmed.text
    two = pay("600.00", second)
    assert two.status_code == 201, two.text
    confirmed = platform.post(f"/api/v1/payments/{two.json()['id']}/confirm", json={}, token=clerk)
    assert confirmed.status_code == 200, confirmed.text

    done = platform.get(f"/api/v1/receivables/{receivable['id']}", token=rep).json()
    assert (done["status"], done["paid_amount"], done["outstanding_amount"]) == ("paid", "1000.00", "0.00")
    assert [(i["number"], i["status"], i["paid_amount"]) for i in done["instalments"]] == [
        (1, "paid", "400.00"), (2, "paid", "600.00")]
    # a redelivered confirmation is refused, nothing counted twice
    again = platform.post(f"/api/v1/payments/{two.json()['id']}/confirm", json={}, token=clerk)
    assert again.status_code == 409, again.text
    assert platform.get(f"/api/v1/receivables/{receivable['id']}", token=rep).json()["paid_amount"] == "1000.00"
    history = platform.get(f"/api/v1/receivables/{receivable['id']}/history", token=clerk).json()["items"]
    assert {"confirm", "plan", "open"} <= {entry["action"] for entry in history}


def test_the_overdue_run_previews_then_marks(platform, people):
    rep, clerk = people["tokens"]["rep"], people["tokens"]["clerk"]
    order = platform.post("/api/v1/orders", json={
        "customer_id": new_id(), "due_days": 5,
        "lines": [{"product_id": people["product"]["id"], "quantity": "1"}]}, token=rep).json()
    submitted = platform.post(f"/api/v1/orders/{order['id']}/submit", json={}, token=rep).json()
    if submitted["status"] != "approved":
        assert platform.post(f"/api/v1/orders/{order['id']}/approve", json={}).status_code == 200
    receivable = platform.eventually(lambda: (platform.get(
        "/api/v1/receivables", params={"order_id": order["id"]}, token=rep).json()["items"] or [None])[0])
    as_of = (dt.date.fromisoformat(receivable["due_date"]) + dt.timedelta(days=3)).isoformat() + "T01:00:00Z"
    assert platform.post("/api/v1/receivables/overdue-run", json={"as_of": as_of}, token=rep).status_code == 403
    preview = platform.post("/api/v1/receivables/overdue-run", json={"as_of": as_of, "dry_run": True}, token=clerk)
    assert preview.status_code == 200, preview.text
    assert receivable["id"] in preview.json()["receivable_ids"] and preview.json()["dry_run"] is True
    assert platform.get(f"/api/v1/receivables/{receivable['id']}", token=rep).json()["status"] == "open"
    run = platform.post("/api/v1/receivables/overdue-run", json={"as_of": as_of}, token=clerk)
    assert run.status_code == 200 and receivable["id"] in run.json()["receivable_ids"], run.text
    assert platform.get(f"/api/v1/receivables/{receivable['id']}", token=rep).json()["status"] == "overdue"
