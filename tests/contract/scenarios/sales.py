"""Scenarios of the sales service: its handler of leads' ``lead_converted``."""
from __future__ import annotations

from sqlalchemy import select

from services.sales.application import lead_conversion as sales_app
from services.sales.models import OpportunityRequest
from tests.contract.support import Consuming

PRODUCERS = []


def opportunity_recorded(dbs, payload: dict) -> None:
    with dbs("sales").session_factory() as session:
        rows = session.scalars(select(OpportunityRequest).where(OpportunityRequest.lead_id == payload["lead_id"])).all()
    wanted = 1 if payload.get("opportunity") else 0
    assert len(rows) == wanted
    if wanted:
        assert str(rows[0].amount) == payload["opportunity"]["amount"]


CONSUMERS = {
    ("leads", "lead_converted", "sales.handle_lead_converted"):
        Consuming(sales_app.on_lead_converted, opportunity_recorded),
}
