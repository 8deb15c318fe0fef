"""The kit's queue consumer, shared by the RPC and event entrypoints of a service.

nameko's ``QueueConsumer`` with two repairs:

- a message whose body cannot be decoded goes to its provider's ``on_decode_error(message, exc)``
  (kombu would otherwise raise in the consuming thread);
- **settling a message on a connection that just broke is not an error.** nameko swallows only
  py-amqp's ``ConnectionError`` when it acknowledges or requeues; the socket's own
  ``ConnectionResetError`` / ``BrokenPipeError`` (a broker killed while a worker finishes) escaped
  into the worker thread, and nameko kills the whole container for an exception in a managed thread:
  the process exited. The broker gives an unsettled message of a lost connection back to the queue by
  itself, and the redelivery meets the unit of work's record (an event: ``duplicate``; an RPC: its
  recorded reply), so nothing is lost or applied twice: it is logged and the worker ends.
"""
from __future__ import annotations

import logging
from functools import partial

from nameko.messaging import QueueConsumer

from crm_kit.runtime.consumer_health import WatchedConsumer
from crm_kit.runtime.transient import is_broker_error

log = logging.getLogger(__name__)


class CrmQueueConsumer(WatchedConsumer, QueueConsumer):
    def get_consumers(self, consumer_cls, channel):
        consumers = super().get_consumers(consumer_cls, channel)
        for provider, consumer in self._consumers.items():
            consumer.on_decode_error = partial(self._decode_error, provider)
        return consumers

    def _decode_error(self, provider, message, exc):
        handle = getattr(provider, "on_decode_error", None)
        if handle is None:
            log.error("undecodable message on %s dropped: %r", getattr(provider, "queue", None), exc)
            self.ack_message(message)
            return
        self.container.spawn_managed_thread(partial(handle, message, exc), identifier="decode-error")

    def ack_message(self, message):
        self._settle(super().ack_message, message, "acknowledge")

    def requeue_message(self, message):
        self._settle(super().requeue_message, message, "requeue")

    @staticmethod
    def _settle(settle, message, what: str) -> None:
        try:
            settle(message)
        except Exception as exc:
            if not (is_broker_error(exc) or isinstance(exc, OSError)):
                raise
            log.warning("could not %s a message, the connection to the broker broke (the broker delivers "
                        "it again): %r", what, exc, extra={"delivery_tag": getattr(message, "delivery_tag", None)})
