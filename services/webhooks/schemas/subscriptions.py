"""Webhook subscriptions: what an admin writes, and what is shown (the secret only on create and on
rotate: ``WebhookSubscriptionWithSecretOut``)."""
from __future__ import annotations

from marshmallow import Schema, ValidationError, fields, validate, validates

from crm_kit.records.schemas import InputSchema, ListQuery, not_blank, page_of, partial_of
from services.webhooks.domain.addresses import MAX_URL
from services.webhooks.events.subscribed import ALL, event_names

MAX_EVENT_TYPES = 200


class WebhookSubscriptionCreate(InputSchema):
    """A receiver outside the cluster: its URL (http/https; private and loopback addresses are refused
    unless the operator allows them), the event types it takes (``["*"]``: every event), whether the
    deliveries of one ordering key wait for each other (``ordered``), and whether it is active."""

    class Meta(InputSchema.Meta):
        server_owned = ("secret", "consecutive_failures", "disabled_at", "disabled_reason")

    url = fields.String(required=True, validate=[validate.Length(min=1, max=MAX_URL), not_blank])
    description = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=500))
    event_types = fields.List(fields.String(validate=validate.Length(min=1, max=100)), required=True,
                              validate=validate.Length(min=1, max=MAX_EVENT_TYPES),
                              metadata={"description": "Event names of the catalogue, or [\"*\"] for all."})
    ordered = fields.Boolean(load_default=False, metadata={
        "description": "Deliveries of one ordering key (the record the event is about) go one after "
                       "the other, the next waiting for the one before to succeed or give up."})
    active = fields.Boolean(load_default=True)

    @validates("event_types")
    def _known(self, value, **kwargs):
        known = event_names()
        unknown = sorted({v for v in value if v != ALL and v not in known})
        if unknown:
            raise ValidationError(f"Unknown event types: {', '.join(unknown)} (see /docs/events).")
        if ALL in value and len(set(value)) > 1:
            raise ValidationError("\"*\" takes every event: list it alone.")


WebhookSubscriptionUpdate = partial_of(WebhookSubscriptionCreate, "WebhookSubscriptionUpdate")


class WebhookSubscriptionListQuery(ListQuery):
    active = fields.Boolean(load_default=None, allow_none=True)


class WebhookSubscriptionOut(Schema):
    id = fields.String()
    url = fields.String()
    description = fields.String(allow_none=True)
    event_types = fields.List(fields.String())
    ordered = fields.Boolean()
    active = fields.Boolean()
    disabled_at = fields.DateTime(allow_none=True)
    disabled_reason = fields.String(allow_none=True)
    consecutive_failures = fields.Integer()
    failing_since = fields.DateTime(allow_none=True)
    last_success_at = fields.DateTime(allow_none=True)
    previous_secret_until = fields.DateTime(allow_none=True, metadata={
        "description": "Until then deliveries are signed with the rotated-out secret too."})
    created_by = fields.String(allow_none=True)
    created_at = fields.DateTime()
    updated_at = fields.DateTime()
    version = fields.Integer()


class WebhookSubscriptionWithSecretOut(WebhookSubscriptionOut):
    """The subscription with its signing secret: shown once, on create and on rotate."""
    secret = fields.String(metadata={"description": "whsec_<base64 key>: the Standard Webhooks secret. "
                                                    "Shown only now; store it."})


WebhookSubscriptionList = page_of(WebhookSubscriptionOut)
