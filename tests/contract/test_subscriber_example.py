"""docs/events/subscriber_example.py works against a real RabbitMQ.

The example runs as a subprocess (as an external team would run it) in a
fresh virtual host. We publish the catalogue's ``lead_converted`` example the
way the CRM's outbox relay does (``ConfirmingPublisher``, persistent, broker
confirms) twice with the same ``event_id`` -- an at-least-once redelivery --
plus one malformed envelope. The subscriber must print the event exactly
once and park the malformed one in its own dead-letter queue.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from kombu import Connection

from crm_kit.runtime.amqp import ConfirmingPublisher, event_exchange, queue_depth
from tests.integration.harness import RABBIT_HOST, create_vhost, delete_vhost

pytestmark = pytest.mark.contract

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "docs" / "events" / "subscriber_example.py"
CATALOGUE = REPO / "docs" / "events" / "catalogue.json"


def catalogue_example(producer: str, name: str) -> dict:
    events = json.loads(CATALOGUE.read_text())["events"]
    return next(e["example"] for e in events if e["producer"] == producer and e["name"] == name)


def _rabbitmq_available() -> bool:
    try:
        with Connection(f"amqp://guest:guest@{RABBIT_HOST}:5672//", connect_timeout=3) as conn:
            conn.ensure_connection(max_retries=1)
        return True
    except Exception:
        return False


@pytest.fixture
def vhost():
    if not _rabbitmq_available():
        pytest.skip(f"RabbitMQ is not reachable on {RABBIT_HOST}:5672")
    name = create_vhost()
    try:
        yield name
    finally:
        delete_vhost(name)


def test_subscriber_example_prints_each_event_once_and_dead_letters_garbage(vhost, tmp_path):
    amqp_uri = f"amqp://guest:guest@{RABBIT_HOST}:5672/{vhost}"
    event = catalogue_example("leads", "lead_converted")
    env = dict(os.environ, AMQP_URI=amqp_uri, PYTHONUNBUFFERED="1")
    err_path = tmp_path / "subscriber.stderr"
    with open(err_path, "w") as err:
        proc = subprocess.Popen(
            [sys.executable, str(EXAMPLE), "--name", "contract-test", "--max-messages", "3", "--timeout", "20",
             "--state", str(tmp_path / "seen.sqlite")],
            env=env, stdout=subprocess.PIPE, stderr=err, text=True)
    try:
        deadline = time.monotonic() + 20
        while "consuming " not in err_path.read_text() and time.monotonic() < deadline:
            assert proc.poll() is None, err_path.read_text()
            time.sleep(0.05)
        assert "consuming " in err_path.read_text(), "subscriber never bound its queue:\n" + err_path.read_text()
        publisher = ConfirmingPublisher(amqp_uri)
        try:
            for body in (event, event, {**event, "event_id": "broken", "payload": "not an object"}):
                publisher.publish(body, exchange=event_exchange("leads"), routing_key="lead_converted",
                                  headers={}, message_id=body["event_id"])
            # Not bound to other routing keys: this one must never reach the subscriber.
            publisher.publish(catalogue_example("leads", "lead_created"), exchange=event_exchange("leads"),
                              routing_key="lead_created", headers={}, message_id="other")
        finally:
            publisher.close()
        stdout, _ = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    log = err_path.read_text()
    assert proc.returncode == 0, log

    printed = [json.loads(line) for line in stdout.splitlines() if line.strip()]
    assert len(printed) == 1, (printed, log)
    assert printed[0]["event_id"] == event["event_id"]
    assert printed[0]["lead_id"] == event["payload"]["lead_id"]
    assert printed[0]["company"] == event["payload"]["company"]
    assert f"duplicate {event['event_id']}" in log
    assert "rejected delivery" in log and "stopped after 3 deliveries, 1 handled" in log

    with Connection(amqp_uri, connect_timeout=5) as conn:
        assert queue_depth(conn, "ext-contract-test-lead_converted") == 0
        deadline = time.monotonic() + 10  # dead-lettering is asynchronous
        while queue_depth(conn, "ext-contract-test-lead_converted.dlq") != 1 and time.monotonic() < deadline:
            time.sleep(0.1)
        assert queue_depth(conn, "ext-contract-test-lead_converted.dlq") == 1


def test_subscriber_example_validates_envelopes():
    sys.path.insert(0, str(EXAMPLE.parent))
    try:
        import subscriber_example as ex
    finally:
        sys.path.remove(str(EXAMPLE.parent))
    event = catalogue_example("leads", "lead_converted")
    assert ex.validate(json.dumps(event).encode())["event_id"] == event["event_id"]
    # Additive changes are fine: unknown fields are ignored (tolerant reader).
    ex.validate(json.dumps({**event, "new_field": 1, "payload": {**event["payload"], "extra": "x"}}).encode())
    broken = [
        b"not json",
        json.dumps([event]).encode(),
        json.dumps({k: v for k, v in event.items() if k != "event_id"}).encode(),
        json.dumps({**event, "schema_version": 2}).encode(),
        json.dumps({**event, "schema_version": True}).encode(),
        json.dumps({**event, "event_type": "lead_created"}).encode(),
        json.dumps({**event, "payload": {"name": "x"}}).encode(),
    ]
    for body in broken:
        with pytest.raises(ex.InvalidEvent):
            ex.validate(body)
