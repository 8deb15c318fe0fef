"""Invoices and collections over the real broker and the gateway (the setup of
``test_billing_flow_http``: a department with reps, finance and an outsider; orders approved in sales
open their receivables in billing): an invoice above what the order allows is 409 stating the amount
still invoiceable; finance approves and issues it (a number, ``invoice_issued`` in billing's outbox),
a member may not, an outsider gets 404; voiding frees the amount. The aging report buckets the
outstanding amounts as of a day; the dunning run previews (``dry_run``), then sends each level once
(a second run sends nothing again); the overdue list and its summary per owner."""
import datetime as dt

import pytest
from sqlalchemy import create_engine, select

from crm_kit.ids import new_id
from services.billing.models import Base as BillingBase

PASSWORD = "a long password"


@pytest.fixture(scope="module")
def people(platform):
    tag = new_id()[-6:]
    dept = platform.post("/api/v1/departments", json={"name": f"Invoicing {tag}"}).json()
    other = platform.post("/api/v1/departments", json={"name": f"Elsewhere {tag}"}).json()
    tokens, users = {}, {}
    for name, role, department in (("rep", "member", dept), ("rep2", "member", dept), ("clerk", "finance", dept),
                                   ("outsider", "member", other)):
        username = f"inv-{name}-{tag}"
        resp = platform.post("/api/v1/users", json={"username": username, "password": PASSWORD, "role": role,
                                                    "department_id": department["id"]})
        assert resp.status_code == 201, resp.text
        users[name], tokens[name] = resp.json(), platform.login(username, PASSWORD)
    product = platform.post("/api/v1/products", json={"sku": f"INV-{tag}", "name": "Invoiced licence",
                                                      "unit_price": "500.00", "currency": "CNY"})
    assert product.status_code == 201, product.text
    return {"tokens": tokens, "users": users, "product": product.json()}


@pytest.fixture(scope="module")
def billing_db(platform):
    engine = create_engine(platform.db_urls["billing"])
    yield engine
    engine.dispose()


def outbox(db, event_type: str) -> list[dict]:
    table = BillingBase.metadata.tables["outbox"]
    with db.connect() as conn:
        bodies = conn.execute(select(table.c.body).where(table.c.event_type == event_type)).scalars()
        return [body["payload"] for body in bodies]


def approved_receivable(platform, people, rep: str, quantity: str, due_days: int) -> dict:
    token = people["tokens"][rep]
    order = platform.post("/api/v1/orders", json={
        "customer_id": new_id(), "due_days": due_days,
        "lines": [{"product_id": people["product"]["id"], "quantity": quantity}]}, token=token)
    assert order.status_code == 201, order.text
    order = order.json()
    submitted = platform.post(f"/api/v1/orders/{order['id']}/submit", json={}, token=token)
    assert submitted.status_code == 200, submitted.text
    if submitted.json()["status"] != "approved":
        assert platform.post(f"/api/v1/orders/{order['id']}/approve", json={}).status_code == 200
    return platform.eventually(lambda: (platform.get(
        "/api/v1/receivables", params={"order_id": order["id"]}, token=token).json()["items"] or [None])[0])


def test_an_invoice_within_the_order_is_reviewed_issued_and_voided(platform, people, billing_db):
    rep, clerk, outsider = (people["tokens"][n] for n in ("rep", "clerk", "outsider"))
    receivable = approved_receivable(platform, people, "rep", "2", 30)           # 1000.00 CNY

    def request(amount):
        return platform.post("/api/v1/invoices", json={
            "receivable_id": receivable["id"], "kind": "special_vat", "title": "Initech Ltd",
            "tax_id": "91310000MA1K000000", "buyer_address": "1 Bund Rd, Shanghai",
            "buyer_bank_account": "ICBC 6222 0000", "amount": amount, "tax_rate": "13"}, token=rep)

    first = request("600.00")
    assert first.status_code == 201, first.text
    assert first.headers["Location"].endswith(f"/api/v1/invoices/{first.json()['id']}")
    invoice = first.json()
    assert (invoice["status"], invoice["tax_amount"], invoice["net_amount"], invoice["number"]) == (
        "requested", "69.03", "530.97", None)
    over = request("400.01")
    assert over.status_code == 409, over.text
    assert over.json()["max"] == "400.00" and "400.00 CNY may be invoiced" in over.json()["detail"]

    path = f"/api/v1/invoices/{invoice['id']}"
    assert platform.post(f"{path}/approve", json={}, token=rep).status_code == 403      # a member never reviews
    assert platform.get(path, token=outsider).status_code == 404                         # out of scope
    assert platform.post(f"{path}/approve", json={}, token=outsider).status_code == 404
    assert platform.post(f"{path}/issue", json={}, token=clerk).status_code == 409      # not approved yet
    approved = platform.post(f"{path}/approve", json={}, token=clerk)
    assert approved.status_code == 200 and approved.json()["status"] == "approved", approved.text
    issued = platform.post(f"{path}/issue", json={}, token=clerk)
    assert issued.status_code == 200, issued.text
    number = issued.json()["number"]
    assert number.startswith(f"INV-{dt.date.today().year}-") and issued.json()["issue_date"]
    assert [e["amount"] for e in outbox(billing_db, "invoice_issued") if e["number"] == number] == ["600.00"]

    assert platform.post(f"{path}/void", json={}, token=clerk).status_code == 422        # a reason is required
    voided = platform.post(f"{path}/void", json={"reason": "The title was misspelt"}, token=clerk)
    assert voided.status_code == 200 and voided.json()["status"] == "voided", voided.text
    whole = request("1000.00")                                                           # all of it free again
    assert whole.status_code == 201, whole.text
    listed = platform.get("/api/v1/invoices", params={"receivable_id": receivable["id"]}, token=clerk).json()
    assert {i["status"] for i in listed["items"]} == {"voided", "requested"}
    assert platform.get("/api/v1/invoices", params={"receivable_id": receivable["id"]},
                        token=outsider).json()["items"] == []
    history = platform.get(f"{path}/history", token=clerk).json()["items"]
    assert {"request_invoice", "approve", "issue", "void"} <= {entry["action"] for entry in history}


def test_aging_dunning_and_the_overdue_lists(platform, people, billing_db):
    rep2, clerk, outsider = (people["tokens"][n] for n in ("rep2", "clerk", "outsider"))
    owner = people["users"]["rep2"]["id"]
    receivable = approved_receivable(platform, people, "rep2", "1", 5)               # 500.00 CNY
    due = dt.date.fromisoformat(receivable["due_date"])

    def aging(day, token=clerk):
        resp = platform.get("/api/v1/receivables/aging", params={"as_of": day.isoformat(), "owner_id": owner},
                            token=token)
        assert resp.status_code == 200, resp.text
        return {c["currency"]: {b["bucket"]: (b["amount"], b["count"]) for b in c["buckets"] if b["count"]}
                for c in resp.json()["currencies"]}
    assert aging(due) == {"CNY": {"current": ("500.00", 1)}}
    assert aging(due + dt.timedelta(days=45)) == {"CNY": {"31-60": ("500.00", 1)}}
    assert aging(due + dt.timedelta(days=45), outsider) == {}                          # not in its scope

    run = "/api/v1/receivables/dunning-run"
    as_of = (due + dt.timedelta(days=2)).isoformat() + "T01:00:00Z"
    assert platform.post(run, json={"as_of": as_of}, token=rep2).status_code == 403
    preview = platform.post(run, json={"as_of": as_of, "dry_run": True}, token=clerk)
    assert preview.status_code == 200 and preview.json()["dry_run"] is True, preview.text
    mine = [n for n in preview.json()["notices"] if n["receivable_id"] == receivable["id"]]
    assert [n["level"] for n in mine] == ["first_notice"]
    assert not [e for e in outbox(billing_db, "receivable_dunning") if e["id"] == receivable["id"]]
    sent = platform.post(run, json={"as_of": as_of}, token=clerk)
    assert sent.status_code == 200, sent.text
    assert [n["level"] for n in sent.json()["notices"] if n["receivable_id"] == receivable["id"]] == ["first_notice"]
    [event] = [e for e in outbox(billing_db, "receivable_dunning") if e["id"] == receivable["id"]]
    assert (event["level"], event["owner_id"], event["rule"]["days_from_due"]) == ("first_notice", owner, 2)
    again = platform.post(run, json={"as_of": as_of}, token=clerk)
    assert again.status_code == 200, again.text
    assert [n for n in again.json()["notices"] if n["receivable_id"] == receivable["id"]] == []

    marked = platform.post("/api/v1/receivables/overdue-run", json={"as_of": as_of}, token=clerk)
    assert marked.status_code == 200 and receivable["id"] in marked.json()["receivable_ids"], marked.text
    overdue = platform.get("/api/v1/receivables/overdue", params={"owner_id": owner}, token=clerk).json()
    assert [r["id"] for r in overdue["items"]] == [receivable["id"]]
    summary = platform.get("/api/v1/receivables/overdue/summary", params={"group_by": "owner", "owner_id": owner},
                           token=clerk)
    assert summary.status_code == 200, summary.text
    assert summary.json()["items"] == [{"owner_id": owner, "currency": "CNY", "count": 1,
                                        "outstanding_amount": "500.00"}]
    assert platform.get("/api/v1/receivables/overdue/summary", token=outsider).json()["items"] == []
