"""Messages no handler can take, while real conversions flow.

Undecodable bodies (not JSON, not UTF-8, a content type nobody accepts, binary) and invalid
envelopes (a JSON object that is no envelope; an envelope whose payload is not a lead_converted)
are published on the leads exchange as ``lead_converted``: every handler queue bound to it parks
each of them in its ``.dlq`` with the reason (``x-crm-error``), and the conversions sent at the
same time all get their customer. ``crm dead-letters replay`` of such a queue ends: it moves at
most the depth the queue had when it started, and reports them went back / parked again.
"""
from __future__ import annotations

import json
import subprocess
import sys
import uuid

from kombu import Connection, Producer

from crm_kit.ops.dead_letters import all_handler_queues, peek
from crm_kit.runtime.amqp import event_exchange
from tests.faults.checks import count_creates, count_customers
from tests.faults.load import Stream
from tests.faults.topology import REPO
from tests.integration.harness import eventually

HANDLERS = [spec for spec in all_handler_queues() if (spec.source, spec.event_type) == ("leads", "lead_converted")]
CUSTOMERS_DLQ = next(s.dlq_name for s in HANDLERS if s.consumer == "customers")
# Consumers that read no payload (webhooks forwards the envelope whole, its payload uninterpreted)
# must park what is no envelope; a well-formed envelope with a payload no schema admits they may
# forward or park.
ENVELOPE_ONLY = {"webhooks"}
REPLAY_TIMEOUT = 90


def _bad_messages(tag: str) -> list[tuple[str, bytes, str, str]]:
    """(message id, body, content type, content encoding)"""
    envelope = {"event_id": str(uuid.uuid4()), "event_type": "lead_converted", "schema_version": 1,
                "occurred_at": "2026-01-01T00:00:00+00:00", "producer": "leads", "actor": None,
                "correlation_id": f"fault-{tag}", "payload": {"lead_id": 42}}
    return [
        (f"bad-{tag}-json", b"{not json", "application/json", "utf-8"),
        (f"bad-{tag}-utf8", b'{"event_id": "\xff\xfe"}', "application/json", "utf-8"),
        (f"bad-{tag}-text", b"plain words", "text/plain", "utf-8"),
        (f"bad-{tag}-binary", b"\x00\x01\x02", "application/x-binary", "binary"),
        (f"bad-{tag}-not-envelope", json.dumps({"event_id": "not-an-envelope"}).encode(), "application/json", "utf-8"),
        (f"bad-{tag}-bad-payload", json.dumps(envelope).encode(), "application/json", "utf-8"),
    ]


def _purge(topo, queues) -> None:
    with Connection(topo.servers.rabbit.uri(), connect_timeout=5) as conn, conn.channel() as channel:
        for queue in queues:
            channel.queue_purge(queue)


def test_undecodable_and_invalid_messages_are_parked_the_rest_flows_and_replay_ends(fault):
    topo, ledger = fault.topo, fault.ledger()
    assert len(HANDLERS) >= 2, HANDLERS
    dlqs = [spec.dlq_name for spec in HANDLERS]
    _purge(topo, dlqs)
    bad = _bad_messages(ledger.tag)
    parks = {spec.dlq_name: [m for m, *_ in bad if spec.consumer not in ENVELOPE_ONLY
                             or not m.endswith("-bad-payload")] for spec in HANDLERS}
    stream = Stream(ledger, workers=2, pace=0.05, keyed=1.0, convert=True).start()
    try:
        stream.wait_for(lambda: len(ledger.converts()) >= 3)
        with Connection(topo.servers.rabbit.uri(), connect_timeout=5) as conn:
            producer = Producer(conn.channel())
            for message_id, body, content_type, encoding in bad:
                producer.publish(body, exchange=event_exchange("leads"), routing_key="lead_converted",
                                 content_type=content_type, content_encoding=encoding, message_id=message_id,
                                 delivery_mode=2)
        eventually(lambda: all(topo.dlq_depths().get(q, 0) >= len(parks[q]) for q in dlqs), timeout=60,
                   interval=0.3)
        after = len(ledger.converts())
        stream.wait_for(lambda: len(ledger.converts()) >= after + 5, timeout=30)    # still flowing
    finally:
        stream.stop()
    ledger.settle()

    depths = topo.dlq_depths()
    with Connection(topo.servers.rabbit.uri(), connect_timeout=5) as conn:
        parked = {q: {m["message_id"]: m for m in peek(conn, q, limit=50)} for q in dlqs}
    missing = {q: [m for m in parks[q] if m not in parked[q]] for q in dlqs}
    reasons = {q: {m: parked[q][m].get("x-crm-error", "") for m in parks[q] if m in parked[q]} for q in dlqs}

    converted = [op.name for op in ledger.converts() if op.final.status == 200]
    counts = count_creates(topo, ledger).add(count_customers(topo, converted, timeout=60))

    # the replay of a queue holding only messages no handler can take: ends, moves at most its depth
    start_depth = depths[CUSTOMERS_DLQ]
    env = dict(topo.env, AMQP_URI=topo.servers.rabbit.uri())
    proc = subprocess.run([sys.executable, "-m", "crm_kit.ops.cli", "dead-letters", "replay", CUSTOMERS_DLQ, "--json",
                           "--wait", "20"], env=env, cwd=REPO, capture_output=True, text=True, timeout=REPLAY_TIMEOUT)
    result = json.loads(proc.stdout)[0] if proc.returncode == 0 and proc.stdout.strip() else {}
    end_depth = topo.dlq_depths().get(CUSTOMERS_DLQ, 0)
    fault.record("undecodable and invalid messages (+ replay)", ledger, counts,
                 notes=f"{len(bad)} bad message(s) per queue, parked in {sorted(q for q in dlqs if not missing[q])}; "
                       f"replay of {start_depth}: went back {result.get('went_back')}, parked again "
                       f"{result.get('parked_again')}, {end_depth} in the .dlq after")

    assert not any(missing.values()), f"not parked: {missing}"
    for queue, by_id in reasons.items():            # each with its reason
        for message_id, reason in by_id.items():
            expected = "invalid" if message_id.endswith(("-not-envelope", "-bad-payload")) else "undecodable"
            assert expected in reason, (queue, message_id, reason)
    assert all(len(parks[q]) <= depths[q] <= len(bad) for q in dlqs), {q: depths[q] for q in dlqs}  # no real event
    fault.assert_clean(ledger, counts, allowed=(200, 201))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert result["depth"] == start_depth and result["went_back"] <= start_depth, result
    assert (result["went_back"], result["parked_again"]) == (start_depth, start_depth), result
    assert end_depth == start_depth
    _purge(topo, dlqs)
