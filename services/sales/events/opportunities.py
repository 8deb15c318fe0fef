"""Events sales publishes about opportunities (exchange ``sales.events``, routing key = event type).

- ``opportunity_created``        an opportunity was created (by a user, or from a lead conversion)
- ``opportunity_updated``        a user changed an open opportunity's fields (``changed``: which)
- ``opportunity_stage_changed``  it moved between open stages, was declared invalid, or was reopened
- ``opportunity_won``            it was won (``closed_at``)
- ``opportunity_lost``           it was lost, with ``lost_reason``

Each payload is dumped from the opportunity itself (``uow.emit(EVENT, opportunity, ...)``); what it
does not hold (``occurred_at``, the move's ``from_stage``, ``to_stage``, ``note``) goes as keywords.
"""
from __future__ import annotations

from marshmallow import Schema, fields

from crm_kit.runtime.events import EventType


class _OpportunityFacts(Schema):
    """The fields every opportunity event carries."""
    id = fields.String(required=True)
    customer_id = fields.String(required=True, allow_none=True)
    owner_id = fields.String(required=True, allow_none=True)
    department_id = fields.String(required=True, allow_none=True)
    name = fields.String(required=True)
    amount = fields.Decimal(required=True, as_string=True, places=2)
    currency = fields.String(required=True)
    pipeline_id = fields.String(required=True)
    stage = fields.String(required=True)
    status = fields.String(required=True, metadata={"description": "open, won, lost, invalid"})
    probability = fields.Integer(required=True)
    expected_close_date = fields.Date(required=True, allow_none=True)
    closed_at = fields.DateTime(required=True, allow_none=True)
    source_lead_id = fields.String(required=True, allow_none=True)
    version = fields.Integer(required=True)
    occurred_at = fields.DateTime(required=True)
    created_at = fields.DateTime(required=True)


class OpportunityCreatedPayload(_OpportunityFacts):
    pass


class OpportunityUpdatedPayload(_OpportunityFacts):
    changed = fields.List(fields.String(), required=True, metadata={"description": "Fields that changed."})


class OpportunityStageChangedPayload(_OpportunityFacts):
    from_stage = fields.String(required=True)
    to_stage = fields.String(required=True)
    note = fields.String(required=True, allow_none=True)


class OpportunityWonPayload(_OpportunityFacts):
    from_stage = fields.String(required=True)
    note = fields.String(required=True, allow_none=True)


class OpportunityLostPayload(_OpportunityFacts):
    from_stage = fields.String(required=True)
    lost_reason = fields.String(required=True)
    note = fields.String(required=True, allow_none=True)


def _example(**extra) -> dict:
    """A payload as the scenarios make it (the catalogue's example)."""
    return {"id": "01933b50-1f00-7a00-8000-0000000000f1", "customer_id": "01933b50-1f00-7a00-8000-00000000c001",
            "owner_id": "01933b50-1f00-7a00-8000-00000000a002", "department_id": "01933b50-1f00-7a00-8000-00000000d001",
            "name": "ERP rollout", "amount": "125000.00", "currency": "CNY",
            "pipeline_id": "00000000-0000-7000-8000-00000000a001", "stage": "qualification", "status": "open",
            "probability": 10, "expected_close_date": "2027-06-30", "closed_at": None, "source_lead_id": None,
            "version": 1, "occurred_at": "2026-12-10T09:30:00+00:00", "created_at": "2026-12-10T09:30:00+00:00",
            **extra}


OPPORTUNITY_CREATED = EventType("opportunity_created", OpportunityCreatedPayload, version=1,
                                description="An opportunity was created, by a user or from a lead conversion.",
                                example=_example())
OPPORTUNITY_UPDATED = EventType("opportunity_updated", OpportunityUpdatedPayload, version=1,
                                description="A user changed an open opportunity (amount, lines, dates, customer...); "
                                            "`changed` names the fields.",
                                example=_example(amount="99000.00", version=2, changed=["amount"]))
OPPORTUNITY_STAGE_CHANGED = EventType(
    "opportunity_stage_changed", OpportunityStageChangedPayload, version=1,
    description="An opportunity moved between open stages (with the feedback note), was declared invalid, "
                "or was reopened (from_stage: the closing stage).",
    example=_example(stage="proposal", probability=50, version=2, from_stage="qualification", to_stage="proposal",
                     note="Demo went well"))
OPPORTUNITY_WON = EventType("opportunity_won", OpportunityWonPayload, version=1,
                            description="An opportunity was won (`closed_at`: when).",
                            example=_example(stage="won", status="won", probability=100, version=3,
                                             closed_at="2026-12-20T15:00:00+00:00", from_stage="proposal", note=None))
OPPORTUNITY_LOST = EventType("opportunity_lost", OpportunityLostPayload, version=1,
                             description="An opportunity was lost, with a reason of the configured list.",
                             example=_example(stage="lost", status="lost", probability=0, version=3,
                                              closed_at="2026-12-20T15:00:00+00:00", from_stage="negotiation",
                                              lost_reason="Price", note="Went with a cheaper offer"))
