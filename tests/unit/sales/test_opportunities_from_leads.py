"""Opportunities from lead conversions (``application.lead_conversion``): the two events meet in either
order, each delivered twice changes nothing more, a conversion that asked for none makes none."""
from __future__ import annotations

import pytest

from services.sales.application import lead_conversion as conversion
from services.sales.events.consumed import CustomerConvertedFromLead, LeadConverted
from services.sales.models import Base, Opportunity, OpportunityRequest


@pytest.fixture
def db(make_db):
    return make_db(Base, "sales")


def lead_converted(db, event_id="e1", lead_id="lead-1", opportunity=True, **extra):
    payload = {"lead_id": lead_id, "owner_id": "user-1", "department_id": "d1", **extra,
               "opportunity": {"name": "Big deal", "amount": "1200.50", "expected_close_date": "2027-01-31"}
               if opportunity else None}
    db.handle(conversion.on_lead_converted, {"event_id": event_id, "payload": payload, "actor": "user-9"},
              LeadConverted, "sales.handle_lead_converted")


def customer_answer(db, event_id="e2", lead_id="lead-1"):
    db.handle(conversion.on_customer_converted_from_lead, {"event_id": event_id, "payload": {
        "lead_id": lead_id, "customer_id": "cust-1", "contact_id": "ct-1", "customer_created": True}},
        CustomerConvertedFromLead, "sales.handle_customer_converted_from_lead")


def _deliver_all(db, order):
    for step in order:
        try:
            step(db)
        except Exception as exc:          # the kit acknowledges a duplicate delivery
            assert type(exc).__name__ == "DuplicateEvent"


@pytest.mark.parametrize("order", [
    (lead_converted, customer_answer),
    (customer_answer, lead_converted),
    (lead_converted, lead_converted, customer_answer, customer_answer),
    (customer_answer, customer_answer, lead_converted, lead_converted),
])
def test_one_opportunity_whatever_the_order(db, order):
    _deliver_all(db, order)
    [opportunity] = db.all(Opportunity)
    assert (opportunity.customer_id, opportunity.owner_id, opportunity.department_id) == ("cust-1", "user-1", "d1")
    assert opportunity.stage == "qualification" and str(opportunity.amount) == "1200.50"
    assert opportunity.contact_ids == ["ct-1"] and opportunity.source_lead_id == "lead-1"
    [request] = db.all(OpportunityRequest)
    assert request.status == "created" and request.opportunity_id == opportunity.id
    assert len(db.outbox("opportunity_created")) == 1


@pytest.mark.parametrize("order", [(lead_converted, customer_answer), (customer_answer, lead_converted)])
def test_no_opportunity_when_none_was_asked(db, order):
    for step in order:
        step(db) if step is customer_answer else step(db, opportunity=False)
    assert db.all(Opportunity) == [] and db.all(OpportunityRequest)[0].status == "not_asked"


def test_a_customer_named_in_the_conversion_makes_it_at_once(db):
    lead_converted(db, customer_id="cust-7")
    [opportunity] = db.all(Opportunity)
    assert opportunity.customer_id == "cust-7"


def test_a_late_answer_completes_an_opportunity_made_without_its_customer(db):
    """(Those made in revision sales0005 from the requests recorded before the pipeline.)"""
    lead_converted(db)
    with db.session() as session:                       # as the revision leaves such a request
        opp = Opportunity(id="o-1", name="Old", amount=1, pipeline_id=_default(db), stage="qualification",
                          probability=10, source_lead_id="lead-2", owner_id="user-1", contact_ids=[])
        session.add(opp)
        session.add(OpportunityRequest(id="r-2", lead_id="lead-2", name="Old", amount=1, status="created",
                                       opportunity_id="o-1"))
        session.commit()
    customer_answer(db, "e5", lead_id="lead-2")
    with db.session() as session:
        assert session.get(Opportunity, "o-1").customer_id == "cust-1"
    assert len(db.outbox("opportunity_updated")) == 1


def _default(db):
    from services.sales.application import pipelines
    uow = db.uow()
    with uow:
        ident = pipelines.default_pipeline(uow.session).id
        uow.commit()
    return ident
