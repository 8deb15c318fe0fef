"""Sales' view of the events it consumes.

Consumed:
- ``leads.lead_converted``: the opportunity the converting user asked for is recorded
  (``opportunity_requests``) until the opportunity pipeline is built.
"""
from __future__ import annotations

from marshmallow import EXCLUDE, Schema, fields


class RequestedOpportunity(Schema):
    class Meta:
        unknown = EXCLUDE

    name = fields.String(required=True)
    amount = fields.Decimal(required=True, places=2)
    expected_close_date = fields.Date(load_default=None, allow_none=True)


class LeadConverted(Schema):
    """Consumer view of leads' ``lead_converted`` (the fields sales relies on)."""

    class Meta:
        unknown = EXCLUDE

    lead_id = fields.String(required=True)
    owner_id = fields.String(load_default=None, allow_none=True)
    department_id = fields.String(load_default=None, allow_none=True)
    opportunity = fields.Nested(RequestedOpportunity, load_default=None, allow_none=True)
