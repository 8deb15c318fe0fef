"""RabbitMQ topology and a publisher that waits for broker confirms.

Queues for event handlers follow nameko's naming
(``evt-<source>-<event_type>--<consumer>.<method>``) and are quorum queues
with a delivery limit: a message that crashes its consumer over and over is
dead-lettered by the broker into ``<queue>.dlq`` instead of looping forever.
Handler exceptions are retried in-process with backoff and then parked in the
same ``.dlq`` by the kit, with the error attached (see ``crm_kit.runtime.entrypoints``).
"""
from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass

import amqp
import orjson
from amqp import spec
from amqp.method_framing import frame_writer
from kombu import Connection, Exchange, Producer, Queue

from crm_kit.runtime.events import exchange_name

log = logging.getLogger(__name__)

DELIVERY_LIMIT = 20
DLQ_SUFFIX = ".dlq"


def event_exchange(producer: str) -> Exchange:
    # Same declaration as nameko.standalone.events.get_event_exchange.
    return Exchange(exchange_name(producer), type="topic", durable=True, delivery_mode=2)


@dataclass(frozen=True)
class HandlerQueue:
    source: str
    event_type: str
    consumer: str
    method: str

    @property
    def name(self) -> str:
        return f"evt-{self.source}-{self.event_type}--{self.consumer}.{self.method}"

    @property
    def dlq_name(self) -> str:
        return self.name + DLQ_SUFFIX

    @property
    def handler(self) -> str:
        return f"{self.consumer}.{self.method}"

    def queue(self) -> Queue:
        return Queue(
            self.name, exchange=event_exchange(self.source), routing_key=self.event_type,
            durable=True, auto_delete=False, exclusive=False,
            queue_arguments={
                "x-queue-type": "quorum",
                "x-delivery-limit": DELIVERY_LIMIT,
                "x-dead-letter-exchange": "",
                "x-dead-letter-routing-key": self.dlq_name,
            },
        )

    def dlq(self) -> Queue:
        # A classic durable queue: quorum queues count deliveries (RabbitMQ 4 drops a message
        # after 20 by default), and `crm dead-letters list` peeks by get + requeue, so an
        # operator looking often must never be able to lose what is parked.
        return Queue(self.dlq_name, exchange=None, routing_key=self.dlq_name, durable=True,
                     auto_delete=False, queue_arguments={"x-queue-type": "classic"})

    def declare(self, conn: Connection) -> None:
        channel = conn.default_channel
        self.dlq().bind(channel).declare()
        q = self.queue().bind(channel)
        q.declare()


def queue_depth(conn: Connection, name: str) -> int | None:
    """Ready messages in a queue (passive declare), None if it does not exist."""
    try:
        with conn.channel() as channel:
            _, count, _ = channel.queue_declare(queue=name, passive=True)
            return count
    except Exception:  # queue missing -> channel closed by broker
        return None


class _Frames:
    """A transport for py-amqp's frame writer that keeps what is written (it hands over a view
    of a buffer it reuses: the bytes are copied)."""

    def __init__(self):
        self.data = bytearray()

    def write(self, view) -> None:
        self.data += view

    def take(self) -> bytes:
        data, self.data = bytes(self.data), bytearray()
        return data


class PublishFailed(Exception):
    """The broker refused (nack) or did not confirm a message in time."""


class ConfirmingPublisher:
    """Publishes persistent messages and returns only once the broker confirmed them.

    ``publish`` sends one message and waits for its confirm; ``publish_many`` sends a
    batch and waits once for the confirms of all of it (the outbox relay: one broker
    round trip per batch instead of per event).

    Safe to share between greenthreads (e.g. every worker of a handler parking
    messages): one publish at a time, since a channel waiting for a confirm must
    not see another publisher's frames.
    """

    CONFIRM_TIMEOUT = 10.0

    def __init__(self, amqp_uri: str):
        self.amqp_uri = amqp_uri
        self._lock = threading.Lock()  # green after eventlet.monkey_patch()
        self._conn: Connection | None = None
        self._producer: Producer | None = None
        self._declared: set[str] = set()
        self._tag = 0                       # delivery tag of the last message on this channel
        self._unconfirmed: set[int] = set()
        self._nacked: set[int] = set()

    def _ensure(self) -> Producer:
        if self._conn is None or not self._conn.connected:
            self.close()
            self._conn = Connection(self.amqp_uri, transport_options={"confirm_publish": True},
                                    connect_timeout=5, heartbeat=0)
            self._conn.ensure_connection(max_retries=1)
            channel = self._conn.channel()
            channel._confirm_selected = True
            channel.confirm_select()
            channel.events["basic_ack"].add(self._on_ack)
            channel.events["basic_nack"].add(self._on_nack)
            self._producer = Producer(channel)
            self._batch = _Frames()
            self._batch_writer = frame_writer(self._conn.connection, self._batch)
            self._declared = set()
            self._tag, self._unconfirmed, self._nacked = 0, set(), set()
        return self._producer

    def _on_ack(self, delivery_tag: int, multiple: bool) -> None:
        if multiple and delivery_tag >= self._tag:      # everything so far
            self._unconfirmed.clear()
        elif multiple:
            self._unconfirmed = {t for t in self._unconfirmed if t > delivery_tag}
        else:
            self._unconfirmed.discard(delivery_tag)

    def _on_nack(self, delivery_tag: int, multiple: bool) -> None:
        settled = {t for t in self._unconfirmed if t <= delivery_tag} if multiple else {delivery_tag}
        self._nacked |= settled & self._unconfirmed
        self._unconfirmed -= settled

    def publish_many(self, messages: list[dict]) -> tuple[int, Exception | None]:
        """Publish each ``{body, exchange, routing_key, headers, message_id}`` (persistent,
        JSON) and wait for the broker's confirms of all of them. Returns how many, from the
        first, are confirmed, and the error that stopped the others (None if none did)."""
        with self._lock:
            tags = []
            try:
                producer = self._ensure()
                channel = producer.channel
                for m in messages:
                    exchange = m["exchange"]
                    if exchange is not None and exchange.name not in self._declared:
                        exchange.declare(channel=channel)
                        self._declared.add(exchange.name)
                # The batch's frames are written to a buffer, then to the socket at once: one
                # system call instead of one per message (py-amqp's basic_publish also polls the
                # socket before each message; the acks are read below anyway).
                connection = channel.connection
                connection.frame_writer, socket_writer = self._batch_writer, connection.frame_writer
                try:
                    for m in messages:
                        exchange = m["exchange"]
                        message = amqp.Message(orjson.dumps(m["body"]), content_type="application/json",
                                               content_encoding="utf-8", delivery_mode=2,
                                               application_headers=m["headers"] or {}, message_id=m["message_id"])
                        self._tag += 1
                        tags.append(self._tag)
                        self._unconfirmed.add(self._tag)
                        channel.send_method(spec.Basic.Publish, "Bssbb",
                                            (0, exchange.name if exchange is not None else "", m["routing_key"],
                                             False, False), message)
                finally:
                    connection.frame_writer = socket_writer
                connection.transport.write(self._batch.take())
                deadline = time.monotonic() + self.CONFIRM_TIMEOUT
                while self._unconfirmed:        # (all of this batch: the ones before were settled)
                    remaining = deadline - time.monotonic()
                    if remaining <= 0:
                        raise PublishFailed(f"no confirm from the broker within {self.CONFIRM_TIMEOUT} s")
                    channel.wait([spec.Basic.Ack, spec.Basic.Nack], timeout=remaining)
            except Exception as exc:
                self.close()
                return self._confirmed_prefix(tags), exc
            nacked = [t for t in tags if t in self._nacked]
            if nacked:
                self._nacked.difference_update(tags)
                return self._confirmed_prefix(tags), PublishFailed(f"the broker refused {len(nacked)} message(s)")
            return len(tags), None

    def _confirmed_prefix(self, tags: list[int]) -> int:
        done = 0
        for tag in tags:
            if tag in self._unconfirmed or tag in self._nacked:
                break
            done += 1
        return done

    def publish(self, body, *, exchange: Exchange | None, routing_key: str, headers: dict,
                message_id: str | None = None, content_type: str | None = None,
                content_encoding: str | None = None) -> None:
        """One message, JSON-encoded; or, with ``content_type``, ``body`` as it is (bytes: a
        message that could not be decoded, parked as it came)."""
        with self._lock:
            self._publish(body, exchange, routing_key, headers, message_id, content_type, content_encoding)

    def _publish(self, body, exchange, routing_key, headers, message_id, content_type=None,
                 content_encoding=None) -> None:
        try:
            producer = self._ensure()
            declare = []
            if exchange is not None and exchange.name not in self._declared:
                declare = [exchange]
            producer.publish(
                body, exchange=exchange if exchange is not None else "", routing_key=routing_key,
                serializer="json", delivery_mode=2, headers=headers, message_id=message_id,
                declare=declare, retry=False, content_type=content_type,
                content_encoding=content_encoding if content_type else None,
            )
            self._tag += 1                      # (basic_publish_confirm waited for its ack)
            if declare:
                self._declared.add(exchange.name)
        except Exception:
            self.close()
            raise

    def close(self) -> None:
        if self._conn is not None:
            try:
                self._conn.release()
            except Exception:  # pragma: no cover - best effort on a broken socket
                pass
        self._conn = None
        self._producer = None
