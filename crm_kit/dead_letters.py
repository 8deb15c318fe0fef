"""Operator tooling for parked messages: ``crm dead-letters list|replay``.

``list`` shows every dead-letter queue of every service with its depth and
the error of the first messages. ``replay`` moves messages from a ``.dlq``
back to the queue of the handler that failed (through the default exchange,
so only that handler sees them again; the others already processed them),
each republished with confirms before it is removed from the ``.dlq``.
"""
from __future__ import annotations

from kombu import Connection

from crm_kit.amqp import DLQ_SUFFIX, ConfirmingPublisher, queue_depth
from crm_kit.config import SERVICES, amqp_uri
from crm_kit.topology import handler_queues, service_class

CRM_HEADERS = ("x-crm-error", "x-crm-attempts", "x-crm-original-queue", "x-crm-handler", "x-crm-failed-at")


def all_handler_queues(services=SERVICES):
    out = []
    for name in services:
        out.extend(handler_queues(service_class(name)))
    return out


def peek(conn: Connection, queue: str, limit: int = 5) -> list[dict]:
    """Look at the first messages without removing them (get, then reject+requeue)."""
    seen = []
    with conn.channel() as channel:
        held = []
        for _ in range(limit):
            msg = channel.basic_get(queue, no_ack=False)
            if msg is None:
                break
            held.append(msg)
            headers = msg.properties.get("application_headers", {}) or {}
            seen.append({
                "message_id": msg.properties.get("message_id"),
                **{k: headers.get(k) for k in CRM_HEADERS if k in headers},
                "x-death": headers.get("x-death"),
            })
        for msg in held:
            channel.basic_reject(msg.delivery_tag, requeue=True)
    return seen


def list_dead_letters(uri: str | None = None, services=SERVICES) -> list[dict]:
    report = []
    with Connection(uri or amqp_uri()) as conn:
        for spec in all_handler_queues(services):
            depth = queue_depth(conn, spec.dlq_name)
            report.append({"queue": spec.dlq_name, "handler": spec.handler, "messages": depth or 0,
                           "sample": peek(conn, spec.dlq_name) if depth else []})
    return report


def replay(dlq: str, uri: str | None = None, limit: int | None = None) -> int:
    """Move up to ``limit`` messages from ``dlq`` back to its original queue."""
    if not dlq.endswith(DLQ_SUFFIX):
        raise SystemExit(f"{dlq} is not a dead-letter queue (must end in {DLQ_SUFFIX})")
    target = dlq[: -len(DLQ_SUFFIX)]
    publisher = ConfirmingPublisher(uri or amqp_uri())
    moved = 0
    try:
        with Connection(uri or amqp_uri()) as conn, conn.channel() as channel:
            while limit is None or moved < limit:
                msg = channel.basic_get(dlq, no_ack=False)
                if msg is None:
                    break
                headers = dict(msg.properties.get("application_headers", {}) or {})
                replays = int(headers.get("x-crm-replays", 0)) + 1
                for key in CRM_HEADERS + ("x-death", "x-first-death-exchange", "x-first-death-queue",
                                          "x-first-death-reason", "x-delivery-count"):
                    headers.pop(key, None)
                headers["x-crm-replays"] = replays
                publisher.publish(_decode(msg), exchange=None, routing_key=target, headers=headers,
                                  message_id=msg.properties.get("message_id"))
                channel.basic_ack(msg.delivery_tag)
                moved += 1
    finally:
        publisher.close()
    return moved


def _decode(msg):
    import json
    body = msg.body
    if isinstance(body, (bytes, bytearray)):
        body = body.decode("utf-8")
    try:
        return json.loads(body)
    except ValueError:
        return body
