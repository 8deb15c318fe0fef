"""Event definitions and the envelope every event travels in.

A producer declares each event it publishes once, in its ``events.py``::

    LEAD_CONVERTED = EventType("lead_converted", LeadConvertedPayload, version=1,
                               description="...")

and raises it inside a unit of work: ``uow.emit(LEAD_CONVERTED, lead, opportunity=...)``, the
record itself plus what it does not hold (no payload dict is built by hand beside the schema:
a payload field named otherwise than the record's attribute says ``attribute="id"``). The
payload is dumped through its marshmallow schema (Decimal -> string, datetime
-> ISO 8601), validated against the JSON Schema the catalogue publishes for it
(compiled once with fastjsonschema: a few microseconds, where marshmallow's
``validate`` took ten times as long), wrapped in the envelope and written to the
outbox.

Consumers declare the fields they rely on in their own schema (tolerant
reader); ``tests/contract`` checks both sides against the catalogue.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import fastjsonschema
from marshmallow import EXCLUDE, Schema, fields, validate

from crm_kit.context import current_principal, current_request_id
from crm_kit.errors import ValidationFailed
from crm_kit.ids import new_id
from crm_kit.records.db import utcnow
from crm_kit.records.schemas import Dumper, nested_dumper

ENVELOPE_FIELDS = ("event_id", "event_type", "schema_version", "occurred_at", "producer",
                   "actor", "correlation_id", "payload")
OPTIONAL_ENVELOPE_FIELDS = ("traceparent",)     # present when the producer traces (crm_kit.runtime.tracing)


class EnvelopeSchema(Schema):
    """The wrapper around every event payload (schema of the message body). Readers ignore fields
    they do not know (``unknown = EXCLUDE``), so a field added to the envelope -- ``traceparent`` was
    one -- reaches consumers still on an older kit without getting the event parked."""

    class Meta:
        unknown = EXCLUDE

    event_id = fields.String(required=True, metadata={"description": "Unique id; consumers dedupe on it."})
    event_type = fields.String(required=True)
    schema_version = fields.Integer(required=True, validate=validate.Range(min=1))
    occurred_at = fields.DateTime(required=True, format="iso")
    producer = fields.String(required=True, metadata={"description": "The service that raised it."})
    actor = fields.String(required=True, allow_none=True,
                          metadata={"description": "User id on whose behalf it happened, or null."})
    correlation_id = fields.String(required=True, allow_none=True,
                                   metadata={"description": "The X-Request-ID that caused it."})
    # Not validated beyond being a string: a traceparent that does not parse starts no trace, it never parks
    # the event (crm_kit.runtime.tracing.extract).
    traceparent = fields.String(required=False, allow_none=True, metadata={
        "description": "W3C Trace Context traceparent (00-<trace-id>-<span-id>-<flags>) of the transaction "
                       "that raised it; present only when the producer traces (OTEL_EXPORTER_OTLP_ENDPOINT "
                       "set). Optional: consumers must not rely on it."})
    payload = fields.Dict(required=True)


@dataclass(frozen=True)
class EventType:
    name: str
    schema: type[Schema]
    version: int = 1
    description: str = ""
    example: dict = field(default_factory=dict)

    def dump(self, data, **extra) -> dict:
        """The payload of ``data`` (a record, or a dict) through the event's schema; ``extra``
        gives values the record does not hold (``deleted_at=...``) or overrides its own."""
        if extra:
            data = {**data, **extra} if isinstance(data, dict) else _With(data, extra)
        return self._checked(_dumper(self.schema)(data))

    def dumper_sharing(self, template: dict, varying) -> Callable[[dict], dict]:
        """``dump`` for many dicts holding ``template``'s values except under the keys in
        ``varying`` (``crm_kit.records.schemas.Dumper.sharing``): an import's events. Each payload is
        still checked against the catalogue."""
        dumper = _dumper(self.schema)
        if not isinstance(dumper, Dumper):
            return lambda data: self._checked(dumper(data))
        dump = dumper.sharing(template, varying)
        properties = _property_validators(self.schema)
        if properties is None:
            return lambda data: self._checked(dump(data))
        # An object schema (its properties, required, no others): a payload is valid iff it has the
        # keys of one that was (checked whole, the first) and each value is valid. The shared values
        # are the very objects the first payload held: only the others are checked again.
        own = [(key, *properties[key]) for key in dump.own_keys if key in properties]
        first_keys: list = []

        def dump_checked(data) -> dict:
            payload = dump(data)
            if not first_keys or payload.keys() != first_keys[0]:
                self._checked(payload)
                if not first_keys:
                    first_keys.append(set(payload))
                return payload
            try:
                for key, kind, check in own:
                    value = payload[key]
                    if kind == _TEXT:
                        fine = type(value) is str
                    elif kind == _TEXT_OR_NULL:
                        fine = value is None or type(value) is str
                    elif kind == _TEXTS:
                        fine = type(value) is list and all(type(v) is str for v in value)
                    else:
                        check(value)
                        fine = True
                    if not fine:
                        check(value)       # (a str subclass is a string too)
            except fastjsonschema.JsonSchemaValueException:
                self._checked(payload)      # (raises, with the whole schema's message)
            return payload
        return dump_checked

    def _checked(self, payload: dict) -> dict:
        try:
            _validator(self.schema)(payload)
        except fastjsonschema.JsonSchemaValueException as exc:
            # A producer bug, not user input: fail the transaction loudly.
            raise ValidationFailed.from_messages(_messages(exc), f"event {self.name} payload is invalid") from None
        return payload


class _With:
    """A record seen with some more attributes (``EventType.dump``'s ``extra``)."""
    __slots__ = ("_record", "_extra")

    def __init__(self, record, extra: dict):
        self._record, self._extra = record, extra

    def __getattr__(self, name):
        extra = self._extra
        return extra[name] if name in extra else getattr(self._record, name)


_SCHEMAS: dict[type, Schema] = {}
_DUMPERS: dict[type, Callable[[object], dict]] = {}


def _dumper(cls: type[Schema]) -> Callable[[object], dict]:
    dump = _DUMPERS.get(cls)
    if dump is None:
        schema = _schema_instance(cls)
        try:
            dump = nested_dumper(schema)     # (an order's lines in its payload too)
        except TypeError:       # hooks or dotted attributes: marshmallow's own dump
            dump = schema.dump
        _DUMPERS[cls] = dump
    return dump
_VALIDATORS: dict[type, Callable[[dict], object]] = {}


def _messages(exc: fastjsonschema.JsonSchemaValueException) -> dict:
    """``{field: [message]}`` naming the offending field (or the missing ones)."""
    where = ".".join(str(p) for p in (exc.path or [])[1:])
    if exc.rule == "required" and isinstance(exc.value, dict):
        prefix = f"{where}." if where else ""
        return {f"{prefix}{name}": ["Missing data for required field."]
                for name in exc.rule_definition if name not in exc.value}
    return {where or "_schema": [exc.message]}


def _validator(cls: type[Schema]) -> Callable[[dict], object]:
    """The payload's JSON Schema (what ``docs/events`` publishes), compiled."""
    check = _VALIDATORS.get(cls)
    if check is None:
        from crm_kit.records.jsonschema import json_schema  # apispec: only where events are raised
        check = _VALIDATORS[cls] = fastjsonschema.compile(json_schema(cls))
    return check


_PROPERTY_VALIDATORS: dict[type, dict | None] = {}
_OBJECT_SCHEMA_KEYS = frozenset({"type", "properties", "required", "additionalProperties"})


def _property_validators(cls: type[Schema]) -> dict | None:
    """For a payload schema that is an object of named properties only (``required``, no other
    property allowed, no reference), each property's ``(kind, compiled schema)``: ``kind`` one of
    the simple schemas checked inline, else None; None for another schema."""
    if cls not in _PROPERTY_VALIDATORS:
        from crm_kit.records.jsonschema import json_schema
        schema = json_schema(cls)
        props = schema.get("properties")
        plain = (set(schema) <= _OBJECT_SCHEMA_KEYS and schema.get("type") == "object"
                 and schema.get("additionalProperties") is False and isinstance(props, dict)
                 and "$ref" not in repr(props) and "definitions" not in repr(props))
        _PROPERTY_VALIDATORS[cls] = {k: (_KINDS.get(repr(v)), fastjsonschema.compile(v))
                                     for k, v in props.items()} if plain else None
    return _PROPERTY_VALIDATORS[cls]


# property schemas checked inline (anything else: by its compiled schema)
_TEXT, _TEXT_OR_NULL, _TEXTS = 1, 2, 3
_KINDS = {repr({"type": "string"}): _TEXT, repr({"type": ["string", "null"]}): _TEXT_OR_NULL,
          repr({"type": "array", "items": {"type": "string"}}): _TEXTS}


def _schema_instance(cls: type[Schema]) -> Schema:
    schema = _SCHEMAS.get(cls)
    if schema is None:
        schema = _SCHEMAS[cls] = cls()
    return schema


def envelope(event: EventType, payload: dict, producer: str, traceparent: str | None = None) -> dict:
    return envelopes(event, [payload], producer, traceparent)[0]


def envelopes(event: EventType, payloads: list[dict], producer: str, traceparent: str | None = None) -> list[dict]:
    """One envelope per payload, raised now by the principal and request in context; ``traceparent``
    (the raising transaction's, when tracing is on) goes with them, else the field is left out."""
    principal = current_principal()
    actor = principal.user_id if principal else None
    correlation_id = current_request_id()
    occurred_at = utcnow().isoformat()
    envs = [{
        "event_id": new_id(),
        "event_type": event.name,
        "schema_version": event.version,
        "occurred_at": occurred_at,
        "producer": producer,
        "actor": actor,
        "correlation_id": correlation_id,
        "payload": payload,
    } for payload in payloads]
    if traceparent:
        for env in envs:
            env["traceparent"] = traceparent
    return envs


def exchange_name(producer: str) -> str:
    """Events leave through nameko's exchange for the producer: ``<producer>.events``."""
    return f"{producer}.events"
