"""Operator tooling for parked messages: ``crm dead-letters list|replay``.

``list`` shows every dead-letter queue of every service with its depth and
the error of the first messages. ``replay`` moves messages from a ``.dlq``
back to the queue of the handler that failed (through the default exchange,
so only that handler sees them again; the others already processed them),
each republished with confirms before it is removed from the ``.dlq``.

A replay is one *run*: it takes at most the messages the ``.dlq`` held when it started
(a message that fails again is parked behind them, and is never read again by the same
run), tags each with the run's id (``x-crm-replay-id``; the handler keeps the headers when
it parks a message), then waits a bounded time for the handler's verdict and counts how
many of the run were parked again (:class:`ReplayResult`).
"""
from __future__ import annotations

import time
from dataclasses import asdict, dataclass

from kombu import Connection

from crm_kit.config import SERVICES, amqp_uri, env_float, env_int
from crm_kit.ids import new_id
from crm_kit.ops.topology import handler_queues, service_class
from crm_kit.runtime.amqp import DLQ_SUFFIX, ConfirmingPublisher, queue_depth

CRM_HEADERS = ("x-crm-error", "x-crm-attempts", "x-crm-original-queue", "x-crm-handler", "x-crm-failed-at")
REPLAY_ID_HEADER = "x-crm-replay-id"      # the replay run that sent a message back last
REPLAYS_HEADER = "x-crm-replays"          # how many times it was sent back
_BROKER_HEADERS = ("x-death", "x-first-death-exchange", "x-first-death-queue", "x-first-death-reason",
                   "x-delivery-count")
POLL_INTERVAL = 0.25


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


@dataclass
class ReplayResult:
    """What one replay run did to one ``.dlq``."""
    queue: str
    replay_id: str
    depth: int              # messages in the .dlq when the run started
    went_back: int          # sent back to the handler's queue (at most ``depth``, or the limit)
    parked_again: int = 0   # of those, parked again by the handler within the wait
    settled: bool = False   # every one that went back was parked again (nothing left to wait for)

    @property
    def left_behind(self) -> int:
        """Messages of the starting depth this run did not take (``--limit``)."""
        return self.depth - self.went_back

    def to_dict(self) -> dict:
        return asdict(self)

    def summary(self) -> str:
        text = f"{self.queue}: {self.went_back} went back, {self.parked_again} parked again"
        return text + (f" ({self.left_behind} left in the queue)" if self.left_behind else "")


def default_wait() -> float:
    """How long a failing message may take to be parked again: the handlers' retry schedule
    (``EVENT_MAX_ATTEMPTS`` attempts, backoff from ``EVENT_RETRY_BACKOFF_SECONDS`` doubled each
    time, as the services read them) plus 2 s: 9.5 s with the defaults."""
    attempts = max(1, env_int("EVENT_MAX_ATTEMPTS", 5))
    backoff = env_float("EVENT_RETRY_BACKOFF_SECONDS", 0.5)
    return backoff * (2 ** (attempts - 1) - 1) + 2.0


def replay(dlq: str, uri: str | None = None, limit: int | None = None,
           wait: float | None = None) -> ReplayResult:
    """Move up to ``limit`` of the messages ``dlq`` holds now back to its original queue, then
    wait up to ``wait`` seconds (default :func:`default_wait`; 0: not at all) for those that
    fail again to be parked, and count them."""
    return replay_many([dlq], uri, limit, wait)[0]


def replay_many(dlqs: list[str], uri: str | None = None, limit: int | None = None,
                wait: float | None = None, skip_missing: bool = False) -> list[ReplayResult]:
    """:func:`replay` of several queues in one run: all are moved first, then one wait for all.
    ``skip_missing``: a queue that does not exist (its service never migrated) is reported
    with nothing moved instead of refused."""
    for dlq in dlqs:
        if not dlq.endswith(DLQ_SUFFIX):
            raise SystemExit(f"{dlq} is not a dead-letter queue (must end in {DLQ_SUFFIX})")
    uri = uri or amqp_uri()
    run = new_id()
    results = []
    publisher = ConfirmingPublisher(uri)
    try:
        with Connection(uri) as conn:
            for dlq in dlqs:
                depth = queue_depth(conn, dlq)
                if depth is None and not skip_missing:
                    raise SystemExit(f"no queue named {dlq}")
                take = min(depth or 0, limit) if limit is not None else (depth or 0)
                results.append(ReplayResult(dlq, run, depth or 0, _move(conn, publisher, dlq, run, take)))
            _await_verdicts(conn, results, default_wait() if wait is None else max(0.0, wait))
    finally:
        publisher.close()
    return results


def _move(conn: Connection, publisher: ConfirmingPublisher, dlq: str, run: str, take: int) -> int:
    """Send back at most ``take`` messages from the head of ``dlq``, each confirmed by the broker
    before it is acknowledged here (a crash in between leaves it in the .dlq: replayed twice at
    worst, and the handler dedupes by event id, never lost)."""
    target = dlq[: -len(DLQ_SUFFIX)]
    moved = 0
    with conn.channel() as channel:
        while moved < take:
            msg = channel.basic_get(dlq, no_ack=False)
            if msg is None:
                break
            headers = dict(msg.properties.get("application_headers", {}) or {})
            if headers.get(REPLAY_ID_HEADER) == run:
                # Parked again already by this very run: we have come round (someone else took
                # messages meanwhile). Leave it where it is and stop.
                channel.basic_reject(msg.delivery_tag, requeue=True)
                break
            for key in CRM_HEADERS + _BROKER_HEADERS:
                headers.pop(key, None)
            headers[REPLAYS_HEADER] = int(headers.get(REPLAYS_HEADER, 0) or 0) + 1
            headers[REPLAY_ID_HEADER] = run
            # The body goes back byte for byte, with its content type (a message parked because it
            # could not be decoded stays what it was).
            body = msg.body if isinstance(msg.body, (bytes, bytearray)) else str(msg.body).encode("utf-8")
            publisher.publish(bytes(body), exchange=None, routing_key=target, headers=headers,
                              message_id=msg.properties.get("message_id"),
                              content_type=msg.properties.get("content_type") or "application/octet-stream",
                              content_encoding=msg.properties.get("content_encoding") or "binary")
            channel.basic_ack(msg.delivery_tag)
            moved += 1
    return moved


def _await_verdicts(conn: Connection, results: list[ReplayResult], wait: float) -> None:
    """Until every message that went back is parked again, or ``wait`` seconds passed: count
    this run's messages in each .dlq (a full count only when the depth says they may all be
    back). A message that succeeded leaves no trace, so a run with successes waits it out."""
    deadline = time.monotonic() + wait
    pending = [r for r in results if r.went_back]
    for r in results:
        r.settled = not r.went_back
    while pending:
        for r in pending:
            depth = queue_depth(conn, r.queue) or 0
            if depth >= r.left_behind + r.went_back:
                r.parked_again = count_run(conn, r.queue, r.replay_id)
                r.settled = r.parked_again >= r.went_back
        pending = [r for r in pending if not r.settled]
        if not pending or time.monotonic() >= deadline:
            break
        time.sleep(POLL_INTERVAL)
    for r in pending:
        r.parked_again = count_run(conn, r.queue, r.replay_id)
        r.settled = r.parked_again >= r.went_back


def count_run(conn: Connection, queue: str, run: str) -> int:
    """Messages in ``queue`` tagged with replay run ``run``: every message is read and put back
    (unacknowledged, then requeued in place when the channel closes: RabbitMQ keeps a
    queue's order through requeues)."""
    found = 0
    with conn.channel() as channel:
        for _ in range(queue_depth(conn, queue) or 0):
            msg = channel.basic_get(queue, no_ack=False)
            if msg is None:
                break
            headers = msg.properties.get("application_headers", {}) or {}
            found += headers.get(REPLAY_ID_HEADER) == run
    return found
