"""The customers service's own view of the events it consumes (tolerant readers: only the fields it
relies on; unknown ones are ignored)."""
from __future__ import annotations

import datetime as _dt

from marshmallow import EXCLUDE, Schema, fields

_UTC = _dt.timezone.utc


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


# -- sales' events: each becomes a fact about the customer's business (``application.sales_facts``) --
class SalesOpportunity(Schema):
    """Consumer view of sales' opportunity events (``opportunity_created``, ``opportunity_updated``,
    ``opportunity_stage_changed``, ``opportunity_won``, ``opportunity_lost``): the fields customers
    keeps of an opportunity. ``customer_id`` null: an opportunity of no customer (nothing to keep)."""

    class Meta:
        unknown = EXCLUDE

    id = fields.String(required=True)
    customer_id = fields.String(required=True, allow_none=True)
    amount = fields.Decimal(required=True, places=2)
    stage = fields.String(required=True)
    status = fields.String(required=True)
    occurred_at = fields.AwareDateTime(required=True, default_timezone=_UTC)
    created_at = fields.AwareDateTime(load_default=None, allow_none=True, default_timezone=_UTC)


class SalesOrder(Schema):
    """Consumer view of sales' order events (``order_submitted``, ``order_approved``, ``order_rejected``,
    ``order_cancelled``): the order's customer, total and when."""

    class Meta:
        unknown = EXCLUDE

    id = fields.String(required=True)
    customer_id = fields.String(required=True)
    total = fields.Decimal(required=True, places=2)
    occurred_at = fields.AwareDateTime(required=True, default_timezone=_UTC)


class SalesContractSigned(Schema):
    """Consumer view of sales' ``contract_signed``."""

    class Meta:
        unknown = EXCLUDE

    id = fields.String(required=True)
    customer_id = fields.String(required=True)
    amount = fields.Decimal(required=True, places=2)
    occurred_at = fields.AwareDateTime(required=True, default_timezone=_UTC)
    created_at = fields.AwareDateTime(load_default=None, allow_none=True, default_timezone=_UTC)


class BillingPayment(Schema):
    """Consumer view of billing's payment events (``payment_submitted``, ``payment_confirmed``,
    ``payment_rejected``, ``payment_reversed``): the payment's customer, amount and when."""

    class Meta:
        unknown = EXCLUDE

    id = fields.String(required=True)
    customer_id = fields.String(required=True)
    amount = fields.Decimal(required=True, places=2)
    occurred_at = fields.AwareDateTime(required=True, default_timezone=_UTC)
