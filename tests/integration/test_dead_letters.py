"""A handler that keeps failing ends in its dead-letter queue, the rest flows on,
and an operator can inspect and replay what was parked.

The failing consumer is a real nameko service built on the kit, running in
the test process against the platform's broker; it subscribes to the real
leads service's events. A replay takes at most what its queue held when it started
and says how many went back and how many were parked again.
"""
import json
import subprocess
import sys
import time

import pytest
from kombu import Connection
from nameko.containers import ServiceContainer
from sqlalchemy import Column, String, Table, insert, select
from sqlalchemy.orm import sessionmaker

from crm_kit.config import Settings
from crm_kit.ops.dead_letters import REPLAY_ID_HEADER, REPLAYS_HEADER, all_handler_queues, peek, replay
from crm_kit.records.db import make_base, make_engine
from crm_kit.runtime.amqp import DELIVERY_LIMIT, ConfirmingPublisher, HandlerQueue, event_exchange, queue_depth
from crm_kit.runtime.dependencies import Database
from crm_kit.runtime.entrypoints import event_handler
from crm_kit.runtime.service import CrmService

FlakyBase = make_base()
SEEN = Table("seen", FlakyBase.metadata, Column("event_id", String(36), primary_key=True))
# "fail": True (every event fails), False (none does), or the companies whose leads still fail
BEHAVIOUR = {"fail": True}


def _fails(envelope) -> bool:
    fail = BEHAVIOUR["fail"]
    return fail if isinstance(fail, bool) else envelope["payload"].get("company") in fail


class FlakyConsumer(CrmService):
    name = "flaky_consumer"
    db = Database(FlakyBase)

    @event_handler("leads", "lead_created")
    def on_lead_created(self, envelope):
        with self.db as uow:
            if _fails(envelope):
                raise RuntimeError("downstream system exploded")
            uow.session.execute(insert(SEEN).values(event_id=envelope["event_id"]))
            uow.commit()


DLQ = HandlerQueue("leads", "lead_created", "flaky_consumer", "on_lead_created").dlq_name


@pytest.fixture
def flaky(platform, tmp_path):
    url = f"sqlite:///{tmp_path / 'flaky.db'}"
    engine = make_engine(url)
    FlakyBase.metadata.create_all(engine)
    settings = Settings(service="flaky_consumer", amqp_uri=platform.amqp_uri, database_url=url, log_level="INFO",
                        metrics_port=0, max_workers=4, event_max_attempts=3, event_retry_backoff=0.05,
                        outbox_sweep_interval=0.5, outbox_sweep_min_age=1, rpc_timeout=5)
    container = ServiceContainer(FlakyConsumer, settings.nameko_config())
    BEHAVIOUR["fail"] = True
    container.start()
    try:
        yield sessionmaker(engine)
    finally:
        container.stop()
        with Connection(platform.amqp_uri) as conn, conn.channel() as channel:
            channel.queue_delete(DLQ)
            channel.queue_delete(DLQ[: -len(".dlq")])
        engine.dispose()


def dlq_depth(platform, name=DLQ):
    with Connection(platform.amqp_uri) as conn:
        return queue_depth(conn, name) or 0


def test_failing_handler_parks_after_bounded_retries_and_others_keep_flowing(platform, flaky):
    lead_a = platform.post("/api/v1/leads", json={"name": "Park A", "company": "Poison Pill A"}).json()
    lead_b = platform.post("/api/v1/leads", json={"name": "Park B", "company": "Poison Pill B"}).json()
    platform.eventually(lambda: dlq_depth(platform) == 2)

    with Connection(platform.amqp_uri) as conn:
        parked = peek(conn, DLQ, limit=5)
    assert len(parked) == 2
    for message in parked:
        assert message["x-crm-error"] == "RuntimeError: downstream system exploded"
        assert message["x-crm-attempts"] == 3
        assert message["x-crm-original-queue"] == DLQ[: -len(".dlq")]

    # Everything else still flows: the conversion of the same lead reaches customers.
    assert platform.post(f"/api/v1/leads/{lead_a['id']}/convert", json={}).status_code == 200
    platform.eventually(lambda: platform.get(f"/api/v1/leads/{lead_a['id']}").json()["customer_id"])

    # The operator fixes the cause and replays: both events are applied, exactly once.
    BEHAVIOUR["fail"] = False
    result = replay(DLQ, uri=platform.amqp_uri, wait=2)
    assert (result.depth, result.went_back, result.parked_again) == (2, 2, 0)
    with flaky() as session:
        platform.eventually(lambda: len(session.execute(select(SEEN)).all()) == 2)
    assert dlq_depth(platform) == 0
    assert lead_b["id"]


def test_malformed_event_is_parked_at_once_and_listed_by_the_cli(platform):
    dlq = "evt-leads-lead_converted--customers.handle_lead_converted.dlq"
    before = dlq_depth(platform, dlq)
    publisher = ConfirmingPublisher(platform.amqp_uri)
    try:
        publisher.publish({"event_id": "not-an-envelope"}, exchange=event_exchange("leads"),
                          routing_key="lead_converted", headers={}, message_id="malformed-1")
    finally:
        publisher.close()
    platform.eventually(lambda: dlq_depth(platform, dlq) == before + 1)

    out = subprocess.run([sys.executable, "-m", "crm_kit.ops.cli", "dead-letters", "list", "--json"],
                         env=platform.env, capture_output=True, text=True, timeout=60, check=True).stdout
    row = next(r for r in json.loads(out) if r["queue"] == dlq)
    assert row["messages"] == before + 1
    sample = next(s for s in row["sample"] if s["message_id"] == "malformed-1")
    assert sample["x-crm-error"].startswith("MalformedEvent: invalid envelope")
    assert sample["x-crm-attempts"] == 0


def park_leads(platform, companies) -> list[dict]:
    """Leads whose ``lead_created`` the flaky consumer (failing) parks: the .dlq holds them all."""
    before = dlq_depth(platform)
    leads = [platform.post("/api/v1/leads", json={"name": f"Replay {c}", "company": c}).json() for c in companies]
    platform.eventually(lambda: dlq_depth(platform) == before + len(companies))
    return leads


def test_replay_of_messages_that_fail_again_takes_the_starting_depth_and_ends(platform, flaky):
    park_leads(platform, [f"Still Broken {i}" for i in range(5)])
    started = time.monotonic()
    result = replay(DLQ, uri=platform.amqp_uri, wait=30)
    took = time.monotonic() - started

    # Each went back once and was parked again once: the run never reads its own messages again.
    assert (result.depth, result.went_back, result.parked_again, result.settled) == (5, 5, 5, True)
    assert took < 30, "the run waited out its whole budget although every message was parked again"
    assert dlq_depth(platform) == 5
    with Connection(platform.amqp_uri) as conn:
        parked = _headers(conn, DLQ)
    assert [h[REPLAY_ID_HEADER] for h in parked] == [result.replay_id] * 5
    assert [h[REPLAYS_HEADER] for h in parked] == [1] * 5
    assert all(h["x-crm-error"] == "RuntimeError: downstream system exploded" for h in parked)

    # A second run is a new run: again exactly the five.
    again = replay(DLQ, uri=platform.amqp_uri, wait=30)
    assert (again.went_back, again.parked_again) == (5, 5) and again.replay_id != result.replay_id
    with Connection(platform.amqp_uri) as conn:
        assert [h[REPLAYS_HEADER] for h in _headers(conn, DLQ)] == [2] * 5


def test_replay_reports_which_went_through_and_which_were_parked_again(platform, flaky):
    companies = [f"Mixed {i}" for i in range(4)]
    park_leads(platform, companies)
    BEHAVIOUR["fail"] = set(companies[:2])          # the operator fixed half of the cause

    result = replay(DLQ, uri=platform.amqp_uri, wait=3)

    assert (result.depth, result.went_back, result.parked_again) == (4, 4, 2)
    assert not result.settled
    assert dlq_depth(platform) == 2
    with flaky() as session:
        assert len(session.execute(select(SEEN)).all()) == 2
    with Connection(platform.amqp_uri) as conn:
        assert {h[REPLAY_ID_HEADER] for h in _headers(conn, DLQ)} == {result.replay_id}


def test_replay_limit_takes_only_that_many(platform, flaky):
    park_leads(platform, [f"Limited {i}" for i in range(3)])
    result = replay(DLQ, uri=platform.amqp_uri, limit=2, wait=30)
    assert (result.depth, result.went_back, result.parked_again, result.left_behind) == (3, 2, 2, 1)
    with Connection(platform.amqp_uri) as conn:
        replays = [h.get(REPLAYS_HEADER) for h in _headers(conn, DLQ)]
    assert sorted(replays, key=lambda r: r or 0) == [None, 1, 1]


def test_replay_all_over_several_queues_reports_each(platform):
    """Events no handler can ever take (malformed) park at once in three services' queues;
    ``crm dead-letters replay --all`` sends each back once and says so, queue by queue."""
    seeded = {
        "leads": ("lead_converted", ["evt-leads-lead_converted--customers.handle_lead_converted.dlq",
                                     "evt-leads-lead_converted--sales.handle_lead_converted.dlq"]),
        "customers": ("customer_converted_from_lead",
                      ["evt-customers-customer_converted_from_lead--leads.handle_customer_converted_from_lead.dlq"]),
    }
    queues = [q for _, qs in seeded.values() for q in qs]
    before = {q: dlq_depth(platform, q) for q in queues}
    publisher = ConfirmingPublisher(platform.amqp_uri)
    try:
        for producer, (event_type, _) in seeded.items():
            publisher.publish({"event_id": f"garbage-{producer}"}, exchange=event_exchange(producer),
                              routing_key=event_type, headers={}, message_id=f"garbage-{producer}")
    finally:
        publisher.close()
    platform.eventually(lambda: all(dlq_depth(platform, q) == before[q] + 1 for q in queues))

    started = time.monotonic()
    out = subprocess.run([sys.executable, "-m", "crm_kit.ops.cli", "dead-letters", "replay", "--all", "--json"],
                         env=platform.env, capture_output=True, text=True, timeout=60, check=True).stdout
    assert time.monotonic() - started < 60
    results = {r["queue"]: r for r in json.loads(out)}
    assert set(results) == {spec.dlq_name for spec in all_handler_queues()}
    assert len({r["replay_id"] for r in results.values()}) == 1       # one run
    for queue in queues:
        n = before[queue] + 1
        assert (results[queue]["went_back"], results[queue]["parked_again"]) == (n, n), results[queue]
        assert dlq_depth(platform, queue) == n

    text = subprocess.run([sys.executable, "-m", "crm_kit.ops.cli", "dead-letters", "replay", "--all", "--wait", "10"],
                          env=platform.env, capture_output=True, text=True, timeout=60, check=True).stdout
    for queue in queues:
        n = before[queue] + 1
        assert f"{queue}: {n} went back, {n} parked again" in text.splitlines(), text


def test_handler_queues_are_quorum_with_a_delivery_limit_and_a_classic_dlq(platform, flaky):
    """Read back from RabbitMQ (not just that they exist): every handler queue of the platform
    and of the flaky consumer."""
    listed = subprocess.run(["rabbitmqctl", "-q", "list_queues", "-p", platform.vhost, "name", "type", "arguments",
                             "--formatter", "json"], capture_output=True, text=True, timeout=60, check=True).stdout
    queues = {q["name"]: q for q in json.loads(listed)}
    specs = [s for s in all_handler_queues() if s.consumer in platform.names] + [
        HandlerQueue("leads", "lead_created", "flaky_consumer", "on_lead_created")]
    for spec in specs:
        queue, dlq = queues[spec.name], queues[spec.dlq_name]
        assert _arguments(queue) == {"x-queue-type": "quorum", "x-delivery-limit": DELIVERY_LIMIT,
                                     "x-dead-letter-exchange": "", "x-dead-letter-routing-key": spec.dlq_name}
        assert queue["type"] == "quorum"
        assert _arguments(dlq) == {"x-queue-type": "classic"} and dlq["type"] == "classic"


def _arguments(queue: dict) -> dict:
    # rabbitmqctl lists them as [name, AMQP type, value]
    return {name: value for name, _type, value in queue["arguments"]}


def _headers(conn, queue) -> list[dict]:
    """Every message's headers, the queue left as it was."""
    out = []
    with conn.channel() as channel:
        while True:
            msg = channel.basic_get(queue, no_ack=False)
            if msg is None:
                break
            out.append(dict(msg.properties.get("application_headers", {}) or {}))
    return out
