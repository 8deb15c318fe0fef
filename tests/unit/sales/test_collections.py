"""Billing's payment events as the targets' collection facts (application.collections): the payload
as the handler loads it (events.consumed_billing), mapped and kept; the attainment follows."""
from __future__ import annotations

import pytest

from services.sales.application import collections
from services.sales.application import targets as app
from services.sales.events.consumed_billing import BillingPayment
from services.sales.models import Base
from tests.unit.conftest import ADMIN
from tests.unit.sales.test_targets import ORG

# billing's payment_confirmed payload, with fields sales does not read (a tolerant reader ignores them)
PAYMENT = {"id": "pay-1", "number": "PAY-2026-000001", "receivable_id": "r-1", "order_id": "o-1",
           "customer_id": "c-1", "instalment_id": None, "owner_id": "u-m1", "department_id": "d1",
           "amount": "80.00", "currency": "CNY", "paid_at": "2026-03-05T09:00:00+00:00", "method": "bank_transfer",
           "status": "confirmed", "receivable_paid_amount": "80.00", "receivable_outstanding_amount": "20.00",
           "receivable_status": "partially_paid", "occurred_at": "2026-03-06T09:00:00+00:00",
           "reviewed_by": "u-fin", "reviewed_at": "2026-03-06T09:00:00+00:00"}


@pytest.fixture
def db(make_db):
    return make_db(Base, "sales")


def heard(db, event_type, **change):
    return collections.on_payment_event(db.uow(), BillingPayment().load({**PAYMENT, **change}), event_type)


def attained(db, target):
    return app.get_target(db.uow(), ADMIN, ORG, target["id"])["attained"]


def test_confirmed_payments_count_for_the_owner_on_the_day_paid_and_a_reversal_takes_them_back(db):
    mine = app.create_target(db.uow(), ADMIN, ORG, {"year": 2026, "month": 3, "scope": "user", "user_id": "u-m1",
                                                    "metric": "collected_amount", "amount": "100.00"})
    april = app.create_target(db.uow(), ADMIN, ORG, {"year": 2026, "month": 4, "scope": "company",
                                                     "metric": "collected_amount", "amount": "100.00"})
    assert heard(db, "payment_confirmed") is True
    assert heard(db, "payment_confirmed") is False                      # redelivered: nothing twice
    heard(db, "payment_confirmed", id="pay-2", amount="15.50", paid_at="2026-04-01T00:30:00+00:00")
    assert (attained(db, mine), attained(db, april)) == ("80.00", "15.50")
    heard(db, "payment_reversed", occurred_at="2026-03-09T09:00:00+00:00")
    assert attained(db, mine) == "0.00"
    # the confirmation arriving again after its reversal (out of order) leaves it reversed
    assert heard(db, "payment_confirmed") is False
    assert attained(db, mine) == "0.00"
