"""The customer's own part of its overview (``customer_overview``); the gateway adds the parts other
services answer (``GET /api/v1/customers/{id}/overview``)."""
from __future__ import annotations

from marshmallow import Schema, fields

from services.customers.schemas.business import CustomerDealOut
from services.customers.schemas.follow_ups import FollowUpOut
from services.customers.schemas.records import CustomerOut


class CustomerOverviewOut(Schema):
    """The customer (with its contacts and summary, masked as ``get_customer`` masks it), its most
    recent follow-ups (newest first) and its deal status and summary."""
    customer = fields.Nested(CustomerOut, metadata={"description": "the customer, as get_customer returns it"})
    follow_ups = fields.List(fields.Nested(FollowUpOut))
    deal = fields.Nested(CustomerDealOut)
