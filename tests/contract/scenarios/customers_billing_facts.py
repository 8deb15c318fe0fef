"""Scenarios of customers' handlers of billing's payment events: a confirmed payment counts in the
customer's paid total, a reversed one no longer does (``application.billing_facts``)."""
from __future__ import annotations

from decimal import Decimal

from services.customers import application as customers_app
from services.customers.application import billing_facts
from services.customers.models import Customer, CustomerBusiness
from tests.contract.support import ADMIN, Consuming

PRODUCERS: list = []


def a_customer_of_the_payment(dbs, envelope: dict) -> dict:
    customer = customers_app.create_customer(dbs("customers").uow(), ADMIN, {"name": "Meyer Bau AG"})
    envelope["payload"]["customer_id"] = customer["id"]
    return envelope


def kept_as(status: str):
    def check(dbs, payload: dict) -> None:
        with dbs("customers").session_factory() as session:
            entry = session.get(CustomerBusiness, ("payment", payload["id"]))
            customer = session.get(Customer, payload["customer_id"])
        assert entry is not None and entry.customer_id == customer.id
        assert (entry.status, Decimal(str(entry.amount))) == (status, Decimal(payload["amount"]))
    return check


def _handle(event_type: str):
    return lambda uow, event: billing_facts.on_payment_event(uow, event, event_type)


CONSUMERS = {
    ("billing", "payment_confirmed", "customers.handle_payment_confirmed"):
        Consuming(_handle("payment_confirmed"), kept_as("confirmed"), prepare=a_customer_of_the_payment),
    ("billing", "payment_reversed", "customers.handle_payment_reversed"):
        Consuming(_handle("payment_reversed"), kept_as("reversed"), prepare=a_customer_of_the_payment),
}
