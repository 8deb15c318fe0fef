"""Sales use cases (plain Python over a unit of work)."""
from __future__ import annotations

from marshmallow import ValidationError
from sqlalchemy import select

from crm_kit.errors import ValidationFailed
from crm_kit.ids import new_id
from crm_kit.runtime.uow import UnitOfWork
from services.sales.events import LeadConverted
from services.sales.models import OpportunityRequest

_lead_converted = LeadConverted()


def on_lead_converted(uow: UnitOfWork, envelope: dict) -> None:
    """Record the opportunity a conversion asked for (nothing to do when none was asked).
    Idempotent: the kit records the event id with the row, and ``lead_id`` is unique."""
    try:
        event = _lead_converted.load(envelope["payload"])
    except ValidationError as exc:
        raise ValidationFailed.from_messages(exc.messages, "lead_converted payload is invalid") from None
    requested = event["opportunity"]
    with uow:
        uow.audit_actor = envelope.get("actor")
        if requested and uow.session.scalars(select(OpportunityRequest.id).where(
                OpportunityRequest.lead_id == event["lead_id"])).first() is None:
            uow.session.add(OpportunityRequest(
                id=new_id(), lead_id=event["lead_id"], name=requested["name"], amount=requested["amount"],
                expected_close_date=requested["expected_close_date"], lead_owner_id=event["owner_id"],
                lead_department_id=event["department_id"]))
        uow.commit()
