"""Scenarios of customers' handlers of sales' events: each opportunity, order and contract event kept
as the customer's business entry, its summary and deal status (``application.sales_facts``).

A handler is listed once ``CustomersService`` derives from ``SalesFactsEntrypoints`` (the catalogue
reads the service's handlers)."""
from __future__ import annotations

from services.customers import application as customers_app
from services.customers.application import sales_facts
from services.customers.models import Customer, CustomerBusiness
from services.customers.service import CustomersService
from tests.contract.support import ADMIN, Consuming

PRODUCERS: list = []


def a_customer_of_the_event(dbs, envelope: dict) -> dict:
    customer = customers_app.create_customer(dbs("customers").uow(), ADMIN, {"name": "Keller Logistik GmbH"})
    envelope["payload"]["customer_id"] = customer["id"]
    return envelope


def kept(kind: str, status=None):
    def check(dbs, payload: dict) -> None:
        with dbs("customers").session_factory() as session:
            entry = session.get(CustomerBusiness, (kind, payload["id"]))
            customer = session.get(Customer, payload["customer_id"])
        assert entry is not None and entry.customer_id == customer.id
        assert entry.status == (status or sales_facts.opportunity_fact_status(payload))
        assert str(entry.amount) == payload.get("total", payload.get("amount"))
        if status in ("approved", "signed") or payload.get("status") == "won":
            assert customer.deal_status == "deal"
    return check


_HANDLERS = {
    "opportunity_created": (sales_facts.on_opportunity_event, kept("opportunity")),
    "opportunity_updated": (sales_facts.on_opportunity_event, kept("opportunity")),
    "opportunity_stage_changed": (sales_facts.on_opportunity_event, kept("opportunity")),
    "opportunity_won": (sales_facts.on_opportunity_event, kept("opportunity")),
    "opportunity_lost": (sales_facts.on_opportunity_event, kept("opportunity")),
    "order_submitted": (sales_facts.on_order_submitted, kept("order", "pending_approval")),
    "order_approved": (sales_facts.on_order_approved, kept("order", "approved")),
    "order_rejected": (sales_facts.on_order_rejected, kept("order", "rejected")),
    "order_cancelled": (sales_facts.on_order_cancelled, kept("order", "cancelled")),
    "contract_signed": (sales_facts.on_contract_signed, kept("contract", "signed")),
}

CONSUMERS = {
    ("sales", event, f"customers.handle_{event}"): Consuming(handle, check, prepare=a_customer_of_the_event)
    for event, (handle, check) in _HANDLERS.items() if hasattr(CustomersService, f"handle_{event}")
}
