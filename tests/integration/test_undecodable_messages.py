"""A message nobody can decode is parked as it came, never dropped; the service goes on.

kombu's default for a body it cannot decode is to raise in the consuming thread (or, configured
otherwise, to acknowledge and drop it). The kit's consumer parks such a message in its handler's
``.dlq`` with its bytes, its content type and the reason, so an operator sees it; an RPC request
that cannot be decoded is answered with a typed error at once. Everything else keeps flowing.
"""
from __future__ import annotations

import time
import uuid

from kombu import Connection, Exchange, Producer

from crm_kit.ops.dead_letters import peek
from crm_kit.runtime.amqp import event_exchange, queue_depth

QUEUE = "evt-leads-lead_converted--customers.handle_lead_converted"
DLQ = QUEUE + ".dlq"

UNDECODABLE = [
    (b"{not json", "application/json", "utf-8"),
    (b'{"event_id": "\xff\xfe"}', "application/json", "utf-8"),       # not UTF-8
    (b"plain words", "text/plain", "utf-8"),                           # a content type nobody accepts
    (b"\x00\x01\x02", "application/x-binary", "binary"),
]


def _depth(platform, name=DLQ) -> int:
    with Connection(platform.amqp_uri) as conn:
        return queue_depth(conn, name) or 0


def _publish_raw(platform, body: bytes, content_type: str, encoding: str, message_id: str) -> None:
    with Connection(platform.amqp_uri) as conn:
        producer = Producer(conn.channel())
        producer.publish(body, exchange=event_exchange("leads"), routing_key="lead_converted",
                         content_type=content_type, content_encoding=encoding, message_id=message_id,
                         delivery_mode=2)


def _parked(platform, message_id: str) -> dict | None:
    with Connection(platform.amqp_uri) as conn:
        return next((m for m in peek(conn, DLQ, limit=50) if m["message_id"] == message_id), None)


def test_undecodable_event_messages_are_parked_with_the_reason_and_the_rest_flows(platform):
    before = _depth(platform)
    ids = []
    for body, content_type, encoding in UNDECODABLE:
        message_id = f"undecodable-{uuid.uuid4()}"
        _publish_raw(platform, body, content_type, encoding, message_id)
        ids.append(message_id)
    platform.eventually(lambda: _depth(platform) == before + len(UNDECODABLE), timeout=30)
    for message_id, (body, content_type, _) in zip(ids, UNDECODABLE):
        parked = _parked(platform, message_id)
        assert parked is not None, message_id
        assert parked["x-crm-error"].startswith("MalformedEvent: undecodable message")
        assert parked["x-crm-attempts"] == 0 and parked["x-crm-original-queue"] == QUEUE
    # parked as it came: the bytes and the content type
    with Connection(platform.amqp_uri) as conn, conn.channel() as channel:
        seen = {}
        held = []
        while True:
            msg = channel.basic_get(DLQ, no_ack=False)
            if msg is None:
                break
            held.append(msg)
            raw = msg.body if isinstance(msg.body, (bytes, bytearray)) else msg.body.encode("utf-8")  # py-amqp decodes
            seen[msg.properties.get("message_id")] = (bytes(raw), msg.properties.get("content_type"))
        for msg in held:
            channel.basic_reject(msg.delivery_tag, requeue=True)
    for message_id, (body, content_type, _) in zip(ids, UNDECODABLE):
        assert seen[message_id] == (body, content_type)

    # the consumer is alive: a real conversion still gets its customer
    lead = platform.post("/api/v1/leads", json={"name": "After junk", "company": "Still Flowing"}).json()
    assert platform.post(f"/api/v1/leads/{lead['id']}/convert", json={}).status_code == 200
    platform.eventually(lambda: platform.get(f"/api/v1/leads/{lead['id']}").json()["customer_id"], timeout=30)


def test_an_undecodable_rpc_request_is_answered_with_an_error_and_the_service_goes_on(platform):
    with Connection(platform.amqp_uri) as conn:
        channel = conn.channel()
        reply_queue = f"test-replies-{uuid.uuid4().hex[:8]}"
        channel.queue_declare(queue=reply_queue, exclusive=True, auto_delete=True)
        channel.queue_bind(reply_queue, "nameko-rpc", routing_key=reply_queue)   # as nameko's reply queues
        correlation_id = str(uuid.uuid4())
        Producer(channel).publish(b"\xff not json", exchange=Exchange("nameko-rpc", type="topic", durable=True),
                                  routing_key="leads.get_lead", content_type="application/json",
                                  content_encoding="utf-8", reply_to=reply_queue, correlation_id=correlation_id)
        reply = None
        for _ in range(100):
            reply = channel.basic_get(reply_queue, no_ack=True)
            if reply is not None:
                break
            time.sleep(0.1)
        assert reply is not None, "no reply to an undecodable request"
        assert reply.properties["correlation_id"] == correlation_id
        assert "BadRequest" in (reply.body if isinstance(reply.body, str) else reply.body.decode())
    assert platform.get("/api/v1/leads").status_code == 200


def test_an_event_whose_payload_the_handler_refuses_is_parked_at_once(platform):
    """The handler declares the payload it consumes (``@event_handler(..., payload=LeadConverted)``):
    one without the fields it relies on is parked before any work, with the reason."""
    before = _depth(platform)
    message_id = f"bad-payload-{uuid.uuid4()}"
    envelope = {"event_id": str(uuid.uuid4()), "event_type": "lead_converted", "schema_version": 1,
                "occurred_at": "2026-12-01T00:00:00+00:00", "producer": "leads", "actor": None,
                "correlation_id": None, "payload": {"lead_id": 5}}
    with Connection(platform.amqp_uri) as conn:
        Producer(conn.channel()).publish(envelope, exchange=event_exchange("leads"), routing_key="lead_converted",
                                         serializer="json", message_id=message_id, delivery_mode=2)
    platform.eventually(lambda: _depth(platform) == before + 1, timeout=30)
    parked = _parked(platform, message_id)
    assert parked["x-crm-error"].startswith("MalformedEvent: invalid payload")
    assert "name" in parked["x-crm-error"] and parked["x-crm-attempts"] == 0
