"""The outbox relay: moves committed events from the outbox table to RabbitMQ.

Right after a unit of work commits, the relay is handed the new row ids and
publishes them (persistent, publisher confirms). Only a confirmed row is
marked published. Anything left over -- the broker was down, the process
died between commit and publish -- is picked up by the periodic sweep, which
retries until the broker confirms.

No database transaction is open while the relay talks to the broker: it
first *claims* a batch (a short transaction that sets a lease,
``claimed_until``; on PostgreSQL with ``FOR UPDATE SKIP LOCKED`` so replicas
never claim the same rows), then publishes, then marks the batch in one
UPDATE. A relay that dies mid-batch leaves a lease that simply expires, and
the rows are published again; consumers are idempotent, so at-least-once is
safe.

Under load the fast path defers the marking (``defer_mark=True``): the relay
loop marks what it published in one UPDATE every ``MARK_DELAY`` seconds (or
``MARK_BATCH`` rows) instead of one transaction per commit. A process that dies
in between leaves those rows unmarked: the sweep publishes them again after
``min_age``, which consumers recognise (at-least-once, as above).

In a service, commits hand their rows over (:meth:`OutboxRelay.hand_over`) to the relay loop
(:meth:`OutboxRelay.run`) through a queue; until they are marked, the sweep of that process leaves
them alone, however far behind the loop runs (else a backlog older than ``min_age`` would go out
twice). Another replica's sweep may still take them after ``min_age``: at-least-once, as above.

(Holding a transaction across the broker round trip would also freeze an
eventlet process on SQLite, whose lock wait blocks in C.)
"""
from __future__ import annotations

import datetime as dt
import logging
import time
from collections import Counter
from queue import Empty
from typing import Callable

from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.orm import sessionmaker

from crm_kit.records.bulk import one_of
from crm_kit.records.db import utcnow
from crm_kit.runtime import metrics, tracing
from crm_kit.runtime.amqp import ConfirmingPublisher, event_exchange
from crm_kit.runtime.transient import is_transient

log = logging.getLogger(__name__)

BATCH = 200
MARK_DELAY = 0.2       # seconds a published row may wait to be marked (fast path)
MARK_BATCH = 500
LEASE = dt.timedelta(seconds=30)
KEEP_PUBLISHED = dt.timedelta(days=7)


class OutboxRelay:
    def __init__(self, service: str, session_factory: sessionmaker, metadata,
                 publisher: ConfirmingPublisher, min_age: float = 5.0):
        self.service = service
        self.session_factory = session_factory
        self.table = metadata.tables["outbox"]
        self.publisher = publisher
        self.min_age = dt.timedelta(seconds=min_age)
        self._exchange = event_exchange(service)
        self._unmarked: list[str] = []
        self._unmarked_since = 0.0
        self._handed: set[str] = set()      # handed over by commits, not yet marked: not for the sweep

    def hand_over(self, rows: list[dict], queue) -> None:
        """A service's ``on_commit``: give the committed rows to :meth:`run` through ``queue``.
        Until they are marked published they are this relay's: its sweep leaves them alone, however
        long the queue (else a relay behind by more than ``min_age`` would publish its backlog
        twice, once from the sweep and once from the queue)."""
        self._handed.update(row["id"] for row in rows)
        queue.put(rows)

    def run(self, handed, interval: float, running: Callable[[], bool]) -> None:
        """The relay of a service process, until ``running()`` is false: publish what the units
        of work hand over (``handed``: the queue of :meth:`hand_over`; a ``None`` wakes the loop),
        everything waiting at once, marking it later (:meth:`flush_marks`); every ``interval``
        seconds, sweep what was left behind."""
        last_sweep = 0.0
        while running():
            rows: list[dict] = []
            try:
                # wake up in time to mark what was published (see flush_marks)
                item = handed.get(timeout=min(interval, MARK_DELAY) if self.unmarked else interval)
                if item:
                    rows.extend(item)
                while True:  # batch whatever else is waiting
                    item = handed.get_nowait()
                    if item:
                        rows.extend(item)
            except Empty:
                pass
            try:
                if rows:
                    self.publish_committed(rows, defer_mark=True)
                if self.marks_due() or (self.unmarked and not rows) or not running():
                    self.flush_marks()
                if time.monotonic() - last_sweep >= interval or not running():
                    self.sweep()
                    last_sweep = time.monotonic()
            except Exception as exc:
                if is_transient(exc):   # the database or broker is away: the sweep will catch up
                    log.warning("outbox relay: %r; retrying", exc)
                else:
                    log.exception("outbox relay iteration failed; retrying")
                # what this iteration took and did not publish is the sweep's to retry
                unmarked = set(self._unmarked)
                self._handed.difference_update(row["id"] for row in rows if row["id"] not in unmarked)
                time.sleep(interval)

    def publish_committed(self, rows: list[dict], defer_mark: bool = False) -> int:
        """The fast path right after a commit: publish the rows this process just
        wrote (no need to read or claim them: nobody else knows them yet; the sweep
        only looks at rows older than ``min_age``), then mark them in one UPDATE --
        or, with ``defer_mark``, leave that to :meth:`flush_marks`."""
        return self._publish_rows(rows, defer_mark=defer_mark)

    @property
    def unmarked(self) -> int:
        return len(self._unmarked)

    def marks_due(self) -> bool:
        return bool(self._unmarked) and (len(self._unmarked) >= MARK_BATCH
                                         or time.monotonic() - self._unmarked_since >= MARK_DELAY)

    def flush_marks(self) -> int:
        """Mark the rows published with ``defer_mark`` (one UPDATE; per ``BATCH`` on SQLite)."""
        ids, self._unmarked = self._unmarked, []
        if not ids:
            return 0
        t = self.table
        try:
            with self.session_factory() as session:
                dialect = session.get_bind().dialect.name
                step = len(ids) if dialect == "postgresql" else BATCH    # one array parameter there
                for start in range(0, len(ids), step):
                    session.execute(update(t).where(one_of(t.c.id, ids[start:start + step], dialect)).values(
                        published_at=utcnow(), attempts=t.c.attempts + 1, last_error=None, claimed_until=None))
                session.commit()
        except Exception:
            self._unmarked = ids + self._unmarked      # try again next time
            raise
        self._handed.difference_update(ids)
        return len(ids)

    def publish_ids(self, ids: list[str]) -> int:
        """Publish these rows now (the fast path right after a commit)."""
        published = 0
        for start in range(0, len(ids), BATCH):
            published += self._publish(self.table.c.id.in_(ids[start:start + BATCH]))
        return published

    def sweep(self, as_of: dt.datetime | None = None) -> int:
        """Publish every unpublished row older than ``min_age`` (the safety net)."""
        cutoff = (as_of or utcnow()) - self.min_age
        published = 0
        while True:
            batch = self._publish(self.table.c.created_at <= cutoff)
            published += batch
            if batch < BATCH:
                break
        self.refresh_gauges()
        return published

    def _claim(self, condition) -> list:
        t = self.table
        now = utcnow()
        with self.session_factory() as session:
            rows = session.execute(
                select(t.c.id, t.c.event_type, t.c.body, t.c.headers)
                .where(t.c.published_at.is_(None), condition,
                       or_(t.c.claimed_until.is_(None), t.c.claimed_until < now))
                .order_by(t.c.created_at)
                .limit(BATCH)
                .with_for_update(skip_locked=True)
            ).all()
            rows = [row for row in rows if row.id not in self._handed]    # queued here: see hand_over
            if rows:
                session.execute(update(t).where(t.c.id.in_([r.id for r in rows]))
                                .values(claimed_until=now + LEASE))
            session.commit()
        return rows

    def _publish(self, condition) -> int:
        rows = self._claim(condition)
        return self._publish_rows([row._asdict() for row in rows]) if rows else 0

    def _publish_rows(self, rows: list[dict], defer_mark: bool = False) -> int:
        t = self.table
        done: list[str] = []
        failure = None
        spans = self._publish_spans(rows) if tracing.enabled else None
        publish_many = getattr(self.publisher, "publish_many", None)
        if publish_many is not None:     # the whole batch, one wait for the broker's confirms
            count, error = publish_many([{"body": r["body"], "exchange": self._exchange,
                                          "routing_key": r["event_type"], "headers": r["headers"] or {},
                                          "message_id": r["id"]} for r in rows])
            done = [r["id"] for r in rows[:count]]
            if error is not None and count < len(rows):
                failure = self._failed(rows[count], error)
        else:
            for row in rows:
                try:
                    self.publisher.publish(row["body"], exchange=self._exchange, routing_key=row["event_type"],
                                           headers=row["headers"] or {}, message_id=row["id"])
                except Exception as exc:
                    failure = self._failed(row, exc)
                    break  # the broker is unhappy: release the rest of the batch, keep order
                done.append(row["id"])
        if spans:
            self._end_publish_spans(spans, len(done), failure)
        for event_type, count in Counter(row["event_type"] for row in rows[:len(done)]).items():
            metrics.EVENTS_PUBLISHED.labels(self.service, event_type).inc(count)
        published = set(done)
        rest = [r["id"] for r in rows if r["id"] not in published]
        # given back: the sweep's to retry; published: no longer ours once marked
        self._handed.difference_update(rest if defer_mark else [r["id"] for r in rows])
        if defer_mark and done:
            if not self._unmarked:
                self._unmarked_since = time.monotonic()
            self._unmarked.extend(done)
            if not rest and not failure:
                return len(done)
        with self.session_factory() as session:
            if done and not defer_mark:
                session.execute(update(t).where(t.c.id.in_(done)).values(
                    published_at=utcnow(), attempts=t.c.attempts + 1, last_error=None, claimed_until=None))
            if rest:
                session.execute(update(t).where(t.c.id.in_(rest)).values(claimed_until=None))
            if failure:
                session.execute(update(t).where(t.c.id == failure[0]).values(
                    attempts=t.c.attempts + 1, last_error=failure[1]))
            session.commit()
        return len(done)

    def _publish_spans(self, rows: list[dict]) -> list:
        """One ``PRODUCER`` span per traced event (its envelope carries the ``traceparent`` of the
        transaction that raised it), whose context goes in the message's ``traceparent`` header, so
        that the handler's span is its child. ``rows`` get their own headers (the stored ones stay)."""
        spans = []
        for index, row in enumerate(rows):
            body = row["body"]
            parent = tracing.extract(body.get(tracing.TRACEPARENT)) if isinstance(body, dict) else None
            if parent is None:
                continue
            span = tracing.start_span(f"publish {row['event_type']}", "producer", parent=parent, attributes={
                "messaging.system": "rabbitmq", "messaging.operation.type": "send",
                "messaging.destination.name": self._exchange,
                "messaging.rabbitmq.destination.routing_key": row["event_type"],
                "messaging.message.id": row["id"]})
            row["headers"] = dict(row["headers"] or {}, **{tracing.TRACEPARENT: tracing.traceparent_of(span)})
            spans.append((index, span))
        return spans

    @staticmethod
    def _end_publish_spans(spans: list, confirmed: int, failure) -> None:
        for index, span in spans:
            if index < confirmed:
                tracing.finish(span)
            else:
                tracing.set_error(span, failure[1] if failure else "not published")
                tracing.finish(span, **{"crm.outcome": "retried later"})

    def _failed(self, row: dict, exc: Exception) -> tuple[str, str]:
        metrics.OUTBOX_FAILURES.labels(self.service).inc()
        log.warning("outbox publish failed, will retry", extra={
            "event_id": row["id"], "event_type": row["event_type"], "error": repr(exc)})
        return row["id"], repr(exc)[:1000]

    def refresh_gauges(self) -> int:
        t = self.table
        with self.session_factory() as session:
            count, oldest = session.execute(
                select(func.count(), func.min(t.c.created_at)).where(t.c.published_at.is_(None))
            ).one()
            session.execute(delete(t).where(t.c.published_at.is_not(None),
                                            t.c.published_at < utcnow() - KEEP_PUBLISHED))
            session.commit()
        if isinstance(oldest, str):  # SQLite aggregate bypasses the column type
            oldest = dt.datetime.fromisoformat(oldest)
        if oldest is not None and oldest.tzinfo is None:
            oldest = oldest.replace(tzinfo=dt.timezone.utc)
        metrics.OUTBOX_PENDING.labels(self.service).set(count)
        metrics.OUTBOX_OLDEST_AGE.labels(self.service).set(
            (utcnow() - oldest).total_seconds() if oldest else 0)
        return count
