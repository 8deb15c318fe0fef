"""Opportunities from lead conversions.

A conversion that asks for an opportunity becomes one owned by the lead's owner (and department), in
the default pipeline's first stage, for the customer the lead became. Two events say so, in
different queues, in either order: leads' ``lead_converted`` (what was asked, whose lead it was) and
customers' ``customer_converted_from_lead`` (the customer). They meet at the lead's row of
``opportunity_requests`` (``lead_id`` unique; read locked): the second to arrive creates the
opportunity (``opportunity_created``); two arriving at once meet at the row's unique key and the
later is retried by the kit. Idempotent: the kit records each event id with its effect, the row's
status says what is done, and ``opportunities.source_lead_id`` is unique.

Requests recorded before the pipeline existed (``status = recorded``, their customer unknown to
sales: customers' answer was never consumed then) became opportunities in revision ``sales0005``
without a customer; their owner sets it (``PATCH``), or a late answer does (below).
"""
from __future__ import annotations

from sqlalchemy import select

from crm_kit.ids import new_id
from crm_kit.records.db import utcnow
from crm_kit.runtime.uow import UnitOfWork
from services.sales.application import pipelines
from services.sales.application.opportunities import open_opportunity
from services.sales.events.opportunities import OPPORTUNITY_UPDATED
from services.sales.models import Opportunity, OpportunityRequest

NOTE = "Created from a lead conversion."


def _request(session, lead_id: str) -> OpportunityRequest | None:
    return session.scalars(select(OpportunityRequest).where(OpportunityRequest.lead_id == lead_id)
                           .with_for_update().execution_options(populate_existing=True)).first()


def _create(uow: UnitOfWork, row: OpportunityRequest) -> None:
    session = uow.session
    fields = {"name": row.name, "amount": row.amount, "expected_close_date": row.expected_close_date,
              "customer_id": row.customer_id, "contact_ids": [row.contact_id] if row.contact_id else [],
              "source": "lead", "pipeline_id": pipelines.default_pipeline(session).id}
    opportunity = open_opportunity(uow, fields=fields, owner_id=row.lead_owner_id,
                                   department_id=row.lead_department_id, created_by=uow.default_actor,
                                   note=NOTE, source_lead_id=row.lead_id)
    row.status, row.opportunity_id = "created", opportunity.id


def on_lead_converted(uow: UnitOfWork, event: dict) -> None:
    """``event``: the ``lead_converted`` payload the kit loaded (``LeadConverted``)."""
    requested = event["opportunity"]
    with uow:
        session = uow.session
        uow.audit_action("lead_converted")
        row = _request(session, event["lead_id"])
        if row is None:
            row = OpportunityRequest(id=new_id(), lead_id=event["lead_id"], status="recorded")
            session.add(row)
        elif row.status != "awaiting_lead":          # this conversion was heard of already
            uow.commit()
            return
        row.lead_owner_id, row.lead_department_id = event["owner_id"], event["department_id"]
        row.customer_id = row.customer_id or event.get("customer_id")
        row.contact_id = row.contact_id or event.get("contact_id")
        if not requested:
            row.status = "not_asked"
        else:
            row.name, row.amount = requested["name"], requested["amount"]
            row.expected_close_date = requested["expected_close_date"]
            row.status = "recorded"
            session.flush()
            if row.customer_id:
                _create(uow, row)
        uow.commit()


def on_customer_converted_from_lead(uow: UnitOfWork, answer: dict) -> None:
    """``answer``: customers' ``customer_converted_from_lead`` (``CustomerConvertedFromLead``)."""
    with uow:
        session = uow.session
        uow.audit_action("customer_converted_from_lead")
        row = _request(session, answer["lead_id"])
        if row is None:
            session.add(OpportunityRequest(id=new_id(), lead_id=answer["lead_id"], status="awaiting_lead",
                                           customer_id=answer["customer_id"], contact_id=answer["contact_id"]))
        elif row.status == "recorded":
            row.customer_id, row.contact_id = answer["customer_id"], answer["contact_id"]
            _create(uow, row)
        elif row.status == "created":
            opportunity = session.get(Opportunity, row.opportunity_id) if row.opportunity_id else None
            if opportunity is not None and opportunity.customer_id is None:     # made before its customer was known
                opportunity.customer_id = answer["customer_id"]
                if answer["contact_id"] and not opportunity.contact_ids:
                    opportunity.contact_ids = [answer["contact_id"]]
                opportunity.updated_at = utcnow()
                session.flush()
                uow.emit(OPPORTUNITY_UPDATED, opportunity, changed=["contact_ids", "customer_id"],
                         occurred_at=opportunity.updated_at)
            row.customer_id = row.customer_id or answer["customer_id"]
        elif row.customer_id is None:
            row.customer_id, row.contact_id = answer["customer_id"], answer["contact_id"]
        uow.commit()
