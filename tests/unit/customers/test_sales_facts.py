"""Sales' events kept as the customer's deal status and summary (``application.sales_facts``): each
payload mapped onto ``apply_business_fact``'s fact, delivered as the kit does."""
from __future__ import annotations

import datetime as dt

import pytest

from crm_kit.ids import new_id
from services.customers import application as app
from services.customers.application import sales_facts
from services.customers.events.consumed import SalesContractSigned, SalesOpportunity, SalesOrder
from services.customers.models import Base, Customer
from tests.unit.conftest import ADMIN

UTC = dt.timezone.utc
T0 = dt.datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
H = dt.timedelta(hours=1)


@pytest.fixture
def db(make_db):
    return make_db(Base, "customers")


def customer(db) -> str:
    return app.create_customer(db.uow(), ADMIN, {"name": "Keller Logistik"})["id"]


def opportunity(cid, status="open", stage="qualification", amount="5000.00", at=T0, ref="opp-1"):
    return {"id": ref, "customer_id": cid, "owner_id": "u1", "department_id": None, "name": "Fleet", "amount": amount,
            "currency": "CNY", "pipeline_id": "p1", "stage": stage, "status": status, "probability": 10,
            "expected_close_date": None, "closed_at": None, "source_lead_id": None, "version": 1,
            "occurred_at": at.isoformat(), "created_at": T0.isoformat()}


def order(cid, total="4800.00", at=T0, ref="ord-1", status="approved"):
    return {"id": ref, "number": "SO-2026-000001", "customer_id": cid, "opportunity_id": None, "owner_id": "u1",
            "department_id": None, "status": status, "total": total, "currency": "CNY",
            "approved_at": at.isoformat(), "occurred_at": at.isoformat(), "lines": []}


def deliver(db, use_case, payload, schema):
    return db.handle(use_case, {"event_id": new_id(), "actor": "u1", "payload": payload}, schema)


def summary(db, cid) -> tuple:
    with db.session() as s:
        c = s.get(Customer, cid)
        return str(c.opportunity_total), str(c.order_total), c.open_opportunities, c.deal_status


@pytest.mark.parametrize("status, stage, kept", [
    ("open", "qualification", "qualification"), ("open", "negotiation", "negotiation"),
    ("open", "site_survey", "open"),                      # a configured pipeline's own stage
    ("won", "won", "won"), ("lost", "lost", "lost"), ("invalid", "invalid", "invalid")])
def test_opportunity_status_as_customers_knows_it(status, stage, kept):
    fact = sales_facts.opportunity_fact(SalesOpportunity().load(opportunity("c1", status, stage)))
    assert (fact["kind"], fact["status"], fact["amount"], fact["opened_at"]) == (
        "opportunity", kept, "5000.00", T0.isoformat())


def test_the_summary_and_the_deal_come_from_sales(db):
    cid = customer(db)
    deliver(db, sales_facts.on_opportunity_event, opportunity(cid), SalesOpportunity)
    assert summary(db, cid) == ("5000.00", "0.00", 1, "prospect")
    deliver(db, sales_facts.on_opportunity_event, opportunity(cid, stage="proposal", amount="6000.00", at=T0 + H),
            SalesOpportunity)
    deliver(db, sales_facts.on_order_submitted, order(cid, at=T0 + H, status="pending_approval"), SalesOrder)
    assert summary(db, cid) == ("6000.00", "0.00", 1, "prospect")
    deliver(db, sales_facts.on_order_approved, order(cid, at=T0 + 2 * H), SalesOrder)
    assert summary(db, cid) == ("6000.00", "4800.00", 1, "deal")
    deliver(db, sales_facts.on_opportunity_event, opportunity(cid, "won", "won", "6000.00", T0 + 3 * H),
            SalesOpportunity)
    assert summary(db, cid) == ("6000.00", "4800.00", 0, "deal")
    deliver(db, sales_facts.on_order_cancelled, order(cid, at=T0 + 4 * H, status="cancelled"), SalesOrder)
    assert summary(db, cid) == ("6000.00", "0.00", 0, "deal")          # a deal customer stays one
    # a late, older event changes nothing
    deliver(db, sales_facts.on_order_approved, order(cid, at=T0 + 2 * H), SalesOrder)
    assert summary(db, cid)[1] == "0.00"
    assert [r.body["payload"]["trigger"] for r in db.outbox("customer_became_deal")] == ["order_approved"]


def test_a_signed_contract_makes_a_deal_customer(db):
    cid = customer(db)
    deliver(db, sales_facts.on_contract_signed, {
        "id": "ct-1", "number": "CT-2026-000001", "customer_id": cid, "amount": "120000.00", "currency": "CNY",
        "occurred_at": T0.isoformat(), "created_at": T0.isoformat(), "status": "signed"}, SalesContractSigned)
    assert summary(db, cid)[3] == "deal"
    assert [r.body["payload"]["trigger"] for r in db.outbox("customer_became_deal")] == ["contract_signed"]


def test_an_opportunity_of_no_customer_is_handled_and_kept_nowhere(db):
    assert deliver(db, sales_facts.on_opportunity_event, opportunity(None), SalesOpportunity) is False
    assert len(db.inbox()) == 1
