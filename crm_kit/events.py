"""Event definitions and the envelope every event travels in.

A producer declares each event it publishes once, in its ``events.py``::

    LEAD_CONVERTED = EventType("lead_converted", LeadConvertedPayload, version=1,
                               description="...")

and raises it inside a unit of work (``uow.emit(LEAD_CONVERTED, data)``). The
payload is dumped through its marshmallow schema (Decimal -> string, datetime
-> ISO 8601), validated, wrapped in the envelope and written to the outbox.

Consumers declare the fields they rely on in their own schema (tolerant
reader); ``tests/contract`` checks both sides against the catalogue.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from marshmallow import Schema, fields, validate

from crm_kit.context import current_principal, current_request_id
from crm_kit.db import utcnow
from crm_kit.errors import ValidationFailed
from crm_kit.ids import new_id

ENVELOPE_FIELDS = ("event_id", "event_type", "schema_version", "occurred_at", "producer",
                   "actor", "correlation_id", "payload")


class EnvelopeSchema(Schema):
    """The wrapper around every event payload (schema of the message body)."""
    event_id = fields.String(required=True, metadata={"description": "Unique id; consumers dedupe on it."})
    event_type = fields.String(required=True)
    schema_version = fields.Integer(required=True, validate=validate.Range(min=1))
    occurred_at = fields.DateTime(required=True, format="iso")
    producer = fields.String(required=True, metadata={"description": "The service that raised it."})
    actor = fields.String(required=True, allow_none=True,
                          metadata={"description": "User id on whose behalf it happened, or null."})
    correlation_id = fields.String(required=True, allow_none=True,
                                   metadata={"description": "The X-Request-ID that caused it."})
    payload = fields.Dict(required=True)


@dataclass(frozen=True)
class EventType:
    name: str
    schema: type[Schema]
    version: int = 1
    description: str = ""
    example: dict = field(default_factory=dict)

    def dump(self, data) -> dict:
        schema = _schema_instance(self.schema)
        payload = schema.dump(data)
        errors = schema.validate(payload)
        if errors:
            # A producer bug, not user input: fail the transaction loudly.
            raise ValidationFailed.from_messages(errors, f"event {self.name} payload is invalid")
        return payload


_SCHEMAS: dict[type, Schema] = {}


def _schema_instance(cls: type[Schema]) -> Schema:
    schema = _SCHEMAS.get(cls)
    if schema is None:
        schema = _SCHEMAS[cls] = cls()
    return schema


def envelope(event: EventType, payload: dict, producer: str) -> dict:
    principal = current_principal()
    return {
        "event_id": new_id(),
        "event_type": event.name,
        "schema_version": event.version,
        "occurred_at": utcnow().isoformat(),
        "producer": producer,
        "actor": principal.user_id if principal else None,
        "correlation_id": current_request_id(),
        "payload": payload,
    }


def exchange_name(producer: str) -> str:
    """Events leave through nameko's exchange for the producer: ``<producer>.events``."""
    return f"{producer}.events"
