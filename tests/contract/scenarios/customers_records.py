"""Scenarios of the customers service's records: customers and contacts created, converted from
leads, edited and deleted; and its handler of leads' ``lead_converted``."""
from __future__ import annotations

import copy

from sqlalchemy import select

from crm_kit.ops import catalogue as cat
from services.customers import application as customers_app
from services.customers.models import Customer
from tests.contract.support import ADMIN, CATALOGUE, Consuming, Producing, deliver


def handle_lead_converted(dbs, envelope: dict) -> None:
    deliver(dbs, "customers.handle_lead_converted", customers_app.on_lead_converted, envelope)


def customer_created_from_lead(dbs):
    handle_lead_converted(dbs, cat.find(CATALOGUE, "leads", "lead_converted")["example"])


def customer_linked_by_name(dbs):
    first = cat.find(CATALOGUE, "leads", "lead_converted")["example"]
    second = copy.deepcopy(first)
    second["event_id"] = second["payload"]["lead_id"] = "01933d00-0000-7000-8000-000000000002"
    second["payload"]["company"] = "  keller logistik gmbh "  # same customer by normalised name
    handle_lead_converted(dbs, first)
    handle_lead_converted(dbs, second)


def customer_by_hand_updated_and_deleted(dbs):
    customer = customers_app.create_customer(dbs("customers").uow(), ADMIN,
                                             {"name": "Keller Logistik GmbH", "industry": "Logistics"})
    customers_app.create_contact(dbs("customers").uow(), ADMIN,
                                 {"customer_id": customer["id"], "name": "Maria Keller", "is_primary": True})
    other = customers_app.create_contact(dbs("customers").uow(), ADMIN,
                                         {"customer_id": customer["id"], "name": "Jonas Keller"})
    other = customers_app.update_contact(dbs("customers").uow(), ADMIN, other["id"],
                                         {"title": "Dispatcher", "phone": "+86 139 0000 1111"}, other["version"])
    customers_app.delete_contact(dbs("customers").uow(), ADMIN, other["id"], other["version"])
    updated = customers_app.update_customer(dbs("customers").uow(), ADMIN, customer["id"], {"level": "A"}, 1)
    customers_app.delete_customer(dbs("customers").uow(), ADMIN, customer["id"], updated["version"])


def customer_with_contacts_by_hand(dbs):
    """``POST /customers`` with contacts: the customer and each contact, in one transaction."""
    customers_app.create_customer(dbs("customers").uow(), ADMIN, {
        "name": "Keller Logistik GmbH", "mobile": "+86 138 0000 0001", "source": "trade_show",
        "contacts": [{"name": "Maria Keller", "phone": "13800000002", "is_primary": True},
                     {"name": "Jonas Keller", "title": "Dispatcher"}]})


PRODUCERS = [
    Producing("customers", customer_with_contacts_by_hand, frozenset({"customer_created", "contact_created"})),
    Producing("customers", customer_created_from_lead,
              frozenset({"customer_created", "customer_converted_from_lead"})),
    Producing("customers", customer_linked_by_name,
              frozenset({"customer_created", "customer_converted_from_lead"})),
    Producing("customers", customer_by_hand_updated_and_deleted,
              frozenset({"customer_created", "contact_created", "contact_updated", "contact_deleted",
                         "customer_updated", "customer_deleted"})),
]


def customer_exists(dbs, payload: dict) -> None:
    with dbs("customers").session_factory() as session:
        customer = session.scalars(select(Customer).where(Customer.source_lead_id == payload["lead_id"])).one()
    assert customer.name == (payload["company"] or payload["name"])


CONSUMERS = {
    ("leads", "lead_converted", "customers.handle_lead_converted"):
        Consuming(customers_app.on_lead_converted, customer_exists),
}
