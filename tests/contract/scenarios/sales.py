"""Scenarios of the sales service's lead conversion handlers: leads' ``lead_converted`` and customers'
``customer_converted_from_lead`` meet at the lead's ``opportunity_requests`` row; the second of them
creates the opportunity (the catalogue's examples name different leads: each is the first here)."""
from __future__ import annotations

from sqlalchemy import select

from services.sales.application import lead_conversion as sales_app
from services.sales.models import OpportunityRequest
from tests.contract.support import Consuming

PRODUCERS = []


def _request(dbs, lead_id: str):
    with dbs("sales").session_factory() as session:
        return session.scalars(select(OpportunityRequest).where(OpportunityRequest.lead_id == lead_id)).first()


def opportunity_recorded(dbs, payload: dict) -> None:
    row = _request(dbs, payload["lead_id"])
    if payload.get("opportunity"):
        assert row.status in ("recorded", "created") and str(row.amount) == payload["opportunity"]["amount"]
    else:
        assert row.status == "not_asked"


def customer_recorded(dbs, payload: dict) -> None:
    row = _request(dbs, payload["lead_id"])
    assert row.customer_id == payload["customer_id"] and row.status == "awaiting_lead"


CONSUMERS = {
    ("leads", "lead_converted", "sales.handle_lead_converted"):
        Consuming(sales_app.on_lead_converted, opportunity_recorded),
    ("customers", "customer_converted_from_lead", "sales.handle_customer_converted_from_lead"):
        Consuming(sales_app.on_customer_converted_from_lead, customer_recorded),
}
