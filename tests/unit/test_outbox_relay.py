"""OutboxRelay logic with a fake publisher (the real-broker path is in tests/integration)."""
from __future__ import annotations

import datetime as dt

import pytest
from marshmallow import Schema, fields
from prometheus_client import REGISTRY
from sqlalchemy import update

from crm_kit.context import request_id_var
from crm_kit.records.db import make_base, utcnow
from crm_kit.runtime.events import EventType
from crm_kit.runtime.outbox import KEEP_PUBLISHED, OutboxRelay

Base = make_base()


class Payload(Schema):
    n = fields.Integer(required=True)


PING = EventType("ping_happened", Payload)
PONG = EventType("pong_happened", Payload)

SERVICE = "relaytest"


class FakePublisher:
    """Records publishes; ``fail_on`` = set of call numbers (1-based) that raise."""

    def __init__(self, fail_on=(), fail_all=False):
        self.calls: list[dict] = []
        self.attempts = 0
        self.fail_on = set(fail_on)
        self.fail_all = fail_all

    def publish(self, body, *, exchange, routing_key, headers, message_id=None):
        self.attempts += 1
        if self.fail_all or self.attempts in self.fail_on:
            raise ConnectionError("broker unreachable")
        self.calls.append({"body": body, "exchange": exchange, "routing_key": routing_key,
                           "headers": headers, "message_id": message_id})


@pytest.fixture
def db(make_db):
    return make_db(Base, SERVICE)


def relay_for(db, publisher, min_age=5.0):
    return OutboxRelay(SERVICE, db.session_factory, db.metadata, publisher, min_age=min_age)


def emit(db, *numbers, event=PING) -> list[str]:
    ids = []
    for n in numbers:
        with db.uow() as uow:
            ids.append(uow.emit(event, {"n": n})["event_id"])
            uow.commit()
    return ids


def rows_by_id(db):
    return {r.id: r for r in db.outbox()}


def age_rows(db, seconds):
    t = db.metadata.tables["outbox"]
    with db.session() as s:
        s.execute(update(t).values(created_at=utcnow() - dt.timedelta(seconds=seconds)))
        s.commit()


def test_publish_ids_publishes_and_marks_only_those(db):
    request_id_var.set("req-7")
    a, b, c = emit(db, 1, 2, 3)
    pub = FakePublisher()
    assert relay_for(db, pub).publish_ids([a, c]) == 2

    assert [call["message_id"] for call in pub.calls] == [a, c]
    rows = rows_by_id(db)
    assert rows[a].published_at is not None and rows[c].published_at is not None
    assert rows[b].published_at is None and rows[b].attempts == 0
    assert rows[a].attempts == 1 and rows[a].last_error is None

    call = pub.calls[0]
    assert call["routing_key"] == "ping_happened"
    assert call["exchange"].name == f"{SERVICE}.events" and call["exchange"].type == "topic"
    assert call["body"] == rows[a].body and call["body"]["payload"] == {"n": 1}
    assert call["headers"] == {"nameko.request_id": "req-7"}


def test_publish_ids_uses_event_type_as_routing_key(db):
    (a,) = emit(db, 1, event=PONG)
    pub = FakePublisher()
    relay_for(db, pub).publish_ids([a])
    assert pub.calls[0]["routing_key"] == "pong_happened"


def test_already_published_rows_are_not_published_again(db):
    (a,) = emit(db, 1)
    pub = FakePublisher()
    relay = relay_for(db, pub)
    assert relay.publish_ids([a]) == 1
    first = rows_by_id(db)[a].published_at
    assert relay.publish_ids([a]) == 0
    assert relay.sweep(as_of=utcnow() + dt.timedelta(hours=1)) == 0
    assert len(pub.calls) == 1
    assert rows_by_id(db)[a].published_at == first


def test_publish_nothing(db):
    pub = FakePublisher()
    assert relay_for(db, pub).publish_ids([]) == 0
    assert relay_for(db, pub).publish_ids(["unknown-id"]) == 0
    assert pub.attempts == 0


def test_rows_go_out_in_commit_order(db):
    ids = emit(db, 1, 2, 3, 4)
    pub = FakePublisher()
    relay_for(db, pub).publish_ids(list(reversed(ids)))
    assert [c["message_id"] for c in pub.calls] == ids


def test_failing_publisher_leaves_row_unpublished_and_stops_batch(db):
    a, b, c = emit(db, 1, 2, 3)
    pub = FakePublisher(fail_on={2})
    assert relay_for(db, pub).publish_ids([a, b, c]) == 1
    assert pub.attempts == 2                        # c was not even tried
    rows = rows_by_id(db)
    assert rows[a].published_at is not None
    assert rows[b].published_at is None
    assert rows[b].attempts == 1
    assert "ConnectionError" in rows[b].last_error and "broker unreachable" in rows[b].last_error
    assert rows[c].published_at is None and rows[c].attempts == 0 and rows[c].last_error is None


def test_outage_then_recovery_via_sweep(db):
    failures_before = REGISTRY.get_sample_value("crm_outbox_publish_failures_total", {"service": SERVICE}) or 0
    ids = emit(db, 1, 2)
    down = FakePublisher(fail_all=True)
    relay = relay_for(db, down)
    assert relay.publish_ids(ids) == 0
    assert relay.publish_ids(ids) == 0
    rows = rows_by_id(db)
    assert rows[ids[0]].attempts == 2 and rows[ids[1]].attempts == 0
    assert REGISTRY.get_sample_value("crm_outbox_publish_failures_total", {"service": SERVICE}) \
        == failures_before + 2

    up = FakePublisher()
    relay.publisher = up
    assert relay.sweep(as_of=utcnow() + dt.timedelta(seconds=60)) == 2
    rows = rows_by_id(db)
    assert all(r.published_at is not None and r.last_error is None for r in rows.values())
    assert rows[ids[0]].attempts == 3 and rows[ids[1]].attempts == 1
    assert [c["message_id"] for c in up.calls] == ids


def test_sweep_only_takes_rows_older_than_min_age(db):
    old = emit(db, 1, 2)
    age_rows(db, 60)
    fresh = emit(db, 3)
    pub = FakePublisher()
    relay = relay_for(db, pub, min_age=5.0)
    assert relay.sweep() == 2
    assert [c["message_id"] for c in pub.calls] == old
    rows = rows_by_id(db)
    assert rows[fresh[0]].published_at is None
    # Once it is old enough, the sweep picks it up.
    assert relay.sweep(as_of=utcnow() + dt.timedelta(seconds=6)) == 1
    assert rows_by_id(db)[fresh[0]].published_at is not None


def test_sweep_respects_min_age_boundary(db):
    emit(db, 1)
    relay = relay_for(db, FakePublisher(), min_age=30.0)
    assert relay.sweep(as_of=utcnow() + dt.timedelta(seconds=20)) == 0
    assert relay.sweep(as_of=utcnow() + dt.timedelta(seconds=31)) == 1


def test_refresh_gauges_returns_pending_count(db):
    a, b, c = emit(db, 1, 2, 3)
    relay = relay_for(db, FakePublisher())
    assert relay.refresh_gauges() == 3
    assert REGISTRY.get_sample_value("crm_outbox_pending", {"service": SERVICE}) == 3
    relay.publish_ids([a])
    assert relay.refresh_gauges() == 2
    assert REGISTRY.get_sample_value("crm_outbox_pending", {"service": SERVICE}) == 2
    age = REGISTRY.get_sample_value("crm_outbox_oldest_pending_age_seconds", {"service": SERVICE})
    assert 0 <= age < 60


def test_refresh_gauges_reports_oldest_age(db):
    emit(db, 1)
    age_rows(db, 120)
    relay_for(db, FakePublisher()).refresh_gauges()
    age = REGISTRY.get_sample_value("crm_outbox_oldest_pending_age_seconds", {"service": SERVICE})
    assert 119 <= age < 180


def test_refresh_gauges_on_empty_outbox(db):
    assert relay_for(db, FakePublisher()).refresh_gauges() == 0
    assert REGISTRY.get_sample_value("crm_outbox_oldest_pending_age_seconds", {"service": SERVICE}) == 0


def test_published_rows_are_pruned_after_retention(db):
    a, b = emit(db, 1, 2)
    relay = relay_for(db, FakePublisher())
    relay.publish_ids([a, b])
    t = db.metadata.tables["outbox"]
    with db.session() as s:
        s.execute(update(t).where(t.c.id == a).values(
            published_at=utcnow() - KEEP_PUBLISHED - dt.timedelta(hours=1)))
        s.commit()
    relay.refresh_gauges()
    assert set(rows_by_id(db)) == {b}


def test_sweep_refreshes_gauges(db):
    emit(db, 1, 2)
    relay = relay_for(db, FakePublisher(fail_all=True))
    relay.sweep(as_of=utcnow() + dt.timedelta(seconds=60))
    assert REGISTRY.get_sample_value("crm_outbox_pending", {"service": SERVICE}) == 2


def test_published_counter(db):
    before = REGISTRY.get_sample_value("crm_events_published_total",
                                       {"service": SERVICE, "event_type": "pong_happened"}) or 0
    ids = emit(db, 1, 2, event=PONG)
    relay_for(db, FakePublisher()).publish_ids(ids)
    assert REGISTRY.get_sample_value("crm_events_published_total",
                                     {"service": SERVICE, "event_type": "pong_happened"}) == before + 2


# -- the fast path's deferred marking --------------------------------------------------------
def _committed_rows(db, *numbers) -> list[dict]:
    """What on_commit hands the relay: the committed outbox rows."""
    rows = []
    for n in numbers:
        with db.uow(on_commit=rows.extend) as uow:
            uow.emit(PING, {"n": n})
            uow.commit()
    return rows


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_deferred_marks_publish_now_and_mark_in_one_flush(make_db, backend, monkeypatch):
    import crm_kit.runtime.outbox as outbox
    db = make_db(Base, SERVICE, backend=backend)    # the UPDATE differs (one array parameter on PostgreSQL)
    pub = FakePublisher()
    relay = relay_for(db, pub)
    rows = _committed_rows(db, 1, 2, 3)
    assert relay.publish_committed(rows[:2], defer_mark=True) == 2
    assert relay.publish_committed(rows[2:], defer_mark=True) == 1
    assert len(pub.calls) == 3                                    # published at once
    assert all(r.published_at is None for r in db.outbox())      # not marked yet
    assert relay.unmarked == 3 and not relay.marks_due()          # (MARK_DELAY not over)
    monkeypatch.setattr(outbox, "MARK_DELAY", 0.0)
    assert relay.marks_due()
    assert relay.flush_marks() == 3
    assert relay.unmarked == 0
    assert relay.flush_marks() == 0                               # nothing to mark (a loop stopping)
    assert all(r.published_at is not None and r.attempts == 1 for r in db.outbox())
    age_rows(db, 60)
    assert relay.sweep() == 0 and len(pub.calls) == 3             # nothing published twice


def test_rows_published_but_never_marked_are_published_again_by_the_sweep(db):
    """The process died between publishing and marking: at-least-once, never lost."""
    pub = FakePublisher()
    rows = _committed_rows(db, 1, 2)
    relay_for(db, pub).publish_committed(rows, defer_mark=True)   # this relay dies unmarked
    successor = relay_for(db, pub)
    age_rows(db, 60)
    assert successor.sweep() == 2
    assert [c["message_id"] for c in pub.calls] == [r["id"] for r in rows] * 2
    assert all(r.published_at is not None for r in db.outbox())


def test_a_failed_flush_keeps_the_marks_for_the_next_one(db, monkeypatch):
    pub = FakePublisher()
    relay = relay_for(db, pub)
    relay.publish_committed(_committed_rows(db, 1), defer_mark=True)
    real_factory = relay.session_factory

    def broken():
        raise ConnectionError("database unreachable")

    relay.session_factory = broken
    with pytest.raises(ConnectionError):
        relay.flush_marks()
    assert relay.unmarked == 1
    relay.session_factory = real_factory
    assert relay.flush_marks() == 1
    assert all(r.published_at is not None for r in db.outbox())


def test_a_failed_publish_with_deferred_marks_records_the_error_now(db):
    pub = FakePublisher(fail_on={2})
    relay = relay_for(db, pub)
    rows = _committed_rows(db, 1, 2, 3)
    assert relay.publish_committed(rows, defer_mark=True) == 1
    by_id = rows_by_id(db)
    assert by_id[rows[1]["id"]].last_error and by_id[rows[1]["id"]].attempts == 1
    assert by_id[rows[2]["id"]].published_at is None and relay.unmarked == 1


class FakeBatchPublisher(FakePublisher):
    """``publish_many`` as ConfirmingPublisher answers it: (confirmed prefix, error)."""

    def __init__(self, confirm_first=None):
        super().__init__()
        self.confirm_first = confirm_first
        self.batches: list[int] = []

    def publish_many(self, messages):
        self.batches.append(len(messages))
        count = len(messages) if self.confirm_first is None else min(self.confirm_first, len(messages))
        for m in messages[:count]:
            self.calls.append(dict(m))
        return count, (None if count == len(messages) else ConnectionError("nack"))


def test_a_batch_publisher_gets_the_whole_batch_and_only_its_confirmed_prefix_is_marked(db):
    pub = FakeBatchPublisher(confirm_first=2)
    relay = relay_for(db, pub)
    rows = _committed_rows(db, 1, 2, 3, 4)
    assert relay.publish_committed(rows) == 2
    assert pub.batches == [4]
    by_id = rows_by_id(db)
    assert [by_id[r["id"]].published_at is not None for r in rows] == [True, True, False, False]
    assert by_id[rows[2]["id"]].last_error and by_id[rows[2]["id"]].attempts == 1
    assert by_id[rows[3]["id"]].last_error is None
    pub.confirm_first = None
    age_rows(db, 60)
    assert relay.sweep() == 2                                   # the rest, in order
    assert [c["message_id"] for c in pub.calls] == [r["id"] for r in rows]


def test_a_batch_confirmed_whole_with_an_error_after_it_is_marked_whole(db):
    """publish_many may report an error that came after every confirm (e.g. closing): all
    confirmed rows are marked, none is recorded as failed."""
    class ConfirmedThenBroken(FakeBatchPublisher):
        def publish_many(self, messages):
            count, _ = super().publish_many(messages)
            return count, ConnectionError("connection closed after the confirms")

    relay = relay_for(db, ConfirmedThenBroken())
    rows = _committed_rows(db, 1, 2)
    assert relay.publish_committed(rows) == 2
    assert all(r.published_at is not None and r.last_error is None for r in db.outbox())


# -- the service's loop: rows handed over by commits -----------------------------------------------
def _hand_over_on_commit(db, relay, queue):
    from functools import partial
    return db.uow(on_commit=partial(relay.hand_over, queue=queue))


def test_rows_handed_over_are_left_to_the_queue_not_swept_twice(db):
    """A relay behind by more than min_age: its sweep must not publish the rows still waiting in
    its queue (they would go out twice); a failed publish gives them back to the sweep."""
    import queue as queues
    handed = queues.Queue()
    pub = FakePublisher(fail_on={2})
    relay = relay_for(db, pub, min_age=0.0)
    for n in (1, 2, 3):
        with _hand_over_on_commit(db, relay, handed) as uow:
            uow.emit(PING, {"n": n})
            uow.commit()
    later = utcnow() + dt.timedelta(hours=1)
    assert relay.sweep(as_of=later) == 0 and pub.attempts == 0     # all three are queued here

    rows = []
    while not handed.empty():
        rows += handed.get_nowait()
    assert relay.publish_committed(rows) == 1                      # the second one fails: 2 and 3 are released
    assert relay.sweep(as_of=later) == 2                           # ... and now the sweep's
    assert [c["body"]["payload"]["n"] for c in pub.calls] == [1, 2, 3]
    assert all(r.published_at is not None for r in db.outbox())


def _run_relay(db, relay, *numbers) -> None:
    """Commit one PING per number, each handed over to ``relay.run`` (in a thread, as the service's
    loop), and let the loop go until every outbox row is published (10 s at most)."""
    import threading
    import time

    from eventlet.queue import LightQueue
    handed, running = LightQueue(), [True]
    for n in numbers:
        with _hand_over_on_commit(db, relay, handed) as uow:
            uow.emit(PING, {"n": n})
            uow.commit()
    loop = threading.Thread(target=relay.run, args=(handed, 0.05, lambda: running[0]), daemon=True)
    loop.start()
    try:
        deadline = time.monotonic() + 10
        while any(r.published_at is None for r in db.outbox()) and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        running[0] = False
        handed.put(None)
        loop.join(10)


def test_run_publishes_each_handed_row_once_and_marks_it(db):
    pub = FakePublisher()
    _run_relay(db, relay_for(db, pub, min_age=0.0), 0, 1, 2, 3, 4)
    assert sorted(c["body"]["payload"]["n"] for c in pub.calls) == [0, 1, 2, 3, 4]
    assert all(r.published_at is not None and r.attempts == 1 for r in db.outbox())


def test_run_gives_the_sweep_what_a_failed_iteration_took(db):
    """An unexpected error while publishing handed rows must not leave them this relay's for
    ever (its sweep would skip them until the process restarts)."""

    class FlakyBatchPublisher:
        def __init__(self):
            self.calls, self.batches = [], 0

        def publish_many(self, messages):
            self.batches += 1
            if self.batches == 1:
                raise RuntimeError("a bug, not a broker error")
            self.calls += messages
            return len(messages), None

    pub = FlakyBatchPublisher()
    _run_relay(db, relay_for(db, pub, min_age=0.0), 1, 2)
    assert pub.batches >= 2                                  # the first batch failed, then the sweep's
    assert sorted(m["body"]["payload"]["n"] for m in pub.calls) == [1, 2]
    assert all(r.published_at is not None for r in db.outbox())
