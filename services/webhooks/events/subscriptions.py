"""The events of webhook subscriptions (exchange ``webhooks.events``):

- ``webhook_subscription_disabled``  a run of failed attempts disabled a subscription (``rule``: the
  rule and its inputs, ``services/webhooks/domain/failures.py``)
"""
from __future__ import annotations

from marshmallow import Schema, fields

from crm_kit.runtime.events import EventType

__all__ = ["WebhookSubscriptionDisabledPayload", "WEBHOOK_SUBSCRIPTION_DISABLED"]


class WebhookSubscriptionDisabledPayload(Schema):
    id = fields.String(required=True, metadata={"description": "The subscription."})
    url = fields.String(required=True)
    consecutive_failures = fields.Integer(required=True)
    failing_since = fields.DateTime(required=True, allow_none=True)
    disabled_at = fields.DateTime(required=True)
    last_error = fields.String(required=True, allow_none=True, metadata={
        "description": "What the last attempt met (a status code or a connection error)."})
    rule = fields.Dict(required=True, metadata={
        "description": "rule (webhooks.disable_after_failures), consecutive_failures, limit, failing_since, "
                       "failing_seconds, min_seconds, as_of."})


WEBHOOK_SUBSCRIPTION_DISABLED = EventType(
    "webhook_subscription_disabled", WebhookSubscriptionDisabledPayload, version=1,
    description="A webhook subscription was disabled after a run of failed deliveries; its pending "
                "deliveries wait until an admin makes it active again.",
    example={"id": "01933b50-1f00-7a00-8000-0000000ee001", "url": "https://hooks.example.com/crm",
             "consecutive_failures": 100, "failing_since": "2024-11-20T09:00:00+00:00",
             "disabled_at": "2024-11-25T14:03:11.250000+00:00", "last_error": "HTTP 503",
             "rule": {"rule": "webhooks.disable_after_failures", "consecutive_failures": 100, "limit": 100,
                      "failing_since": "2024-11-20T09:00:00+00:00", "failing_seconds": 450191.25,
                      "min_seconds": 432000.0, "as_of": "2024-11-25T14:03:11.250000+00:00"}})
