"""Billing's payment events kept as the customer's paid total and outstanding amount
(``application.billing_facts``), delivered as the kit does."""
from __future__ import annotations

from functools import partial

import pytest

from services.customers.application import billing_facts, sales_facts
from services.customers.events.consumed import BillingPayment, SalesOrder
from services.customers.models import Base, Customer
from tests.unit.customers.test_sales_facts import T0, H, customer, deliver, order


@pytest.fixture
def db(make_db):
    return make_db(Base, "customers")


def payment(cid, amount="1000.00", at=T0 + 3 * H, ref="pay-1"):
    # billing's payload, with fields customers does not read (a tolerant reader ignores them)
    return {"id": ref, "number": "PAY-2026-000001", "receivable_id": "r-1", "order_id": "ord-1", "customer_id": cid,
            "instalment_id": None, "owner_id": "u1", "department_id": None, "amount": amount, "currency": "CNY",
            "paid_at": at.isoformat(), "method": "bank_transfer", "status": "confirmed",
            "receivable_paid_amount": amount, "receivable_outstanding_amount": "3800.00",
            "receivable_status": "partially_paid", "occurred_at": at.isoformat()}


def money(db, cid) -> tuple:
    with db.session() as s:
        c = s.get(Customer, cid)
        return str(c.order_total), str(c.paid_total), str(c.outstanding)


def test_paid_and_outstanding_come_from_billing(db):
    cid = customer(db)
    confirmed = partial(billing_facts.on_payment_event, event_type="payment_confirmed")
    reversed_ = partial(billing_facts.on_payment_event, event_type="payment_reversed")
    deliver(db, sales_facts.on_order_approved, order(cid, at=T0 + 2 * H), SalesOrder)
    deliver(db, confirmed, payment(cid), BillingPayment)
    assert money(db, cid) == ("4800.00", "1000.00", "3800.00")
    deliver(db, confirmed, payment(cid), BillingPayment)                       # redelivered: counted once
    deliver(db, confirmed, payment(cid, "800.00", T0 + 4 * H, "pay-2"), BillingPayment)
    assert money(db, cid) == ("4800.00", "1800.00", "3000.00")
    deliver(db, reversed_, payment(cid, at=T0 + 5 * H), BillingPayment)        # refunded: no longer counts
    assert money(db, cid) == ("4800.00", "800.00", "4000.00")
    deliver(db, confirmed, payment(cid), BillingPayment)                       # late: the reversal is newer
    assert money(db, cid) == ("4800.00", "800.00", "4000.00")
