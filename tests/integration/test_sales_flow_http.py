"""Lead to approved order over the real broker: a converted lead's requested opportunity appears in
sales (``lead_converted`` and customers' ``customer_converted_from_lead`` meet there), winning it and
approving an order make the customer a deal customer with the right summary (customers keeps it from
sales' events), and the customer's overview gathers the open opportunities and orders from sales."""
from decimal import Decimal

import pytest

from crm_kit.ids import new_id

PASSWORD = "a long password"


@pytest.fixture(scope="module")
def team(platform):
    tag = new_id()[-6:]
    dept = platform.post("/api/v1/departments", json={"name": f"Flow {tag}"}).json()
    tokens, users = {}, {}
    for name, role in (("rep", "member"), ("boss", "manager")):
        username = f"flow-{name}-{tag}"
        resp = platform.post("/api/v1/users", json={"username": username, "password": PASSWORD, "role": role,
                                                    "department_id": dept["id"]})
        assert resp.status_code == 201, resp.text
        users[name], tokens[name] = resp.json(), platform.login(username, PASSWORD)
    products = []
    for i, price in enumerate(("1999.00", "0.35", "120.10")):
        resp = platform.post("/api/v1/products", json={"sku": f"FLOW-{tag}-{i}", "name": f"Flow product {i}",
                                                       "unit_price": price, "currency": "CNY"})
        assert resp.status_code == 201, resp.text
        products.append(resp.json())
    return {"tokens": tokens, "users": users, "products": products}


def test_a_converted_lead_becomes_an_opportunity_then_a_deal_customer(platform, team):
    rep, boss = team["tokens"]["rep"], team["tokens"]["boss"]
    digits = new_id()[-8:].translate(str.maketrans("abcdef", "123456"))
    lead = platform.post("/api/v1/leads", json={"name": "周杰", "company": f"Flow Trading {new_id()[-6:]}",
                                                "phone": f"137{digits}", "source": "web_form"}, token=rep)
    assert lead.status_code == 201, lead.text
    lead = lead.json()
    converted = platform.post(f"/api/v1/leads/{lead['id']}/convert", json={"opportunity": {
        "name": "Printers for the new office", "amount": "5000.00", "expected_close_date": "2027-03-31"}}, token=rep)
    assert converted.status_code == 200, converted.text

    customer_id = platform.eventually(
        lambda: platform.get(f"/api/v1/leads/{lead['id']}", token=rep).json()["customer_id"])

    def the_opportunity():
        items = platform.get("/api/v1/opportunities", params={"customer_id": customer_id}, token=rep).json()["items"]
        return items[0] if items else None

    opportunity = platform.eventually(the_opportunity)
    assert (opportunity["name"], opportunity["amount"], opportunity["stage"], opportunity["status"]) == (
        "Printers for the new office", "5000.00", "qualification", "open")
    assert opportunity["owner_id"] == team["users"]["rep"]["id"]

    # customers learns the opportunity from sales' events: the summary counts it, still a prospect
    def deal(**want):
        body = platform.get(f"/api/v1/customers/{customer_id}/overview", token=rep).json()
        return body if all(body["deal"].get(k) == v or body["deal"]["summary"].get(k) == v
                           for k, v in want.items()) else None

    assert platform.eventually(lambda: deal(opportunity_total="5000.00", deal_status="prospect"))

    won = platform.post(f"/api/v1/opportunities/{opportunity['id']}/stage", json={"stage": "won"}, token=rep)
    assert won.status_code == 200, won.text
    assert won.json()["status"] == "won" and won.json()["closed_at"]
    assert platform.eventually(lambda: deal(deal_status="deal"))

    lines = [{"product_id": p["id"], "quantity": q, "discount_percent": d}
             for p, q, d in zip(team["products"], ("2", "1000", "3"), ("0", "10", "0"))]
    order = platform.post("/api/v1/orders", json={"customer_id": customer_id, "opportunity_id": opportunity["id"],
                                                  "discount_percent": "5", "lines": lines}, token=rep)
    assert order.status_code == 201, order.text
    order = order.json()
    # 2 x 1999.00 + 1000 x 0.35 less 10 % + 3 x 120.10 = 3998.00 + 315.00 + 360.30 = 4673.30;
    # 5 % off: 233.665, rounded half up to 233.67, so 4439.63
    assert (order["subtotal"], order["total"], order["status"]) == ("4673.30", "4439.63", "draft")
    assert Decimal(order["discount_amount"]) == Decimal("233.67")
    submitted = platform.post(f"/api/v1/orders/{order['id']}/submit", json={}, token=rep)
    assert submitted.status_code == 200 and submitted.json()["status"] == "pending_approval", submitted.text
    waiting = platform.get("/api/v1/me/approvals", token=boss).json()["items"]
    assert order["id"] in {item["subject_id"] for item in waiting}
    assert platform.post(f"/api/v1/orders/{order['id']}/approve", json={}, token=rep).status_code == 403
    approved = platform.post(f"/api/v1/orders/{order['id']}/approve", json={"comment": "ok"}, token=boss)
    assert approved.status_code == 200 and approved.json()["status"] == "approved", approved.text

    page = platform.eventually(lambda: deal(order_total="4439.63"))
    assert page["deal"]["summary"]["outstanding"] == "4439.63"
    assert page["recent_orders"]["available"] is True
    assert [o["id"] for o in page["recent_orders"]["items"]] == [order["id"]]
    assert page["open_opportunities"]["available"] is True and page["open_opportunities"]["items"] == []
    assert "recent_orders" not in page["unavailable"] and "open_opportunities" not in page["unavailable"]
