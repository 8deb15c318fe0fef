"""Scenarios of sales' opportunities: created, moved between open stages, reopened, won, lost, declared
invalid, changed (``opportunity_created``, ``opportunity_stage_changed``, ``opportunity_won``,
``opportunity_lost``, ``opportunity_updated``); and one made from a lead conversion."""
from __future__ import annotations

from crm_kit.context import Principal
from services.sales.application import lead_conversion
from services.sales.application import opportunities as app
from services.sales.domain.org import OrgChart
from tests.contract.support import ADMIN, Producing

MEMBER = Principal("01933b50-1f00-7a00-8000-00000000a002", "member", "01933b50-1f00-7a00-8000-00000000d001",
                   ("01933b50-1f00-7a00-8000-00000000d001",))
CUSTOMER = "01933b50-1f00-7a00-8000-00000000c001"


def _create(dbs, **data) -> dict:
    return app.create_opportunity(dbs("sales").uow(), MEMBER, {
        "customer_id": CUSTOMER, "name": "ERP rollout", "amount": "125000.00", "expected_close_date": "2027-06-30",
        **data})


def moved_won_reopened(dbs):
    opportunity = _create(dbs)
    app.change_opportunity_stage(dbs("sales").uow(), MEMBER, opportunity["id"],
                                 {"stage": "proposal", "note": "Demo went well"})
    app.change_opportunity_stage(dbs("sales").uow(), MEMBER, opportunity["id"], {"stage": "won"})
    app.reopen_opportunity(dbs("sales").uow(), ADMIN, OrgChart(), opportunity["id"], {"note": "Signed the wrong one"})


def lost_and_invalid(dbs):
    lost = _create(dbs)
    app.update_opportunity(dbs("sales").uow(), MEMBER, lost["id"], {"amount": "99000.00"})
    app.change_opportunity_stage(dbs("sales").uow(), MEMBER, lost["id"], {"stage": "lost", "lost_reason": "Price",
                                                                          "note": "Went with a cheaper offer"})
    invalid = _create(dbs, name="Duplicate enquiry")
    app.change_opportunity_stage(dbs("sales").uow(), MEMBER, invalid["id"], {"stage": "invalid"})


def from_a_lead_conversion(dbs):
    lead_conversion.on_lead_converted(dbs("sales").uow(), {
        "lead_id": "01933b50-1f00-7a00-8000-0000000001e1", "owner_id": MEMBER.user_id,
        "department_id": MEMBER.department_id, "customer_id": CUSTOMER, "contact_id": None,
        "opportunity": {"name": "Pilot", "amount": "8000.00", "expected_close_date": None}})


PRODUCERS = [
    Producing("sales", moved_won_reopened,
              frozenset({"opportunity_created", "opportunity_stage_changed", "opportunity_won"})),
    Producing("sales", lost_and_invalid, frozenset({"opportunity_created", "opportunity_updated",
                                                    "opportunity_lost", "opportunity_stage_changed"})),
    Producing("sales", from_a_lead_conversion, frozenset({"opportunity_created"})),
]
CONSUMERS = {}
