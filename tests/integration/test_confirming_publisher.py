"""ConfirmingPublisher against the real broker: a batch is confirmed as a whole, arrives
whole and in order, and reads as the per-message path writes it (any kombu or pika consumer)."""
from __future__ import annotations

from urllib.parse import quote

import pytest
from kombu import Connection, Queue

from crm_kit.runtime.amqp import ConfirmingPublisher, event_exchange
from tests.integration.harness import RABBIT_HOST, create_vhost, delete_vhost


@pytest.fixture
def amqp_uri():
    vhost = create_vhost()
    try:
        yield f"amqp://guest:guest@{RABBIT_HOST}:5672/{quote(vhost, safe='')}"
    finally:
        delete_vhost(vhost)


def _drain(uri: str, queue: Queue, expected: int) -> list:
    got = []
    with Connection(uri) as conn:
        with conn.SimpleQueue(queue) as q:
            while len(got) < expected:
                message = q.get(timeout=5)
                got.append(message)
                message.ack()
    return got


def test_publish_many_confirms_delivers_in_order_and_matches_publish(amqp_uri):
    exchange = event_exchange("batchtest")
    queue = Queue("batchtest-all", exchange=exchange, routing_key="#", durable=True)
    with Connection(amqp_uri) as conn:
        queue(conn.default_channel).declare()
    publisher = ConfirmingPublisher(amqp_uri)
    try:
        publisher.publish({"n": 0}, exchange=exchange, routing_key="thing_made",
                          headers={"nameko.request_id": "r-0"}, message_id="m-0")
        batch = [{"body": {"n": i, "text": "Grüße"}, "exchange": exchange, "routing_key": "thing_made",
                  "headers": {"nameko.request_id": f"r-{i}"}, "message_id": f"m-{i}"} for i in range(1, 301)]
        assert publisher.publish_many(batch) == (300, None)
        assert publisher.publish_many(batch[:3]) == (3, None)      # tags keep counting on the channel
        publisher.publish({"n": 999}, exchange=exchange, routing_key="thing_made", headers={}, message_id="m-999")
    finally:
        publisher.close()
    got = _drain(amqp_uri, queue, 305)
    assert [m.payload["n"] for m in got] == [0] + list(range(1, 301)) + [1, 2, 3] + [999]
    single, batched = got[0], got[1]
    assert batched.payload == {"n": 1, "text": "Grüße"}
    for m in (single, batched):
        assert m.content_type == "application/json"
        assert m.properties["delivery_mode"] == 2
        assert m.properties["message_id"].startswith("m-")
        assert m.headers["nameko.request_id"].startswith("r-")


def test_publish_many_reports_what_was_not_confirmed_when_the_broker_is_gone(amqp_uri):
    publisher = ConfirmingPublisher(amqp_uri.rsplit("/", 1)[0] + "/no-such-vhost")
    count, error = publisher.publish_many([{"body": {}, "exchange": event_exchange("x"), "routing_key": "k",
                                            "headers": {}, "message_id": "m"}])
    assert count == 0 and error is not None
