"""The AsyncAPI 3.0 document of every event, built from the event catalogue (``crm_kit.ops.catalogue``).

Same source, so it cannot drift: one channel per event (the producer's topic exchange
``<producer>.events`` and the event's name as routing key, with AMQP 0-9-1 bindings), one message
per channel (the envelope, its payload's JSON Schema as a component, the catalogue's example),
a ``send`` operation for the producer and a ``receive`` operation per consumer (its quorum queue,
with its dead-letter queue). ``python -m crm_kit.ops.catalogue --write`` writes it to
``docs/events/asyncapi.json`` (for readers) and ``gateway/static/asyncapi.json`` (what the gateway
serves at ``/asyncapi.json`` and renders at ``/docs/events``); ``tests/contract/test_asyncapi.py``
checks it with the AsyncAPI project's own parser.
"""
from __future__ import annotations

import copy

from crm_kit.config import REPO_ROOT, SERVICES
from crm_kit.runtime.amqp import DELIVERY_LIMIT, DLQ_SUFFIX

ASYNCAPI_VERSION = "3.0.0"
AMQP_BINDING_VERSION = "0.3.0"
DOC_PATH = REPO_ROOT / "docs" / "events" / "asyncapi.json"
SERVED_PATH = REPO_ROOT / "gateway" / "static" / "asyncapi.json"
CONTENT_TYPE = "application/json"
# The payload schemas are JSON Schema 2020-12 using only keywords draft-07 has (the catalogue's
# tests keep them so): AsyncAPI's own schema format, a superset of draft-07, reads them as they are.
SCHEMA_KEYWORDS_DROPPED = ("$schema",)

DESCRIPTION = """Every event the CRM platform's services publish, generated from the code (the same source
as the event catalogue, `docs/events/catalogue.json`); do not edit.

Each service publishes its events to its own durable **topic exchange** `<producer>.events` with the
event's name as **routing key**, persistent (delivery mode 2) and with publisher confirms, through a
transactional outbox: an event leaves once its change is committed, at least once. Each subscriber binds
its own durable **quorum queue** `evt-<producer>-<event>--<consumer>.<handler>` (delivery limit
%(limit)d, dead-lettered into `<queue>%(dlq)s`), so each subscriber gets every event, and dedupes on the
envelope's `event_id` (the same event may arrive twice; never act on it twice).

Every message is a JSON envelope (`event_id`, `event_type`, `schema_version`, `occurred_at`, `producer`,
`actor`, `correlation_id`, `payload`); the payload's schema is the event's, at its `schema_version`. A
change a subscriber could not read (a field removed, a type changed, a field made required) comes with a
new schema version: the committed snapshots `docs/events/schemas/<producer>.<event>.v<N>.json` are
checked in CI. `correlation_id` is the `X-Request-ID` of the HTTP request that caused the event.
Subscribing step by step: `docs/events/subscribing.md`."""


def _schema(schema: dict) -> dict:
    out = copy.deepcopy(schema)
    for key in SCHEMA_KEYWORDS_DROPPED:
        out.pop(key, None)
    return out


def event_id(entry: dict) -> str:
    """The key of an event's channel, message and payload schema: ``<producer>.<event>``."""
    return f"{entry['producer']}.{entry['name']}"


def _channel(entry: dict) -> dict:
    return {
        "address": entry["routing_key"],
        "title": f"{entry['producer']}: {entry['name']}",
        "summary": entry["description"].split(": ")[0][:200],
        "description": entry["description"],
        "messages": {entry["name"]: {"$ref": f"#/components/messages/{event_id(entry)}"}},
        "servers": [{"$ref": "#/servers/rabbitmq"}],
        "tags": [{"name": entry["producer"]}],
        "bindings": {"amqp": {
            "is": "routingKey",
            "exchange": {"name": entry["exchange"], "type": "topic", "durable": True, "autoDelete": False,
                         "vhost": "/"},
            "bindingVersion": AMQP_BINDING_VERSION}},
    }


def _message(entry: dict) -> dict:
    envelope = _schema(entry["envelope_schema"])
    envelope["properties"]["payload"] = {"$ref": f"#/components/schemas/{event_id(entry)}.v{entry['version']}"}
    return {
        "name": entry["name"],
        "title": f"{entry['name']} v{entry['version']}",
        "summary": f"Published by {entry['producer']} (schema version {entry['version']}).",
        "description": entry["description"],
        "contentType": CONTENT_TYPE,
        "payload": envelope,
        "correlationId": {"description": "The X-Request-ID of the request that caused the event.",
                          "location": "$message.payload#/correlation_id"},
        "tags": [{"name": entry["producer"]}],
        "bindings": {"amqp": {"contentEncoding": "utf-8", "messageType": entry["name"],
                              "bindingVersion": AMQP_BINDING_VERSION}},
        "examples": [{"name": f"{entry['name']}_example", "summary": "The catalogue's example.",
                      "payload": entry["example"]}],
        "x-producer": entry["producer"],
        "x-schema-version": entry["version"],
    }


def _operations(entry: dict) -> dict:
    channel = {"$ref": f"#/channels/{event_id(entry)}"}
    message = [{"$ref": f"#/channels/{event_id(entry)}/messages/{entry['name']}"}]
    ops = {f"{entry['producer']}.publish.{entry['name']}": {
        "action": "send", "channel": channel, "messages": message,
        "title": f"{entry['producer']} publishes {entry['name']}",
        "summary": f"Through {entry['producer']}'s outbox, once the change that raised it is committed.",
        "tags": [{"name": entry["producer"]}],
        "bindings": {"amqp": {"deliveryMode": 2, "mandatory": False, "timestamp": False,
                              "bindingVersion": AMQP_BINDING_VERSION}},
        "x-producer": entry["producer"],
    }}
    for consumer in entry["consumers"]:
        ops[consumer["handler"]] = {
            "action": "receive", "channel": channel, "messages": message,
            "title": f"{consumer['service']} consumes {entry['name']}",
            "summary": f"`{consumer['handler']}` from queue `{consumer['queue']}` "
                       f"(dead letters: `{consumer['queue']}{DLQ_SUFFIX}`).",
            "tags": [{"name": consumer["service"]}],
            "bindings": {"amqp": {"ack": True, "bindingVersion": AMQP_BINDING_VERSION}},
            "x-queue": consumer["queue"],
            "x-dead-letter-queue": consumer["queue"] + DLQ_SUFFIX,
        }
    return ops


def _all_operations(events: list[dict]) -> dict:
    out: dict = {}
    for entry in events:
        for key, op in _operations(entry).items():
            if key in out:  # a handler method consumes one event; a producer publishes an event once
                raise ValueError(f"two operations named {key}")
            out[key] = op
    return out


def build(catalogue: dict) -> dict:
    events = catalogue["events"]
    producers = sorted({e["producer"] for e in events})
    doc = {
        "asyncapi": ASYNCAPI_VERSION,
        "id": "urn:crm-platform:events",
        "info": {
            "title": "CRM platform events",
            "version": "1",
            "description": DESCRIPTION % {"limit": DELIVERY_LIMIT, "dlq": DLQ_SUFFIX},
            "license": {"name": "Apache-2.0", "url": "https://www.apache.org/licenses/LICENSE-2.0"},
            "tags": [{"name": s, "description": f"Events {s} publishes or consumes."}
                     for s in SERVICES if s in producers or any(
                         c["service"] == s for e in events for c in e["consumers"])],
        },
        "defaultContentType": CONTENT_TYPE,
        "servers": {"rabbitmq": {
            "host": "{host}:{port}", "protocol": "amqp", "protocolVersion": "0-9-1",
            "title": "The platform's RabbitMQ",
            "description": "The broker of `AMQP_URI` (default amqp://guest:guest@127.0.0.1:5672/).",
            "variables": {"host": {"default": "127.0.0.1"}, "port": {"default": "5672"}},
        }},
        "channels": {event_id(e): _channel(e) for e in events},
        "operations": _all_operations(events),
        "components": {
            "schemas": {f"{event_id(e)}.v{e['version']}": _schema(e["payload_schema"]) for e in events},
            "messages": {event_id(e): _message(e) for e in events},
        },
    }
    return doc
