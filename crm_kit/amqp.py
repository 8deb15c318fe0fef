"""RabbitMQ topology and a publisher that waits for broker confirms.

Queues for event handlers follow nameko's naming
(``evt-<source>-<event_type>--<consumer>.<method>``) and are quorum queues
with a delivery limit: a message that crashes its consumer over and over is
dead-lettered by the broker into ``<queue>.dlq`` instead of looping forever.
Handler exceptions are retried in-process with backoff and then parked in the
same ``.dlq`` by the kit, with the error attached (see ``consumer.py``).
"""
from __future__ import annotations

import logging
import threading
from dataclasses import dataclass

from kombu import Connection, Exchange, Producer, Queue

from crm_kit.events import exchange_name

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


class ConfirmingPublisher:
    """Publishes persistent messages and returns only once the broker confirmed them.

    Safe to share between greenthreads (e.g. every worker of a handler parking
    messages): one publish at a time, since a channel waiting for a confirm must
    not see another publisher's frames.
    """

    def __init__(self, amqp_uri: str):
        self.amqp_uri = amqp_uri
        self._lock = threading.Lock()  # green after eventlet.monkey_patch()
        self._conn: Connection | None = None
        self._producer: Producer | None = None
        self._declared: set[str] = set()

    def _ensure(self) -> Producer:
        if self._conn is None or not self._conn.connected:
            self.close()
            self._conn = Connection(self.amqp_uri, transport_options={"confirm_publish": True},
                                    connect_timeout=5, heartbeat=0)
            self._conn.ensure_connection(max_retries=1)
            self._producer = Producer(self._conn.channel())
            self._declared = set()
        return self._producer

    def publish(self, body, *, exchange: Exchange | None, routing_key: str, headers: dict,
                message_id: str | None = None) -> None:
        with self._lock:
            self._publish(body, exchange, routing_key, headers, message_id)

    def _publish(self, body, exchange, routing_key, headers, message_id) -> None:
        try:
            producer = self._ensure()
            declare = []
            if exchange is not None and exchange.name not in self._declared:
                declare = [exchange]
            producer.publish(
                body, exchange=exchange if exchange is not None else "", routing_key=routing_key,
                serializer="json", delivery_mode=2, headers=headers, message_id=message_id,
                declare=declare, retry=False,
            )
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
