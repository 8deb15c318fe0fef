"""The events of what customers answer through signed links (exchange ``support.events``):

- ``survey_submitted``  a customer answered the satisfaction survey of a resolved ticket (``csat``
                        1-5, ``nps`` 0-10 or null, ``comment``), once per ticket and resolution
"""
from __future__ import annotations

from marshmallow import Schema, fields

from crm_kit.runtime.events import EventType

__all__ = ["SurveySubmittedPayload", "SURVEY_SUBMITTED"]


def _opt(**kwargs):
    return fields.String(required=True, allow_none=True, **kwargs)


class SurveySubmittedPayload(Schema):
    id = fields.String(required=True, metadata={"description": "The survey's id."})
    ticket_id = fields.String(required=True)
    number = fields.String(required=True, metadata={"description": "The ticket's number."})
    customer_id = _opt()
    contact_id = _opt()
    group_id = _opt(metadata={"description": "The ticket's group when it was answered."})
    assignee_id = _opt(metadata={"description": "The ticket's assignee when it was answered."})
    resolution_round = fields.Integer(required=True, metadata={
        "description": "The ticket's reopen_count at the resolution answered (0: the first)."})
    csat = fields.Integer(required=True, metadata={"description": "Satisfaction, 1 (very unhappy) to 5."})
    nps = fields.Integer(required=True, allow_none=True, metadata={
        "description": "How likely to recommend us, 0 to 10 (null: not answered)."})
    comment = _opt()
    submitted_at = fields.DateTime(required=True)
    occurred_at = fields.DateTime(required=True)


SURVEY_SUBMITTED = EventType(
    "survey_submitted", SurveySubmittedPayload, version=1,
    description="A customer answered the satisfaction survey (CSAT 1-5, NPS 0-10) of a resolved ticket through "
                "its signed one-time link.",
    example={"id": "01933b50-1f00-7a00-8000-000000014001", "ticket_id": "01933b50-1f00-7a00-8000-000000011001",
             "number": "TK-2026-000042", "customer_id": "01933b50-1f00-7a00-8000-0000000cc001",
             "contact_id": "01933b50-1f00-7a00-8000-0000000cd001",
             "group_id": "01933b50-1f00-7a00-8000-000000012001",
             "assignee_id": "01933b50-1f00-7a00-8000-00000000a005", "resolution_round": 0, "csat": 5, "nps": 9,
             "comment": "Quick and friendly", "submitted_at": "2026-03-04T08:00:00+00:00",
             "occurred_at": "2026-03-04T08:00:00+00:00"})
