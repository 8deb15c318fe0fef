"""A handler that keeps failing ends in its dead-letter queue, the rest flows on,
and an operator can inspect and replay what was parked.

The failing consumer is a real nameko service built on the kit, running in
the test process against the platform's broker; it subscribes to the real
leads service's events.
"""
import json
import subprocess
import sys

import pytest
from kombu import Connection
from nameko.containers import ServiceContainer
from sqlalchemy import Column, String, Table, insert, select
from sqlalchemy.orm import sessionmaker

from crm_kit.amqp import ConfirmingPublisher, HandlerQueue, event_exchange, queue_depth
from crm_kit.config import Settings
from crm_kit.db import make_base, make_engine
from crm_kit.dead_letters import peek, replay
from crm_kit.dependencies import Database
from crm_kit.entrypoints import event_handler
from crm_kit.service import CrmService

FlakyBase = make_base()
SEEN = Table("seen", FlakyBase.metadata, Column("event_id", String(36), primary_key=True))
BEHAVIOUR = {"fail": True}


class FlakyConsumer(CrmService):
    name = "flaky_consumer"
    db = Database(FlakyBase)

    @event_handler("leads", "lead_created")
    def on_lead_created(self, envelope):
        with self.db as uow:
            if BEHAVIOUR["fail"]:
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
    assert replay(DLQ, uri=platform.amqp_uri) == 2
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

    out = subprocess.run([sys.executable, "-m", "crm_kit.cli", "dead-letters", "list", "--json"],
                         env=platform.env, capture_output=True, text=True, timeout=60, check=True).stdout
    row = next(r for r in json.loads(out) if r["queue"] == dlq)
    assert row["messages"] == before + 1
    sample = next(s for s in row["sample"] if s["message_id"] == "malformed-1")
    assert sample["x-crm-error"].startswith("MalformedEvent: invalid envelope")
    assert sample["x-crm-attempts"] == 0
