"""Calling another service over RPC with a deadline.

``ServiceRpc("leads", timeout=...)`` is nameko's ``RpcProxy`` with two
guarantees the caller (the gateway) needs: every call gives up after the
deadline, and an unreachable or silent service raises
:class:`~crm_kit.errors.ServiceUnavailable` (503) instead of hanging.
Typed errors from the callee arrive as themselves (``crm_kit.errors``).

Requests are published transient, without publisher confirms and not mandatory:
the deadline already covers a request the broker lost (a request outliving its
caller's deadline is worthless anyway), and waiting for a confirm cost every call a
broker round trip. (nameko uses confirm + mandatory only to notice a queue that does
not exist, which under Kubernetes the topology operator always declares; without
confirms, a returned mandatory message would break the next call on the connection.)
A service that is not running is therefore a 503 at the deadline, like a hung one.

Replies are consumed without acknowledgements (``no_ack``): the reply queue is the
caller's own, and a reply lost with a dying caller has nobody left to read it. That
saves every call a frame to the broker.
"""
from __future__ import annotations

import logging
from functools import partial

import eventlet
from nameko.amqp.publish import Publisher
from nameko.exceptions import UnknownService
from nameko.messaging import QueueConsumer
from nameko.rpc import MethodProxy, ReplyListener, RpcProxy

from crm_kit import metrics
from crm_kit.errors import CrmError, ServiceUnavailable


log = logging.getLogger(__name__)


class _AutoAckQueueConsumer(QueueConsumer):
    """nameko's QueueConsumer, its consumers with ``no_ack``: nothing to acknowledge."""

    def get_consumers(self, consumer_cls, channel):
        for provider in self._providers:
            self._consumers[provider] = consumer_cls(
                queues=[provider.queue], callbacks=[partial(self.handle_message, provider)],
                accept=self.accept, no_ack=True)
        return self._consumers.values()


class _ReplyListener(ReplyListener):
    queue_consumer = _AutoAckQueueConsumer()

    def handle_message(self, body, message):
        correlation_id = message.properties.get("correlation_id")
        client_event = self._reply_events.pop(correlation_id, None)
        if client_event is not None:
            client_event.send(body)
        else:  # the caller gave up (deadline) before the reply came
            log.debug("reply for an unknown correlation id %s", correlation_id)


class _RequestPublisher(Publisher):
    def publish(self, payload, **kwargs):
        kwargs["mandatory"] = False            # nameko's MethodProxy asks for it
        return super().publish(payload, **kwargs)


class _MethodProxy(MethodProxy):
    publisher_cls = _RequestPublisher


class _Method:
    def __init__(self, proxy, target: str, name: str, timeout: float):
        self.proxy, self.target, self.name, self.timeout = proxy, target, name, timeout

    def __call__(self, *args, **kwargs):
        proxy = self.proxy
        method = _MethodProxy(proxy.worker_ctx, proxy.service_name, self.name, proxy.reply_listener,
                              **proxy.options)
        outcome = "success"
        try:
            with eventlet.Timeout(self.timeout, ServiceUnavailable(
                    f"The {self.target} service did not answer in time.", {"service": self.target})):
                try:
                    reply = method.call_async(*args, **kwargs)
                except UnknownService:
                    raise ServiceUnavailable(f"The {self.target} service is not running.",
                                             {"service": self.target}) from None
                return reply.result()
        except CrmError as exc:
            outcome = "unavailable" if isinstance(exc, ServiceUnavailable) else f"error_{exc.status}"
            raise
        except Exception:
            outcome = "error_500"
            raise
        finally:
            metrics.RPC_CLIENT_CALLS.labels(self.target, self.name, outcome).inc()


class _Proxy:
    def __init__(self, proxy, target, timeout):
        self._proxy, self._target, self._timeout = proxy, target, timeout

    def __getattr__(self, name):
        return _Method(self._proxy, self._target, name, self._timeout)


class ServiceRpc(RpcProxy):
    rpc_reply_listener = _ReplyListener()

    def __init__(self, target_service: str, timeout: float | None = None, **options):
        options.setdefault("use_confirms", False)
        options.setdefault("delivery_mode", 1)        # transient
        super().__init__(target_service, **options)
        self.timeout = timeout

    def get_dependency(self, worker_ctx):
        timeout = self.timeout or self.container.config["CRM_SETTINGS"].rpc_timeout
        return _Proxy(super().get_dependency(worker_ctx), self.target_service, timeout)
