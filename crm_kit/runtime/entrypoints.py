"""The two ways work enters a service: RPC calls and events.

``rpc``: nameko's RPC entrypoint whose errors are always typed. A
:class:`~crm_kit.errors.CrmError` travels to the caller as itself; a database or
broker the service cannot reach is a ``ServiceUnavailable`` (503, ``crm_kit.runtime.transient``);
anything else is logged here with its traceback and an error id, and the caller gets
a plain ``CrmError("An internal error occurred.", {"error_id": ...})`` --
internals never leave the service. Each request carries its deadline
(``x-crm-deadline``, epoch seconds, and the AMQP expiration): one that arrives after it is
dropped unanswered (its caller has answered 503 already), and the unit of work neither starts
nor commits after it. Each request has a key (``x-crm-request-key`` when the caller has a stable
one, the AMQP correlation id otherwise) that its unit of work records with the reply, so a
redelivered request (``redelivered``: the service died before acknowledging it) or a retry is
answered with the first reply, not applied twice (``crm_kit.runtime.uow``).

``event_handler``: nameko's event handler made safe:
- its queue is a quorum queue with a delivery limit and a dead-letter queue
  (declared on start, see :class:`crm_kit.runtime.amqp.HandlerQueue`);
- the envelope is checked before the handler runs; a malformed one is parked;
- the unit of work records the event id with the effect, so a redelivery is
  acknowledged without doing anything again (outcome ``duplicate``);
- a failing handler is retried with exponential backoff, each attempt in a
  fresh worker (fresh transaction); after ``EVENT_MAX_ATTEMPTS`` (or at once
  for an invalid payload) the message is parked in ``<queue>.dlq`` with the
  error attached, and the service goes on consuming everything else;
- a failure of the infrastructure (database or broker unreachable, ``crm_kit.runtime.transient``) is
  not the message's: it is retried for as long as it lasts (backing off up to
  ``TRANSIENT_BACKOFF_MAX`` seconds), the message staying unacknowledged in its queue, and
  it never counts as an attempt nor parks the message;
- a message whose body cannot be decoded (not JSON, not UTF-8, another content type) is
  parked as it came, with the reason.
"""
from __future__ import annotations

import datetime as dt
import logging
import time
from functools import partial

import eventlet
from kombu import Connection
from marshmallow import ValidationError
from nameko.constants import AMQP_SSL_CONFIG_KEY, AMQP_URI_CONFIG_KEY, LOGIN_METHOD_CONFIG_KEY
from nameko.events import SERVICE_POOL, EventHandler
from nameko.exceptions import ContainerBeingKilled
from nameko.messaging import Consumer
from nameko.rpc import Responder, Rpc, RpcConsumer, get_rpc_exchange

from crm_kit.context import (
    DEADLINE,
    DEADLINE_HEADER,
    MAYBE_HANDLED,
    PRINCIPAL_KEY,
    REQUEST_KEY,
    REQUEST_KEY_HEADER,
    Principal,
)
from crm_kit.errors import BadRequest, CrmError, Forbidden, ValidationFailed
from crm_kit.ids import new_id
from crm_kit.runtime import metrics, tracing, wire_json
from crm_kit.runtime.amqp import ConfirmingPublisher, HandlerQueue
from crm_kit.runtime.events import EnvelopeSchema
from crm_kit.runtime.queue_consumer import CrmQueueConsumer
from crm_kit.runtime.transient import is_transient, unavailable
from crm_kit.runtime.uow import AlreadyHandled, DuplicateEvent

log = logging.getLogger(__name__)
wire_json.register()     # RPC messages as JSON through orjson (same content type, same values)

PERMANENT_ERRORS = (ValidationFailed, BadRequest)
TRANSIENT_BACKOFF_MAX = 30.0      # seconds between tries while the database or broker is away


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
    queue_consumer = CrmQueueConsumer()

    def get_provider_for_method(self, routing_key):
        """nameko's lookup, remembered per routing key (nameko formats and compares the key of every
        ``@rpc`` method of the service on each request: a service with a hundred methods pays for
        it on every call)."""
        cache = self.__dict__.setdefault("_providers_by_key", {})
        provider = cache.get(routing_key)
        if provider is not None and provider in self._providers:
            return provider
        provider = super().get_provider_for_method(routing_key)
        cache[routing_key] = provider
        return provider

    def on_decode_error(self, message, exc):
        """A request that cannot be read: answered with a typed error (the caller learns at once)."""
        log.warning("undecodable RPC request on %s: %r", message.delivery_info.get("routing_key"), exc)
        error = BadRequest("The request could not be decoded.", {"reason": str(exc)[:200]})
        try:
            self.handle_result(message, None, (BadRequest, error, None))
        except Exception:  # no reply_to, or the broker went away: nobody to tell
            self.queue_consumer.ack_message(message)

    def handle_result(self, message, result, exc_info):
        config = self.container.config
        responder = _ReplyWithoutConfirm(
            config[AMQP_URI_CONFIG_KEY], get_rpc_exchange(config), config.get("serializer", "json"), message,
            ssl=config.get(AMQP_SSL_CONFIG_KEY), login_method=config.get(LOGIN_METHOD_CONFIG_KEY))
        result, exc_info = responder.send_response(result, exc_info)
        self.queue_consumer.ack_message(message)
        return result, exc_info


class CrmRpc(Rpc):
    """``@rpc``: a call made for somebody -- it requires the caller's principal (the gateway's
    authenticated user, or the platform's own); a request without one is refused with
    ``Forbidden`` before any work. ``@rpc(principal=False)``: a platform call that needs nobody
    (``ping``, the API schemas, an operator's job run), said so where it is declared."""
    rpc_consumer = CrmRpcConsumer()
    trace_kind = "server"     # a worker's span, child of the caller's (traceparent header): runtime/tracing.py

    def __init__(self, principal: bool = True, **kwargs):
        self.requires_principal = principal
        # We log unexpected errors ourselves (with an error id), so nameko need not.
        kwargs.setdefault("expected_exceptions", (Exception,))
        super().__init__(**kwargs)

    def handle_message(self, body, message):
        message._crm_started = time.perf_counter()
        headers = message.headers or {}
        deadline = _number(headers.get(DEADLINE_HEADER))
        if deadline is not None and time.time() >= deadline:
            # Its caller has answered 503 already: doing it now would make that answer a lie.
            self._count(message, "expired")
            log.info("rpc %s.%s dropped: it arrived after its deadline", self.container.service_name,
                     self.method_name, extra={"rpc": self.method_name, "outcome": "expired"})
            self.rpc_consumer.queue_consumer.ack_message(message)
            return
        try:
            args, kwargs = body["args"], body["kwargs"]
        except (KeyError, TypeError):
            raise BadRequest("The request has no args or kwargs.", {}) from None
        self.check_signature(args, kwargs)
        context_data = self.unpack_message_headers(message)
        if self.requires_principal and not context_data.get(PRINCIPAL_KEY):
            self._count(message, "client_error")
            raise Forbidden("No authenticated principal on this call.", {})   # answered by the consumer
        stable_key = headers.get(REQUEST_KEY_HEADER)
        correlation_id = message.properties.get("correlation_id")
        context_data.update({
            REQUEST_KEY: str(stable_key) if stable_key else (f"c:{correlation_id}" if correlation_id else None),
            DEADLINE: deadline,
            MAYBE_HANDLED: bool(stable_key) or bool(message.delivery_info.get("redelivered")),
        })
        if tracing.enabled:
            context_data[tracing.CONTEXT_KEY] = headers.get(tracing.TRACEPARENT)
        try:
            self.container.spawn_worker(self, args, kwargs, context_data=context_data,
                                        handle_result=partial(self.handle_result, message))
        except ContainerBeingKilled:
            self.rpc_consumer.requeue_message(message)

    def handle_result(self, message, worker_ctx, result, exc_info):
        service = self.container.service_name
        outcome = "success"
        if exc_info is not None and isinstance(exc_info[1], AlreadyHandled):
            result, exc_info, outcome = exc_info[1].reply, None, "replayed"
        elif exc_info is not None and is_transient(exc_info[1]):
            outcome = "unavailable"
            if not isinstance(exc_info[1], CrmError):
                log.warning("%s.%s: %r", service, self.method_name, exc_info[1])
            exc = unavailable(service, exc_info[1])
            exc_info = (type(exc), exc, None)
        elif exc_info is not None:
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
        elapsed = self._count(message, outcome)
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

    def _count(self, message, outcome: str) -> float:
        started = getattr(message, "_crm_started", None)
        elapsed = time.perf_counter() - started if started is not None else 0.0
        metrics.RPC_DURATION.labels(self.container.service_name, self.method_name).observe(elapsed)
        metrics.RPC_REQUESTS.labels(self.container.service_name, self.method_name, outcome).inc()
        return elapsed


def _number(value) -> float | None:
    try:
        return float(value) if value is not None else None
    except (TypeError, ValueError):
        return None


rpc = CrmRpc.decorator


class MalformedEvent(Exception):
    pass


class CrmEventHandler(EventHandler):
    """``@event_handler(source, event_type, payload=Schema)``: the handler declares the payload it
    consumes (its own view of the producer's event, in its ``events.py``). The kit checks the
    envelope and loads the payload with that schema before any work (invalid: parked at once),
    records the envelope's ``actor`` as the actor of the unit of work's audit entries, and calls
    the method with the loaded payload."""
    queue_consumer = CrmQueueConsumer()
    trace_kind = "consumer"   # a worker's span, child of the relay's publish (runtime/tracing.py)

    def __init__(self, source_service, event_type, payload=None, **kwargs):
        self.payload_schema = payload() if isinstance(payload, type) else payload
        # Failures are logged here, once, with what becomes of the message (nameko would log each).
        kwargs.setdefault("expected_exceptions", (Exception,))
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

    def on_decode_error(self, message, exc):
        """Parked as it came (its bytes and content type), with the reason."""
        self._park(message.body, message, MalformedEvent(f"undecodable message ({message.content_type}): {exc}"),
                   attempts=0, raw=True)

    def _attempt(self, body, message, attempt, waits=0):
        try:
            envelope = self._check(body)
        except MalformedEvent as exc:
            self._park(body, message, exc, attempts=0)
            return
        try:
            argument = self.argument(envelope)
        except MalformedEvent as exc:
            self._park(body, message, exc, attempts=0)
            return
        context_data = self.unpack_message_headers(message)
        context_data.update(
            request_id=envelope.get("correlation_id"),
            principal=Principal.system(self.container.service_name).to_dict(),
            event_id=envelope["event_id"],
            crm_event_actor=envelope.get("actor"),
        )
        if tracing.enabled:   # the publish's span (message header), else the producer's (envelope)
            context_data[tracing.CONTEXT_KEY] = ((message.headers or {}).get(tracing.TRACEPARENT)
                                                 or envelope.get(tracing.TRACEPARENT))
        handle_result = partial(self.handle_result, message, body, attempt, waits, time.perf_counter())
        try:
            self.container.spawn_worker(self, (argument,), {}, context_data=context_data,
                                        handle_result=handle_result)
        except ContainerBeingKilled:
            self.queue_consumer.requeue_message(message)

    def argument(self, envelope: dict):
        """What the handler method is called with: the payload loaded with its declared schema
        (``MalformedEvent`` if it does not load), or the envelope for a handler declaring none."""
        if self.payload_schema is None:
            return envelope
        try:
            return self.payload_schema.load(envelope["payload"])
        except ValidationError as exc:
            raise MalformedEvent(f"invalid payload: {exc.messages}") from None

    def _check(self, body) -> dict:
        if not isinstance(body, dict):
            raise MalformedEvent("message body is not a JSON object")
        errors = EnvelopeSchema().validate(body)
        if errors:
            raise MalformedEvent(f"invalid envelope: {errors}")
        if body["event_type"] != self.event_type:
            raise MalformedEvent(f"event_type {body['event_type']!r} on a {self.event_type!r} queue")
        return body

    def handle_result(self, message, body, attempt, waits, started, worker_ctx, result, exc_info):
        service, handler = self.container.service_name, self.spec.handler
        metrics.EVENT_DURATION.labels(service, handler).observe(time.perf_counter() - started)
        exc = exc_info[1] if exc_info is not None else None
        if exc is None:
            self._outcome("processed")
            self.queue_consumer.ack_message(message)
        elif isinstance(exc, DuplicateEvent):
            self._outcome("duplicate")
            self.queue_consumer.ack_message(message)
        elif is_transient(exc):
            # Not the message's fault: it waits in its queue (unacknowledged) until we get through.
            self._outcome("unavailable")
            delay = min(TRANSIENT_BACKOFF_MAX, self.backoff * (2 ** min(waits, 16)))
            log.warning("event handler %s cannot reach its database or broker, trying again in %.1fs: %r",
                        handler, delay, exc)
            self.container.spawn_managed_thread(
                partial(self._retry_later, delay, body, message, attempt, waits + 1))
        elif isinstance(exc, (PERMANENT_ERRORS, ValidationError)) or attempt >= self.max_attempts:
            self._park(body, message, exc, attempts=attempt, exc_info=exc_info)
        else:
            self._outcome("retried")
            delay = self.backoff * (2 ** (attempt - 1))
            log.warning("event handler %s failed (attempt %s/%s), retrying in %.1fs: %r",
                        handler, attempt, self.max_attempts, delay, exc, exc_info=exc_info)
            self.container.spawn_managed_thread(partial(self._retry_later, delay, body, message, attempt + 1, 0))
        return result, exc_info

    def _retry_later(self, delay, body, message, attempt, waits):
        eventlet.sleep(delay)
        self._attempt(body, message, attempt, waits)

    def _park(self, body, message, exc, attempts, raw=False, exc_info=None):
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
                                message_id=message_id,
                                content_type=(message.content_type or "application/octet-stream") if raw else None,
                                content_encoding=message.content_encoding if raw else None)
        except Exception:
            log.exception("could not park message in %s; requeueing it", self.spec.dlq_name)
            self.queue_consumer.requeue_message(message)
            return
        log.error("event parked in dead-letter queue %s after %s attempt(s): %r",
                  self.spec.dlq_name, attempts, exc, exc_info=exc_info)
        metrics.DEAD_LETTERED.labels(self.container.service_name, self.spec.handler).inc()
        self._outcome("dead_lettered")
        self.queue_consumer.ack_message(message)

    def _outcome(self, outcome):
        log.info("event %s -> %s %s", self.event_type, self.spec.handler, outcome,
                 extra={"event_type": self.event_type, "handler": self.spec.handler, "outcome": outcome})
        metrics.EVENT_MESSAGES.labels(self.container.service_name, self.spec.handler,
                                      self.event_type, outcome).inc()


event_handler = CrmEventHandler.decorator
