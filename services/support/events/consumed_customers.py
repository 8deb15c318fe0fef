"""Support's view of customers' events (tolerant readers: the fields support relies on).

Consumed:
- ``customers.customers_merged``: every ticket naming the merged customer names the survivor;
- ``customers.customer_owner_changed``: the customer's new owner reads its tickets (recorded on
  ``support_customer_refs``; a ticket's own owner is its assignee, so no ticket moves).
"""
from __future__ import annotations

import datetime as dt

from marshmallow import EXCLUDE, Schema, fields

__all__ = ["CustomersMerged", "CustomerOwnerChanged"]


class CustomersMerged(Schema):
    """Consumer view of customers' ``customers_merged``."""

    class Meta:
        unknown = EXCLUDE

    survivor_id = fields.String(required=True)
    merged_id = fields.String(required=True)
    merged_at = fields.AwareDateTime(required=True, default_timezone=dt.timezone.utc)


class CustomerOwnerChanged(Schema):
    """Consumer view of customers' ``customer_owner_changed`` (``owner_id`` null: it went into a pool)."""

    class Meta:
        unknown = EXCLUDE

    customer_id = fields.String(required=True)
    owner_id = fields.String(required=True, allow_none=True)
    department_id = fields.String(load_default=None, allow_none=True)
    previous_owner_id = fields.String(required=True, allow_none=True)
    kind = fields.String(load_default=None, allow_none=True)
    changed_at = fields.AwareDateTime(required=True, default_timezone=dt.timezone.utc)
