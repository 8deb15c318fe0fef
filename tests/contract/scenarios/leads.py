"""Scenarios of the leads service: what it emits, and what its handlers make of customers' events."""
from __future__ import annotations

import datetime as dt
from typing import Callable

from sqlalchemy import select

from crm_kit.context import Principal
from services.leads import application as leads_app
from services.leads.models import Lead
from tests.contract.support import ADMIN, Consuming, Producing

LEAD = {"name": "Maria Keller", "company": "Keller Logistik GmbH", "phone": "+49 30 1234567",
        "email": "maria.keller@keller-logistik.example", "source": "trade_show",
        "region": "Berlin", "industry": "Logistics"}


def create_lead(dbs, **fields) -> dict:
    return leads_app.create_lead(dbs("leads").uow(), ADMIN, {**LEAD, **fields})


def convert_with_opportunity(dbs):
    lead = create_lead(dbs)
    leads_app.convert_lead(dbs("leads").uow(), ADMIN, lead["id"], {"opportunity": {
        "name": "Fleet tracking rollout", "amount": "48000", "expected_close_date": "2025-01-31"}})


def convert_person_without_opportunity(dbs):
    lead = create_lead(dbs, company=None, phone=None, email=None, region=None, industry=None)
    leads_app.convert_lead(dbs("leads").uow(), ADMIN, lead["id"], None)


def update_and_delete_lead(dbs):
    lead = create_lead(dbs)
    updated = leads_app.update_lead(dbs("leads").uow(), ADMIN, lead["id"],
                                    {"company": "Keller Logistik GmbH & Co. KG", "source": "referral"}, 1)
    leads_app.delete_lead(dbs("leads").uow(), ADMIN, lead["id"], updated["version"])


def lead_pool_lifecycle(dbs):
    """A pool lead: distributed, followed up, returned, claimed, recycled, then junk and restored."""
    uow = dbs("leads").uow
    member = Principal(user_id="u-member-1", role="member", department_id="d-sales")
    pool = leads_app.create_lead_pool(uow(), ADMIN, {
        "name": "Berlin leads", "admin_ids": ["u-pool-admin"], "member_ids": ["u-member-1", "u-member-2"],
        "distribution": "round_robin", "recycle_after_days": 14, "recycle_warning_days": 3,
        "first_response_hours": 24}, {"u-member-1": "d-sales", "u-member-2": "d-sales"})
    lead = create_lead(dbs, pool_id=pool["id"])                        # lead_created + lead_assigned
    leads_app.add_lead_follow_up(uow(), ADMIN, lead["id"], {
        "kind": "call", "content": "Interested in fleet tracking", "outcome": "callback",
        "next_contact_at": "2024-12-02T09:00:00+00:00"})               # lead_status_changed
    leads_app.return_lead(uow(), ADMIN, lead["id"], "Only buys through a distributor")   # lead_returned
    leads_app.claim_lead(uow(), member, lead["id"])                    # lead_assigned (claim)
    leads_app.recycle_pool(uow(), ADMIN, pool["id"],
                           (dt.datetime.now(dt.timezone.utc) + dt.timedelta(days=30)).isoformat())  # lead_recycled
    leads_app.discard_lead(uow(), ADMIN, lead["id"])                   # lead_status_changed
    leads_app.restore_lead(uow(), ADMIN, lead["id"])                   # lead_status_changed
    leads_app.assign_lead(uow(), ADMIN, lead["id"], "u-member-2", "d-sales")   # lead_assigned (assign)
    leads_app.invalidate_lead(uow(), ADMIN, lead["id"])                # lead_status_changed


PRODUCERS = [
    Producing("leads", create_lead, frozenset({"lead_created"})),
    Producing("leads", convert_with_opportunity, frozenset({"lead_created", "lead_converted"})),
    Producing("leads", convert_person_without_opportunity, frozenset({"lead_created", "lead_converted"})),
    Producing("leads", update_and_delete_lead, frozenset({"lead_created", "lead_updated", "lead_deleted"})),
    Producing("leads", lead_pool_lifecycle, frozenset({
        "lead_created", "lead_assigned", "lead_status_changed", "lead_returned", "lead_recycled"})),
]


def lead_exists(dbs, envelope: dict) -> dict:
    """record_conversion updates a lead, so the lead the event names must exist."""
    lead = create_lead(dbs)
    envelope["payload"]["lead_id"] = lead["id"]
    return envelope


def conversion_recorded(dbs, payload: dict) -> None:
    lead = dbs("leads").get(Lead, payload["lead_id"])
    assert (lead.customer_id, lead.contact_id) == (payload["customer_id"], payload["contact_id"])


def lead_points_at(customer_id: Callable, contact_id: Callable):
    """customer_deleted / contact_deleted change the leads pointing at what they name: one does."""
    def prepare(dbs, envelope: dict) -> dict:
        payload = envelope["payload"]
        lead = create_lead(dbs)
        leads_app.record_conversion(dbs("leads").uow(), {          # customers' answer, as the kit loads it
            "lead_id": lead["id"], "customer_id": customer_id(payload), "contact_id": contact_id(payload)})
        stored = dbs("leads").get(Lead, lead["id"])
        assert (stored.customer_id, stored.contact_id) == (customer_id(payload), contact_id(payload))
        return envelope
    return prepare


def leads_lost(*fields):
    def check(dbs, payload: dict) -> None:
        with dbs("leads").session_factory() as session:
            leads = session.scalars(select(Lead)).all()
        assert leads and all(getattr(lead, field) is None for lead in leads for field in fields), fields
    return check


CONSUMERS = {
    ("customers", "customer_converted_from_lead", "leads.handle_customer_converted_from_lead"):
        Consuming(leads_app.record_conversion, conversion_recorded, prepare=lead_exists),
    ("customers", "customer_deleted", "leads.handle_customer_deleted"):
        Consuming(leads_app.record_customer_deleted, leads_lost("customer_id", "contact_id"),
                  prepare=lead_points_at(lambda p: p["customer_id"], lambda p: p["contact_ids"][0])),
    ("customers", "contact_deleted", "leads.handle_contact_deleted"):
        Consuming(leads_app.record_contact_deleted, leads_lost("contact_id"),
                  prepare=lead_points_at(lambda p: p["customer_id"], lambda p: p["contact_id"])),
}
