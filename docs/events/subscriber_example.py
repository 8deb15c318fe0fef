#!/usr/bin/env python3
"""Subscribe to the CRM's ``lead_converted`` event from your own service (pika).

Runnable as is (``pip install pika``; Python >= 3.9)::

    AMQP_URI=amqp://user:pass@rabbitmq:5672/crm \\
        python docs/events/subscriber_example.py --name billing-sync

It declares *your* durable quorum queue ``ext-<name>-lead_converted`` (with a
dead-letter queue ``ext-<name>-lead_converted.dlq``), binds it to the
producer's topic exchange ``leads.events`` with routing key
``lead_converted``, and consumes with manual acknowledgements:

- a delivery that is not a valid envelope, or has a ``schema_version`` this
  code does not understand, is rejected without requeue -> your ``.dlq``;
- a delivery whose ``event_id`` was seen before is acknowledged and skipped
  (the CRM delivers at least once: redeliveries and republished outbox rows
  happen);
- otherwise it is handled (here: one JSON line on stdout), its ``event_id``
  recorded, and only then acknowledged.

Options: ``--state FILE`` keeps the seen ids in SQLite (default: in memory),
``--max-messages N`` stops after N deliveries, ``--timeout S`` stops after S
seconds without a delivery (both for tests and scripts). Progress goes to
stderr; the line ``consuming <queue>`` means the queue is bound.

See docs/events/subscribing.md for the rules this follows.
"""
from __future__ import annotations

import argparse
import json
import os
import signal
import sqlite3
import sys

import pika

PRODUCER_EXCHANGE = "leads.events"       # <producer>.events, type topic, durable
EVENT_TYPE = "lead_converted"            # = the routing key
SUPPORTED_VERSIONS = {1}                 # schema versions this code understands
DELIVERY_LIMIT = 20                      # crashes before the broker dead-letters a message
PREFETCH = 10

ENVELOPE_FIELDS = {                      # docs/events/catalogue.json -> envelope_schema
    "event_id": (str,),
    "event_type": (str,),
    "schema_version": (int,),
    "occurred_at": (str,),
    "producer": (str,),
    "actor": (str, type(None)),
    "correlation_id": (str, type(None)),
    "payload": (dict,),
}
PAYLOAD_FIELDS = ("lead_id", "name", "company", "converted_at")  # the ones this subscriber reads


class InvalidEvent(Exception):
    pass


def validate(body: bytes) -> dict:
    """The envelope, or InvalidEvent. Unknown extra fields are fine (tolerant reader)."""
    try:
        event = json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise InvalidEvent(f"not JSON: {exc}") from None
    if not isinstance(event, dict):
        raise InvalidEvent("envelope is not an object")
    for field, types in ENVELOPE_FIELDS.items():
        if field not in event:
            raise InvalidEvent(f"envelope field {field!r} is missing")
        if not isinstance(event[field], types) or isinstance(event[field], bool):
            raise InvalidEvent(f"envelope field {field!r} has the wrong type")
    if event["event_type"] != EVENT_TYPE:
        raise InvalidEvent(f"event_type {event['event_type']!r} on a {EVENT_TYPE!r} queue")
    if event["schema_version"] not in SUPPORTED_VERSIONS:
        raise InvalidEvent(f"schema_version {event['schema_version']} is not supported "
                           f"(this subscriber knows {sorted(SUPPORTED_VERSIONS)})")
    missing = [f for f in PAYLOAD_FIELDS if f not in event["payload"]]
    if missing:
        raise InvalidEvent(f"payload fields missing: {missing}")
    return event


class SeenEvents:
    """Event ids already handled. In production keep them in *your* database and
    insert the id in the same transaction as the effect of the event."""

    def __init__(self, path: str = ":memory:"):
        self.db = sqlite3.connect(path)
        self.db.execute("CREATE TABLE IF NOT EXISTS processed_events ("
                        " event_id TEXT PRIMARY KEY, processed_at TEXT DEFAULT CURRENT_TIMESTAMP)")
        self.db.commit()

    def claim(self, event_id: str) -> bool:
        """Record the id (uncommitted); False if it was handled before."""
        cur = self.db.execute("INSERT OR IGNORE INTO processed_events (event_id) VALUES (?)", (event_id,))
        return cur.rowcount == 1

    def commit(self) -> None:
        self.db.commit()

    def rollback(self) -> None:
        self.db.rollback()


def handle(event: dict) -> None:
    """Your business logic. Here: one JSON line per new event."""
    payload = event["payload"]
    print(json.dumps({
        "event_id": event["event_id"], "event_type": event["event_type"],
        "schema_version": event["schema_version"], "occurred_at": event["occurred_at"],
        "correlation_id": event["correlation_id"], "lead_id": payload["lead_id"],
        "name": payload["name"], "company": payload["company"], "converted_at": payload["converted_at"],
    }, ensure_ascii=False), flush=True)


def declare(channel, name: str) -> str:
    queue = f"ext-{name}-{EVENT_TYPE}"
    dlq = queue + ".dlq"
    # Same declaration as the producer's; harmless if it exists, lets you bind before it first publishes.
    channel.exchange_declare(PRODUCER_EXCHANGE, exchange_type="topic", durable=True)
    channel.queue_declare(dlq, durable=True, arguments={"x-queue-type": "classic"})
    channel.queue_declare(queue, durable=True, arguments={
        "x-queue-type": "quorum",                 # replicated, survives a broker node loss
        "x-delivery-limit": DELIVERY_LIMIT,       # poison messages do not loop forever
        "x-dead-letter-exchange": "",             # rejected / over the limit -> <queue>.dlq
        "x-dead-letter-routing-key": dlq,
    })
    channel.queue_bind(queue, PRODUCER_EXCHANGE, routing_key=EVENT_TYPE)
    return queue


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def run(amqp_uri: str, name: str, state: str, max_messages: int | None, timeout: float | None) -> int:
    seen = SeenEvents(state)
    params = pika.URLParameters(amqp_uri)
    params.heartbeat = params.heartbeat or 30
    connection = pika.BlockingConnection(params)
    channel = connection.channel()
    channel.basic_qos(prefetch_count=PREFETCH)
    queue = declare(channel, name)
    log(f"consuming {queue} (bound to {PRODUCER_EXCHANGE} / {EVENT_TYPE})")
    deliveries = handled = 0
    try:
        for method, properties, body in channel.consume(queue, auto_ack=False, inactivity_timeout=timeout):
            if method is None:  # inactivity_timeout passed without a delivery
                log(f"no delivery for {timeout}s, stopping")
                break
            deliveries += 1
            try:
                event = validate(body)
            except InvalidEvent as exc:
                log(f"rejected delivery {method.delivery_tag} to the dead-letter queue: {exc}")
                channel.basic_nack(method.delivery_tag, requeue=False)
            else:
                if not seen.claim(event["event_id"]):
                    log(f"duplicate {event['event_id']}: already handled, acknowledged")
                    channel.basic_ack(method.delivery_tag)
                else:
                    try:
                        handle(event)
                        seen.commit()
                    except Exception as exc:  # a bug or an outage on our side: try again later
                        seen.rollback()
                        log(f"handling {event['event_id']} failed, requeued: {exc!r}")
                        channel.basic_nack(method.delivery_tag, requeue=True)
                    else:
                        handled += 1
                        channel.basic_ack(method.delivery_tag)   # only after the effect is committed
            if max_messages is not None and deliveries >= max_messages:
                break
    except KeyboardInterrupt:
        pass
    finally:
        try:
            channel.cancel()   # unacknowledged deliveries go back to the queue
            connection.close()
        except Exception:
            pass
    log(f"stopped after {deliveries} deliveries, {handled} handled")
    return 0


def _stop(signum, frame):
    raise KeyboardInterrupt


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--name", default="example", help="your service name (queue ext-<name>-lead_converted)")
    parser.add_argument("--amqp-uri", default=os.environ.get("AMQP_URI", "amqp://guest:guest@127.0.0.1:5672/"))
    parser.add_argument("--state", default=":memory:", help="SQLite file for seen event ids")
    parser.add_argument("--max-messages", type=int, default=None, help="stop after N deliveries")
    parser.add_argument("--timeout", type=float, default=None, help="stop after S seconds without a delivery")
    args = parser.parse_args(argv)
    signal.signal(signal.SIGTERM, _stop)   # stop like Ctrl-C (e.g. a Kubernetes pod shutdown)
    return run(args.amqp_uri, args.name, args.state, args.max_messages, args.timeout)


if __name__ == "__main__":
    sys.exit(main())
