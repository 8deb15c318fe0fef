"""Sales use cases (plain Python over a unit of work)."""
from __future__ import annotations

from sqlalchemy import select

from crm_kit.ids import new_id
from crm_kit.runtime.uow import UnitOfWork
from services.sales.models import OpportunityRequest


def on_lead_converted(uow: UnitOfWork, event: dict) -> None:
    """Record the opportunity a conversion asked for (nothing to do when none was asked); ``event``
    is the ``lead_converted`` payload the kit loaded (``LeadConverted``). Idempotent: the kit records
    the event id with the row, and ``lead_id`` is unique."""
    requested = event["opportunity"]
    with uow:
        if requested and uow.session.scalars(select(OpportunityRequest.id).where(
                OpportunityRequest.lead_id == event["lead_id"])).first() is None:
            uow.session.add(OpportunityRequest(
                id=new_id(), lead_id=event["lead_id"], name=requested["name"], amount=requested["amount"],
                expected_close_date=requested["expected_close_date"], lead_owner_id=event["owner_id"],
                lead_department_id=event["department_id"]))
        uow.commit()
