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

**A request carries its deadline** (now + the timeout, or the deadline of the request this
worker itself handles, whichever is sooner): as the AMQP expiration, so that the broker drops it
once stale, and as ``x-crm-deadline``, which the service checks before it starts and before it
commits (``crm_kit.runtime.entrypoints``, ``crm_kit.runtime.uow``). The caller waits ``REPLY_GRACE`` seconds past
the deadline for a reply still on its way, then answers 503: what it was told 503 about was not
done, or is answered from the service's record of it by a retry under the same Idempotency-Key.

**A request has a key the service records with its reply**: the AMQP correlation id, or, when the
gateway handles a client's ``Idempotency-Key`` (worker context ``crm_idempotency_key``), a key
derived from it and the method (``x-crm-request-key``), the same on every retry of that request.

**A broker that cannot be reached is a 503 at once** (``ServiceUnavailable`` with
``retry_after``), not a kombu error: publishing tries one fresh connection, no more.
"""
from __future__ import annotations

import hashlib
import logging
import time
from functools import partial

import eventlet
from nameko.amqp.publish import Publisher
from nameko.exceptions import UnknownService
from nameko.messaging import QueueConsumer
from nameko.rpc import MethodProxy, ReplyListener, RpcProxy

from crm_kit.context import DEADLINE, DEADLINE_HEADER, IDEMPOTENCY_KEY, REQUEST_KEY_HEADER
from crm_kit.errors import CrmError, ServiceUnavailable
from crm_kit.runtime import metrics, tracing, wire_json
from crm_kit.runtime.consumer_health import WatchedConsumer
from crm_kit.runtime.transient import RETRY_AFTER_SECONDS, is_broker_error

REPLY_GRACE = 0.5       # seconds past the deadline a reply may still be on its way
# A dead pooled connection is replaced once; a broker that refuses that one too is a 503 now.
PUBLISH_RETRY = {"max_retries": 1, "interval_start": 0, "interval_step": 0.2, "interval_max": 0.2}
_OWN_HEADERS = ("nameko.crm_",)   # worker context keys of the request being handled: not passed on


log = logging.getLogger(__name__)
wire_json.register()     # RPC messages as JSON through orjson (same content type, same values)


class _AutoAckQueueConsumer(WatchedConsumer, QueueConsumer):
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
    call_headers: dict = {}
    expiration_seconds: float | None = None

    def publish(self, payload, **kwargs):
        kwargs["mandatory"] = False            # nameko's MethodProxy asks for it
        headers = {k: v for k, v in (kwargs.pop("extra_headers", None) or {}).items()
                   if not k.startswith(_OWN_HEADERS)}
        kwargs["extra_headers"] = dict(headers, **self.call_headers)
        kwargs["expiration"] = self.expiration_seconds
        kwargs["retry_policy"] = PUBLISH_RETRY
        return super().publish(payload, **kwargs)


class _MethodProxy(MethodProxy):
    publisher_cls = _RequestPublisher


class _Method:
    def __init__(self, proxy, target: str, name: str, timeout: float):
        self.proxy, self.target, self.name, self.timeout = proxy, target, name, timeout

    def __call__(self, *args, **kwargs):
        proxy = self.proxy
        worker_data = proxy.worker_ctx.data
        now = time.time()
        deadline = now + self.timeout
        if worker_data.get(DEADLINE):                 # a call made while handling a request with one
            deadline = min(deadline, float(worker_data[DEADLINE]))
        method = _MethodProxy(proxy.worker_ctx, proxy.service_name, self.name, proxy.reply_listener,
                              **proxy.options)
        method.publisher.call_headers = {DEADLINE_HEADER: deadline}
        if worker_data.get(IDEMPOTENCY_KEY):
            derived = hashlib.sha256(f"{worker_data[IDEMPOTENCY_KEY]}\0{self.target}.{self.name}".encode())
            method.publisher.call_headers[REQUEST_KEY_HEADER] = "k:" + derived.hexdigest()
        method.publisher.expiration_seconds = max(0.001, deadline - now)
        span = None
        if tracing.enabled:      # a CLIENT span; the service's worker is its child (traceparent header)
            span = tracing.start_span(f"{self.target}.{self.name}", "client", attributes={
                "rpc.system": "nameko", "rpc.service": self.target, "rpc.method": self.name})
            method.publisher.call_headers[tracing.TRACEPARENT] = tracing.traceparent_of(span)
        outcome = "success"
        try:
            with eventlet.Timeout(max(0.0, deadline - now) + REPLY_GRACE, ServiceUnavailable(
                    f"The {self.target} service did not answer in time.",
                    {"service": self.target, "retry_after": RETRY_AFTER_SECONDS})):
                try:
                    reply = method.call_async(*args, **kwargs)
                except UnknownService:
                    raise ServiceUnavailable(f"The {self.target} service is not running.",
                                             {"service": self.target, "retry_after": RETRY_AFTER_SECONDS}) from None
                except Exception as exc:
                    if not is_broker_error(exc):
                        raise
                    log.warning("rpc %s.%s: the broker cannot be reached: %r", self.target, self.name, exc)
                    raise ServiceUnavailable(
                        f"The {self.target} service cannot be reached: the message broker is unavailable.",
                        {"service": self.target, "retry_after": RETRY_AFTER_SECONDS}) from None
                return reply.result()
        except CrmError as exc:
            outcome = "unavailable" if isinstance(exc, ServiceUnavailable) else f"error_{exc.status}"
            if span is not None:
                tracing.finish(span, exc, error_status=not tracing.is_expected_error(exc), **{"crm.outcome": outcome})
                span = None
            raise
        except Exception as exc:
            outcome = "error_500"
            if span is not None:
                tracing.finish(span, exc, **{"crm.outcome": outcome})
                span = None
            raise
        finally:
            metrics.RPC_CLIENT_CALLS.labels(self.target, self.name, outcome).inc()
            if span is not None:
                tracing.finish(span, **{"crm.outcome": outcome})


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
