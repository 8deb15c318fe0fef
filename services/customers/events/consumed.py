"""The customers service's own view of the events it consumes (tolerant readers: only the fields it
relies on; unknown ones are ignored)."""
from __future__ import annotations

from marshmallow import EXCLUDE, Schema, fields


class LeadConverted(Schema):
    """Consumer view of leads' ``lead_converted`` (the fields customers relies on)."""

    class Meta:
        unknown = EXCLUDE

    lead_id = fields.String(required=True)
    name = fields.String(required=True)
    company = fields.String(required=True, allow_none=True)
    phone = fields.String(load_default=None, allow_none=True)
    email = fields.String(load_default=None, allow_none=True)
    campaign_id = fields.String(load_default=None, allow_none=True)
    region = fields.String(load_default=None, allow_none=True)
    industry = fields.String(load_default=None, allow_none=True)
    owner_id = fields.String(load_default=None, allow_none=True)
    department_id = fields.String(load_default=None, allow_none=True)
