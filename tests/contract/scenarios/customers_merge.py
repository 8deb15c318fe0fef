"""Scenarios of the customers service's merge work: a duplicate merged into the customer that stays
(``customers_merged``, and ``customer_updated`` for the fields the survivor took), a prospect made a
deal customer by a configured trigger (``customer_became_deal``); and leads' handler of
``customers_merged`` (its converted leads point at the survivor)."""
from __future__ import annotations

from services.customers import application as customers_app
from services.leads import application as leads_app
from services.leads.models import Lead
from tests.contract.scenarios.leads import create_lead
from tests.contract.support import ADMIN, Consuming, Producing


def duplicate_merged(dbs):
    uow = dbs("customers").uow
    survivor = customers_app.create_customer(uow(), ADMIN, {"name": "Keller Logistik GmbH", "tags": ["vip"]})
    duplicate = customers_app.create_customer(uow(), ADMIN, {
        "name": "Keller Logistik", "region": "Berlin", "tags": ["logistics"],
        "contacts": [{"name": "Jonas Keller", "phone": "+49 30 2222222"}]})
    customers_app.add_customer_follow_up(uow(), ADMIN, duplicate["id"], {"kind": "visit", "content": "Depot visit"})
    customers_app.merge_customers(uow(), ADMIN, survivor["id"], duplicate["id"])


def prospect_became_deal(dbs):
    uow = dbs("customers").uow
    customer = customers_app.create_customer(uow(), ADMIN, {"name": "Keller Logistik GmbH"})
    customers_app.apply_business_fact(uow(), {
        "kind": "order", "ref_id": "01933d20-0000-7000-8000-000000000042", "customer_id": customer["id"],
        "status": "approved", "amount": "4800.00", "occurred_at": "2024-12-10T11:00:00+00:00"})


PRODUCERS = [
    Producing("customers", duplicate_merged, frozenset({
        "customer_created", "contact_created", "follow_up_recorded", "customers_merged", "customer_updated"})),
    Producing("customers", prospect_became_deal, frozenset({"customer_created", "customer_became_deal"})),
]


def lead_converted_into_the_duplicate(dbs, envelope: dict) -> dict:
    """A converted lead whose customer is the merged one (customers' answer recorded)."""
    payload = envelope["payload"]
    lead = create_lead(dbs)
    leads_app.record_conversion(dbs("leads").uow(), {
        "lead_id": lead["id"], "customer_id": payload["merged_id"], "contact_id": payload["contact_ids"][0]})
    return envelope


def lead_points_at_the_survivor(dbs, payload: dict) -> None:
    with dbs("leads").session_factory() as session:
        (lead,) = session.query(Lead).all()
    assert (lead.customer_id, lead.contact_id) == (payload["survivor_id"], payload["contact_ids"][0])


CONSUMERS = {
    ("customers", "customers_merged", "leads.handle_customers_merged"):
        Consuming(leads_app.record_customers_merged, lead_points_at_the_survivor,
                  prepare=lead_converted_into_the_duplicate),
}
