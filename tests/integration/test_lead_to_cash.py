"""Lead to cash over the real broker (issue 13, item 8): a lead converted with an opportunity, the
opportunity won, an order with lines approved, its receivable split into two instalments, two
payments confirmed by finance -- the receivable paid, the customer's summary (customers, from
billing's ``payment_confirmed``) and the salesperson's collected-amount target (sales, from the same
event) right to the cent. Then the same chain with billing stopped in the middle and started again,
and with customers killed (SIGKILL) while the events flow: nothing lost, nothing counted twice.

A platform of its own (leads, customers, sales, billing, gateway on PostgreSQL): the shared one
cannot lose a service."""
from __future__ import annotations

import datetime as dt
import signal
from decimal import Decimal

import pytest

from crm_kit.ids import new_id
from tests.integration.harness import Platform, postgres_reachable

PASSWORD = "a long password"
UTC = dt.timezone.utc
PRICE, QUANTITY = Decimal("1234.56"), 3           # the order: 3 x 1234.56 = 3703.68
TOTAL = PRICE * QUANTITY
FIRST = Decimal("1500.00")                        # the plan: 1500.00 + 2203.68

pytestmark = pytest.mark.skipif(not postgres_reachable(), reason="PostgreSQL is not reachable")


@pytest.fixture(scope="module")
def plat(tmp_path_factory):
    platform = Platform(tmp_path_factory.mktemp("lead-to-cash"), backend="postgresql",
                        services=("leads", "customers", "sales", "billing", "gateway"))
    try:
        platform.start()
        yield platform
    finally:
        platform.destroy()


@pytest.fixture(scope="module")
def office(plat):
    tag = new_id()[-6:]
    dept = plat.post("/api/v1/departments", json={"name": f"Cash {tag}"}).json()
    clerk = plat.post("/api/v1/users", json={"username": f"cash-clerk-{tag}", "password": PASSWORD,
                                              "role": "finance", "department_id": dept["id"]})
    assert clerk.status_code == 201, clerk.text
    product = plat.post("/api/v1/products", json={"sku": f"CASH-{tag}", "name": "Cash register",
                                                  "unit_price": str(PRICE), "currency": "CNY"})
    assert product.status_code == 201, product.text
    return {"dept": dept, "tag": tag, "clerk": clerk.json(), "product": product.json(),
            "clerk_token": plat.login(f"cash-clerk-{tag}", PASSWORD)}


class Chain:
    """One lead's way to cash, step by step, as its salesperson (a user of its own, so that the
    target counts this chain alone) and the department's finance clerk."""

    def __init__(self, plat: Platform, office: dict, name: str):
        self.plat, self.office, self.name = plat, office, name
        username = f"cash-{name}-{office['tag']}"
        user = plat.post("/api/v1/users", json={"username": username, "password": PASSWORD, "role": "member",
                                                "department_id": office["dept"]["id"]})
        assert user.status_code == 201, user.text
        self.rep, self.token = user.json(), plat.login(username, PASSWORD)
        self.paid_at = dt.datetime.now(UTC) - dt.timedelta(hours=1)
        target = plat.post("/api/v1/targets", json={"year": self.paid_at.year, "scope": "user",
                                                    "user_id": self.rep["id"], "metric": "collected_amount",
                                                    "amount": str(TOTAL)})
        assert target.status_code == 201, target.text
        self.target_id = target.json()["id"]

    def get(self, path, **params):
        resp = self.plat.get(path, params=params, token=self.token)
        assert resp.status_code == 200, resp.text
        return resp.json()

    def post(self, path, body=None, token=None, status=200):
        resp = self.plat.post(path, json=body or {}, token=token or self.token)
        assert resp.status_code == status, f"{path}: {resp.text}"
        return resp.json()

    # -- the steps -----------------------------------------------------------------------------
    def convert(self) -> None:
        digits = new_id()[-8:].translate(str.maketrans("abcdef", "123456"))
        self.lead = self.post("/api/v1/leads", {"name": "陈静", "company": f"Cash {self.name} {new_id()[-6:]}",
                                                "phone": f"136{digits}", "source": "web_form"}, status=201)
        self.post(f"/api/v1/leads/{self.lead['id']}/convert", {"opportunity": {
            "name": f"Registers for {self.name}", "amount": str(TOTAL), "expected_close_date": "2027-06-30"}})

    def win(self) -> None:
        self.customer_id = self.plat.eventually(
            lambda: self.get(f"/api/v1/leads/{self.lead['id']}")["customer_id"], timeout=60)
        opportunity = self.plat.eventually(
            lambda: (self.get("/api/v1/opportunities", customer_id=self.customer_id)["items"] or [None])[0],
            timeout=60)
        won = self.post(f"/api/v1/opportunities/{opportunity['id']}/stage", {"stage": "won"})
        assert won["status"] == "won"
        self.opportunity_id = opportunity["id"]

    def order(self) -> None:
        order = self.post("/api/v1/orders", {
            "customer_id": self.customer_id, "opportunity_id": self.opportunity_id, "due_days": 60,
            "lines": [{"product_id": self.office["product"]["id"], "quantity": str(QUANTITY)}]}, status=201)
        assert order["total"] == str(TOTAL), order
        if self.post(f"/api/v1/orders/{order['id']}/submit")["status"] != "approved":
            approved = self.plat.post(f"/api/v1/orders/{order['id']}/approve", json={"comment": "ok"})
            assert approved.status_code == 200 and approved.json()["status"] == "approved", approved.text
        self.order_id = order["id"]

    def receivable(self, timeout: float = 60) -> dict:
        return self.plat.eventually(
            lambda: (self.get("/api/v1/receivables", order_id=self.order_id)["items"] or [None])[0], timeout=timeout)

    def plan(self) -> None:
        self.receivable_id = self.receivable()["id"]
        today = dt.date.today()
        plan = self.post(f"/api/v1/receivables/{self.receivable_id}/plan", {"instalments": [
            {"amount": str(FIRST), "due_date": (today + dt.timedelta(days=30)).isoformat()},
            {"amount": str(TOTAL - FIRST), "due_date": (today + dt.timedelta(days=60)).isoformat()}]})
        self.instalments = plan["instalments"]
        assert [Decimal(i["amount"]) for i in self.instalments] == [FIRST, TOTAL - FIRST]

    def submit_payments(self) -> None:
        self.payments = [self.post("/api/v1/payments", {
            "receivable_id": self.receivable_id, "instalment_id": instalment["id"], "amount": instalment["amount"],
            "paid_at": self.paid_at.isoformat(), "method": "bank_transfer", "payer": f"Cash {self.name}",
            "reviewer_id": self.office["clerk"]["id"]}, status=201) for instalment in self.instalments]

    def confirm_payments(self) -> None:
        for payment in self.payments:
            confirmed = self.post(f"/api/v1/payments/{payment['id']}/confirm", token=self.office["clerk_token"])
            assert confirmed["status"] == "confirmed"

    def run(self) -> "Chain":
        for step in (self.convert, self.win, self.order, self.plan, self.submit_payments, self.confirm_payments):
            step()
        return self

    # -- the outcome -----------------------------------------------------------------------------
    def assert_collected(self, timeout: float = 60) -> None:
        receivable = self.get(f"/api/v1/receivables/{self.receivable_id}")
        assert (receivable["status"], Decimal(receivable["paid_amount"]), Decimal(receivable["outstanding_amount"])) \
            == ("paid", TOTAL, Decimal("0")), receivable
        assert {i["status"] for i in receivable["instalments"]} == {"paid"}
        want = {"order_total": str(TOTAL), "paid_total": str(TOTAL), "outstanding": "0.00"}

        def summary():
            got = self.get(f"/api/v1/customers/{self.customer_id}")["summary"]
            return got if all(got[k] == v for k, v in want.items()) else None
        assert self.plat.eventually(summary, timeout=timeout), self.get(f"/api/v1/customers/{self.customer_id}")

        def attained():
            target = self.get(f"/api/v1/targets/{self.target_id}")
            return target if Decimal(target["attained"]) == TOTAL else None
        target = self.plat.eventually(attained, timeout=timeout)
        assert target["attainment_percent"] == "100.00", target


def test_a_lead_becomes_cash(plat, office):
    chain = Chain(plat, office, "plain")
    for step in (chain.convert, chain.win, chain.order, chain.plan, chain.submit_payments):
        step()
    # the customer's overview shows the receivable being collected (billing's part) ...
    page = chain.get(f"/api/v1/customers/{chain.customer_id}/overview")
    assert page["open_receivables"]["available"] is True, page["open_receivables"]
    assert [(r["id"], r["outstanding_amount"]) for r in page["open_receivables"]["items"]] == [
        (chain.receivable_id, str(TOTAL))]
    chain.confirm_payments()
    chain.assert_collected()
    # ... and no longer once it is paid
    assert chain.get(f"/api/v1/customers/{chain.customer_id}/overview")["open_receivables"]["items"] == []


def test_billing_stopped_in_the_middle(plat, office):
    chain = Chain(plat, office, "billing-away")
    chain.convert()
    chain.win()
    plat.halt("billing")
    chain.order()                                   # order_approved waits in billing's queue
    refused = plat.get("/api/v1/receivables", params={"order_id": chain.order_id}, token=chain.token)
    assert refused.status_code == 503, refused.text
    plat.resume("billing")
    chain.plan()
    chain.submit_payments()
    chain.confirm_payments()
    plat.halt("billing")                            # stopped with its payment events perhaps still in its outbox
    plat.resume("billing")
    chain.assert_collected()


def test_customers_killed_while_the_events_flow(plat, office):
    chains = [Chain(plat, office, f"kill-{n}") for n in range(3)]
    for chain in chains:
        chain.convert()
    plat.halt("customers", signal.SIGKILL)          # lead_converted on its way: customers dies mid-flow
    plat.resume("customers")
    for chain in chains:
        chain.win()
        chain.order()
        chain.plan()
        chain.submit_payments()
    for chain in chains:
        chain.confirm_payments()
    plat.halt("customers", signal.SIGKILL)          # six payment_confirmed on their way
    plat.resume("customers")
    for chain in chains:
        chain.assert_collected()
    # one customer per lead, however often its events came
    for chain in chains:
        found = plat.get("/api/v1/customers", params={"name": chain.lead["company"]}).json()["items"]
        assert [c["id"] for c in found] == [chain.customer_id], found
