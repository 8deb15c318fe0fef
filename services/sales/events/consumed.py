"""Sales' view of the events it consumes about lead conversions (tolerant readers: the fields sales
relies on).

Consumed:
- ``leads.lead_converted``: the opportunity the converting user asked for (if any) is recorded;
- ``customers.customer_converted_from_lead``: the customer the lead became. Once both are in (either
  order) the opportunity is created (``application.lead_conversion``). Should leads ever name the
  customer in ``lead_converted`` (``customer_id``), it is created at once.
"""
from __future__ import annotations

from marshmallow import EXCLUDE, Schema, fields

__all__ = ["RequestedOpportunity", "LeadConverted", "CustomerConvertedFromLead"]


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
    customer_id = fields.String(load_default=None, allow_none=True)
    contact_id = fields.String(load_default=None, allow_none=True)
    opportunity = fields.Nested(RequestedOpportunity, load_default=None, allow_none=True)


class CustomerConvertedFromLead(Schema):
    """Consumer view of customers' ``customer_converted_from_lead``."""

    class Meta:
        unknown = EXCLUDE

    lead_id = fields.String(required=True)
    customer_id = fields.String(required=True)
    contact_id = fields.String(load_default=None, allow_none=True)
