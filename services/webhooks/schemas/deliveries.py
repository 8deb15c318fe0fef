"""The delivery log of a subscription (deliveries with their attempts) and replays of a time range."""
from __future__ import annotations

import datetime as dt

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from crm_kit.records.schemas import InputSchema, ListQuery, page_of
from services.webhooks.models.deliveries import STATUSES


def _when(**kwargs):
    return fields.AwareDateTime(default_timezone=dt.timezone.utc, **kwargs)


class WebhookDeliveryListQuery(ListQuery):
    status = fields.String(load_default=None, allow_none=True, validate=validate.OneOf(STATUSES))
    event_type = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=100))


class WebhookAttemptOut(Schema):
    number = fields.Integer()
    started_at = fields.DateTime()
    succeeded = fields.Boolean()
    status_code = fields.Integer(allow_none=True)
    error = fields.String(allow_none=True)
    response_ms = fields.Integer(metadata={"description": "Milliseconds until the response (or the failure)."})
    address = fields.String(allow_none=True, metadata={"description": "The checked address connected to."})


class WebhookDeliveryOut(Schema):
    id = fields.String()
    subscription_id = fields.String()
    event_id = fields.String(metadata={"description": "Also the webhook-id header: receivers dedupe on it."})
    event_type = fields.String()
    order_key = fields.String()
    origin = fields.String(metadata={"description": "event, or replay:<replay id>"})
    status = fields.String(metadata={"description": "pending, succeeded, failed (gave up)"})
    attempts = fields.Integer()
    next_attempt_at = fields.DateTime(allow_none=True)
    last_status_code = fields.Integer(allow_none=True)
    last_error = fields.String(allow_none=True)
    last_response_ms = fields.Integer(allow_none=True)
    created_at = fields.DateTime()
    completed_at = fields.DateTime(allow_none=True)
    attempt_log = fields.List(fields.Nested(WebhookAttemptOut), metadata={"description": "Every attempt, first first."})


WebhookDeliveryList = page_of(WebhookDeliveryOut)


class WebhookReplayRequest(InputSchema):
    """Send again every stored event of the subscription's types that occurred in ``[from, to)``
    (new deliveries, the same ``webhook-id``s: a receiver that has them dedupes)."""
    from_ = fields.AwareDateTime(data_key="from", attribute="from", required=True, default_timezone=dt.timezone.utc)
    to = _when(required=True)

    @validates_schema
    def _range(self, data, **kwargs):
        if data.get("from") and data.get("to") and data["from"] >= data["to"]:
            raise ValidationError("from must be before to.", "to")


class WebhookReplayOut(Schema):
    replay_id = fields.String()
    subscription_id = fields.String()
    deliveries = fields.Integer(metadata={"description": "Deliveries created (one per event in the range)."})
    from_ = fields.DateTime(data_key="from", attribute="from")
    to = fields.DateTime()
