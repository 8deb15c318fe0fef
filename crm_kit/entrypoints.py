"""The two ways work enters a service: RPC calls and events.

``rpc``: nameko's RPC entrypoint whose errors are always typed. A
:class:`~crm_kit.errors.CrmError` travels to the caller as itself; anything
else is logged here with its traceback and an error id, and the caller gets
a plain ``CrmError("An internal error occurred.", {"error_id": ...})`` --
internals never leave the service.

``event_handler``: nameko's event handler made safe:
- its queue is a quorum queue with a delivery limit and a dead-letter queue
  (declared on start, see :class:`crm_kit.amqp.HandlerQueue`);
- the envelope is checked before the handler runs; a malformed one is parked;
- the unit of work records the event id with the effect, so a redelivery is
  acknowledged without doing anything again (outcome ``duplicate``);
- a failing handler is retried with exponential backoff, each attempt in a
  fresh worker (fresh transaction); after ``EVENT_MAX_ATTEMPTS`` (or at once
  for an invalid payload) the message is parked in ``<queue>.dlq`` with the
  error attached, and the service goes on consuming everything else.
"""
from __future__ import annotations

import datetime as dt
import logging
import time
from functools import partial

import eventlet
from kombu import Connection
from marshmallow import ValidationError
from nameko.events import EventHandler, SERVICE_POOL
from nameko.exceptions import ContainerBeingKilled
from nameko.messaging import Consumer
from nameko.constants import AMQP_SSL_CONFIG_KEY, AMQP_URI_CONFIG_KEY, LOGIN_METHOD_CONFIG_KEY
from nameko.rpc import Responder, Rpc, RpcConsumer, get_rpc_exchange

from crm_kit import metrics
from crm_kit.amqp import ConfirmingPublisher, HandlerQueue
from crm_kit.context import Principal
from crm_kit.errors import BadRequest, CrmError, ValidationFailed
from crm_kit.events import EnvelopeSchema
from crm_kit.ids import new_id
from crm_kit.uow import DuplicateEvent

log = logging.getLogger(__name__)

PERMANENT_ERRORS = (ValidationFailed, BadRequest)


class _UnconfirmedPublisher(Responder.publisher_cls):
    def __init__(self, *args, **kwargs):
        kwargs["use_confirms"] = False
        super().__init__(*args, **kwargs)


class _ReplyWithoutConfirm(Responder):
    """RPC replies are sent without publisher confirms: a lost reply is already
    covered by the caller's deadline (and the request is redelivered if we never
    acknowledged it), so waiting for the broker's ack on every reply buys
    nothing and cost a fifth of a service's CPU under load. Events, which must
    not be lost, keep their confirms (``ConfirmingPublisher``)."""
    publisher_cls = _UnconfirmedPublisher


class CrmRpcConsumer(RpcConsumer):
    def handle_result(self, message, result, exc_info):
        config = self.container.config
        responder = _ReplyWithoutConfirm(
            config[AMQP_URI_CONFIG_KEY], get_rpc_exchange(config), config.get("serializer", "json"), message,
            ssl=config.get(AMQP_SSL_CONFIG_KEY), login_method=config.get(LOGIN_METHOD_CONFIG_KEY))
        result, exc_info = responder.send_response(result, exc_info)
        self.queue_consumer.ack_message(message)
        return result, exc_info


class CrmRpc(Rpc):
    rpc_consumer = CrmRpcConsumer()

    def __init__(self, **kwargs):
        # We log unexpected errors ourselves (with an error id), so nameko need not.
        kwargs.setdefault("expected_exceptions", (Exception,))
        super().__init__(**kwargs)

    def handle_message(self, body, message):
        message._crm_started = time.perf_counter()
        super().handle_message(body, message)

    def handle_result(self, message, worker_ctx, result, exc_info):
        service = self.container.service_name
        outcome = "success"
        if exc_info is not None:
            exc = exc_info[1]
            if isinstance(exc, CrmError) and exc.status < 500:
                outcome = "client_error"
            else:
                outcome = "server_error"
                if not isinstance(exc, CrmError) or type(exc) is CrmError and "error_id" not in exc.extra:
                    error_id = new_id()
                    log.error("unhandled error in %s.%s (error_id=%s)", service, self.method_name, error_id,
                              exc_info=exc_info, extra={"error_id": error_id})
                    exc = CrmError("An internal error occurred.", {"error_id": error_id})
                    exc_info = (CrmError, exc, None)
        started = getattr(message, "_crm_started", None)
        elapsed = time.perf_counter() - started if started is not None else 0.0
        metrics.RPC_DURATION.labels(service, self.method_name).observe(elapsed)
        metrics.RPC_REQUESTS.labels(service, self.method_name, outcome).inc()
        log.info("rpc %s.%s %s", service, self.method_name, outcome, extra={
            "rpc": self.method_name, "outcome": outcome, "duration_ms": round(elapsed * 1000, 2)})
        try:
            return super().handle_result(message, worker_ctx, result, exc_info)
        except Exception as exc:
            # The reply could not be published (the broker connection dropped). nameko
            # would let this kill the whole container; instead the caller times out, and
            # the unacknowledged request is redelivered by the broker when we reconnect.
            log.warning("could not send the reply of %s.%s: %r", service, self.method_name, exc)
            return result, exc_info


rpc = CrmRpc.decorator


class MalformedEvent(Exception):
    pass


class CrmEventHandler(EventHandler):
    def __init__(self, source_service, event_type, **kwargs):
        super().__init__(source_service, event_type, handler_type=SERVICE_POOL,
                         reliable_delivery=True, requeue_on_error=False, **kwargs)

    # -- wiring ----------------------------------------------------------
    def setup(self):
        self.spec = HandlerQueue(self.source_service, self.event_type,
                                 self.container.service_name, self.method_name)
        self.queue = self.spec.queue()
        settings = self.container.config["CRM_SETTINGS"]
        self.max_attempts = max(1, settings.event_max_attempts)
        self.backoff = settings.event_retry_backoff
        self.parker = ConfirmingPublisher(settings.amqp_uri)
        with Connection(settings.amqp_uri, connect_timeout=10) as conn:
            conn.ensure_connection(max_retries=3)
            self.spec.declare(conn)
        Consumer.setup(self)  # not EventHandler.setup: it would redeclare a plain queue

    def stop(self):
        super().stop()
        self.parker.close()

    @property
    def inbox_handler_name(self) -> str:
        return self.spec.handler

    # -- message flow ------------------------------------------------------
    def handle_message(self, body, message):
        self._attempt(body, message, attempt=1)

    def _attempt(self, body, message, attempt):
        try:
            envelope = self._check(body)
        except MalformedEvent as exc:
            self._park(body, message, exc, attempts=0)
            return
        context_data = self.unpack_message_headers(message)
        context_data.update(
            request_id=envelope.get("correlation_id"),
            principal=Principal.system(self.container.service_name).to_dict(),
            event_id=envelope["event_id"],
        )
        handle_result = partial(self.handle_result, message, body, attempt, time.perf_counter())
        try:
            self.container.spawn_worker(self, (envelope,), {}, context_data=context_data,
                                        handle_result=handle_result)
        except ContainerBeingKilled:
            self.queue_consumer.requeue_message(message)

    def _check(self, body) -> dict:
        if not isinstance(body, dict):
            raise MalformedEvent("message body is not a JSON object")
        errors = EnvelopeSchema().validate(body)
        if errors:
            raise MalformedEvent(f"invalid envelope: {errors}")
        if body["event_type"] != self.event_type:
            raise MalformedEvent(f"event_type {body['event_type']!r} on a {self.event_type!r} queue")
        return body

    def handle_result(self, message, body, attempt, started, worker_ctx, result, exc_info):
        service, handler = self.container.service_name, self.spec.handler
        metrics.EVENT_DURATION.labels(service, handler).observe(time.perf_counter() - started)
        if exc_info is None:
            self._outcome("processed")
            self.queue_consumer.ack_message(message)
        elif isinstance(exc_info[1], DuplicateEvent):
            self._outcome("duplicate")
            self.queue_consumer.ack_message(message)
        elif isinstance(exc_info[1], (PERMANENT_ERRORS, ValidationError)) or attempt >= self.max_attempts:
            self._park(body, message, exc_info[1], attempts=attempt)
        else:
            self._outcome("retried")
            delay = self.backoff * (2 ** (attempt - 1))
            log.warning("event handler %s failed (attempt %s/%s), retrying in %.1fs: %r",
                        handler, attempt, self.max_attempts, delay, exc_info[1])
            self.container.spawn_managed_thread(partial(self._retry_later, delay, body, message, attempt + 1))
        return result, exc_info

    def _retry_later(self, delay, body, message, attempt):
        eventlet.sleep(delay)
        self._attempt(body, message, attempt)

    def _park(self, body, message, exc, attempts):
        """Move the message to this handler's dead-letter queue, error attached."""
        headers = dict(message.headers or {})
        headers.update({
            "x-crm-error": f"{type(exc).__name__}: {exc}"[:2000],
            "x-crm-attempts": attempts,
            "x-crm-original-queue": self.spec.name,
            "x-crm-handler": self.spec.handler,
            "x-crm-failed-at": dt.datetime.now(dt.timezone.utc).isoformat(),
        })
        try:
            message_id = message.properties.get("message_id") or (
                body.get("event_id") if isinstance(body, dict) else None)
            self.parker.publish(body, exchange=None, routing_key=self.spec.dlq_name, headers=headers,
                                message_id=message_id)
        except Exception:
            log.exception("could not park message in %s; requeueing it", self.spec.dlq_name)
            self.queue_consumer.requeue_message(message)
            return
        log.error("event parked in dead-letter queue %s after %s attempt(s): %r",
                  self.spec.dlq_name, attempts, exc)
        metrics.DEAD_LETTERED.labels(self.container.service_name, self.spec.handler).inc()
        self._outcome("dead_lettered")
        self.queue_consumer.ack_message(message)

    def _outcome(self, outcome):
        log.info("event %s -> %s %s", self.event_type, self.spec.handler, outcome,
                 extra={"event_type": self.event_type, "handler": self.spec.handler, "outcome": outcome})
        metrics.EVENT_MESSAGES.labels(self.container.service_name, self.spec.handler,
                                      self.event_type, outcome).inc()


event_handler = CrmEventHandler.decorator
