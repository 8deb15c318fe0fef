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
import struct
import threading
import time
from dataclasses import dataclass

import amqp
import orjson
from amqp import serialization, spec
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


class _PublishEncoder:
    """The frames of one ``basic.publish`` (method, content header, body), as py-amqp's frame writer
    makes them, byte for byte, with what the messages of a batch share made once: the method frame
    per exchange and routing key, the content header's properties per set of headers (the message id,
    the last property written, is appended). py-amqp builds all of it again per message, in Python
    (``dumps``, ``_serialize_properties``, three ``pack_into``): most of the relay's CPU per event.
    ``frames`` answers None for what it does not make (no message id, or one longer than a short
    string): those go through py-amqp. Headers whose values are not all text are serialized each
    time (1 and True are equal keys, not equal bytes)."""

    _CACHED = 256       # exchanges x routing keys, and header sets, kept (a service has a few dozen)

    def __init__(self, channel_id: int):
        self.channel_id = channel_id
        self._methods: dict[tuple[str, str], bytes] = {}
        self._properties: dict[tuple, bytes] = {}

    def frames(self, exchange: str, routing_key: str, body: bytes, headers: dict, message_id, frame_max: int):
        if not isinstance(message_id, str):
            return None
        mid = message_id.encode()
        if len(mid) > 255:
            return None
        key = tuple(headers.items())
        if all(type(v) is str for _, v in key):
            prefix = self._properties.get(key)
            if prefix is None:
                prefix = self._prefix(headers)
                if len(self._properties) < self._CACHED:
                    self._properties[key] = prefix
        else:
            prefix = self._prefix(headers)
        method = self._methods.get((exchange, routing_key))
        if method is None:
            method = self._frame(1, struct.pack(">HH", *spec.Basic.Publish) + serialization.dumps(
                "Bssbb", (0, exchange, routing_key, False, False)))
            if len(self._methods) < self._CACHED:
                self._methods[(exchange, routing_key)] = method
        header = struct.pack(">HHQ", spec.Basic.Publish[0], 0, len(body)) + prefix + bytes((len(mid),)) + mid
        parts = [method, self._frame(2, header)]
        chunk = frame_max - 8          # (py-amqp: one body frame, split only when it would not fit)
        for start in range(0, len(body), chunk):
            parts.append(self._frame(3, body[start:start + chunk]))
        return b"".join(parts)

    def _frame(self, kind: int, payload: bytes) -> bytes:
        return struct.pack(">BHI", kind, self.channel_id, len(payload)) + payload + b"\xce"

    @staticmethod
    def _prefix(headers: dict) -> bytes:
        """The serialized properties of a message with these headers, up to its message id."""
        properties = amqp.Message(b"", content_type="application/json", content_encoding="utf-8", delivery_mode=2,
                                  application_headers=headers, message_id="")._serialize_properties()
        return properties[:-1]        # (the empty message id: its length byte, 0)


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
            self._encoder = _PublishEncoder(channel.channel_id)
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
                # The batch's frames are made in a buffer, then written to the socket at once: one
                # system call instead of one per message (py-amqp's basic_publish also polls the
                # socket before each message; the acks are read below anyway). Each message's frames
                # come from _PublishEncoder (py-amqp's bytes, what messages share made once), or,
                # for what it does not make, from py-amqp's own frame writer.
                connection = channel.connection
                frame_max, parts = connection.frame_max, []
                for m in messages:
                    exchange = m["exchange"]
                    exchange_name = exchange.name if exchange is not None else ""
                    body, headers = orjson.dumps(m["body"]), m["headers"] or {}
                    frames = self._encoder.frames(exchange_name, m["routing_key"], body, headers, m["message_id"],
                                                  frame_max)
                    if frames is None:
                        connection.frame_writer, socket_writer = self._batch_writer, connection.frame_writer
                        try:
                            channel.send_method(spec.Basic.Publish, "Bssbb", (
                                0, exchange_name, m["routing_key"], False, False), amqp.Message(
                                body, content_type="application/json", content_encoding="utf-8", delivery_mode=2,
                                application_headers=headers, message_id=m["message_id"]))
                        finally:
                            connection.frame_writer = socket_writer
                        frames = self._batch.take()
                    else:
                        connection.bytes_sent += 1      # (as py-amqp's frame writer counts: once per message)
                    parts.append(frames)
                    self._tag += 1
                    tags.append(self._tag)
                    self._unconfirmed.add(self._tag)
                connection.transport.write(b"".join(parts))
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
