"""OpenTelemetry traces across the platform: HTTP -> RPC -> unit of work -> outbox -> event handler.

Off unless ``OTEL_EXPORTER_OTLP_ENDPOINT`` (or ``OTEL_EXPORTER_OTLP_TRACES_ENDPOINT``) is set when a
process starts (:func:`configure`, called once by ``crm serve``); ``OTEL_SDK_DISABLED=true`` turns it
off whatever the endpoint. **Off costs nothing**: the SDK is not even imported, no span is made, no
header or envelope field is added, and every hook in the kit is one test of :data:`enabled`.

On, each process exports its spans over OTLP/HTTP (protobuf) to the endpoint, in batches, from a
background green thread (the SDK's ``BatchSpanProcessor``; under eventlet's monkey patching its
thread and its ``requests`` session are green). The SDK's own environment variables apply
(``OTEL_TRACES_SAMPLER``, ``OTEL_BSP_SCHEDULE_DELAY``, ``OTEL_EXPORTER_OTLP_HEADERS``,
``OTEL_RESOURCE_ATTRIBUTES``, ...); ``service.name`` is the service's own name.

How the W3C trace context travels (always through the SDK's ``TraceContextTextMapPropagator``, never
parsed here), beside the request id:

- HTTP: the gateway continues a ``traceparent`` a client sends, or starts a trace; its route span
  (``SERVER``, ``"POST /api/v1/leads/{lead_id}/convert"``) is handed to its worker in the nameko
  context data under :data:`CONTEXT_KEY` (a ``crm_`` key: never passed on to the calls it makes);
- RPC: each call is a ``CLIENT`` span whose context goes in the request's ``traceparent`` AMQP
  header; the service's worker is a ``SERVER`` span, child of it;
- a unit of work (one database transaction) is a span, child of the worker's; the events it
  raises carry its context in their envelope (``traceparent``, optional in the envelope schema),
  stored with the event in the outbox;
- the relay's publish of an event is a ``PRODUCER`` span, child of the envelope's context, whose
  own context goes in the message's ``traceparent`` header; the handler's worker is a ``CONSUMER``
  span, child of the publish (or of the envelope's context when the header is missing).

Inside a worker the current span lives in the greenthread's context variables (like the request
id, ``crm_kit.context``): log lines carry its ``trace_id`` and ``span_id``
(``crm_kit.runtime.logging``), and greenthreads spawned with ``contextvars.copy_context()``
(``gateway.fanout``) keep it.
"""
from __future__ import annotations

import logging
import os
from typing import Any

from nameko.extensions import DependencyProvider

log = logging.getLogger(__name__)

ENDPOINT_ENVS = ("OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
TRACEPARENT = "traceparent"           # the W3C header, on RPC requests and published events
CONTEXT_KEY = "crm_traceparent"       # worker context data: the parent of the worker's span

enabled = False                       # set once per process by configure()
_tracer = None
_provider = None
_propagator = None
_trace = None                         # opentelemetry.trace, imported when enabled
_context = None                       # opentelemetry.context
_kinds: dict[str, Any] = {}


def wanted(environ=os.environ) -> bool:
    """Whether the environment asks for traces: an OTLP endpoint is set and the SDK is not disabled."""
    if str(environ.get("OTEL_SDK_DISABLED", "")).strip().lower() == "true":
        return False
    return any(str(environ.get(name, "")).strip() for name in ENDPOINT_ENVS)


def configure(service: str, environ=os.environ, exporter=None) -> bool:
    """Turn tracing on for this process if the environment asks for it (once, at start).

    ``exporter``: a span exporter to use instead of OTLP/HTTP (tests), which also turns it on."""
    global enabled, _tracer, _provider, _propagator, _trace, _context
    if exporter is None and not wanted(environ):
        enabled = False
        return False
    from opentelemetry import context, trace
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor
    from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

    if exporter is None:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
        exporter = OTLPSpanExporter()      # endpoint, headers, timeout: from OTEL_EXPORTER_OTLP_*
    provider = TracerProvider(resource=Resource.create({"service.name": service, "service.namespace": "crm"}))
    provider.add_span_processor(BatchSpanProcessor(exporter))
    _provider, _trace, _context = provider, trace, context
    _tracer = provider.get_tracer("crm_kit")
    _propagator = TraceContextTextMapPropagator()
    _kinds.update(server=trace.SpanKind.SERVER, client=trace.SpanKind.CLIENT, producer=trace.SpanKind.PRODUCER,
                  consumer=trace.SpanKind.CONSUMER, internal=trace.SpanKind.INTERNAL)
    enabled = True
    return True


def endpoint(environ=os.environ) -> str | None:
    return environ.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") or environ.get("OTEL_EXPORTER_OTLP_ENDPOINT")


def shutdown() -> None:
    """Export what is still queued and stop (a process that stops)."""
    global enabled, _provider
    if _provider is not None:
        try:
            _provider.shutdown()
        except Exception as exc:  # pragma: no cover - an unreachable collector must not block a stop
            log.warning("tracing: could not flush spans at shutdown: %r", exc)
    enabled, _provider = False, None


def force_flush(timeout_millis: int = 5000) -> bool:
    return _provider.force_flush(timeout_millis) if _provider is not None else True


# -- propagation --------------------------------------------------------------------------------

def extract(traceparent: str | None, tracestate: str | None = None):
    """The OpenTelemetry context a ``traceparent`` names (None when there is none or it is invalid)."""
    if not traceparent:
        return None
    carrier = {TRACEPARENT: str(traceparent)}
    if tracestate:
        carrier["tracestate"] = str(tracestate)
    ctx = _propagator.extract(carrier)
    return ctx if _trace.get_current_span(ctx).get_span_context().is_valid else None


def traceparent_of(span) -> str | None:
    """``span``'s W3C ``traceparent`` (what goes into a header or an envelope)."""
    carrier: dict[str, str] = {}
    _propagator.inject(carrier, context=_trace.set_span_in_context(span))
    return carrier.get(TRACEPARENT)


def current_traceparent() -> str | None:
    """The ``traceparent`` of the current span in this greenthread, or None (also when off)."""
    if not enabled:
        return None
    carrier: dict[str, str] = {}
    _propagator.inject(carrier)
    return carrier.get(TRACEPARENT)


def current_ids() -> tuple[str, str] | None:
    """``(trace_id, span_id)`` in hex of the current span (log lines), or None."""
    if not enabled:
        return None
    ctx = _trace.get_current_span().get_span_context()
    if not ctx.is_valid:
        return None
    return format(ctx.trace_id, "032x"), format(ctx.span_id, "016x")


# -- spans ----------------------------------------------------------------------------------------

def start_span(name: str, kind: str = "internal", parent=None, attributes: dict | None = None):
    """A started span (end it with :func:`finish`), child of ``parent`` (an OpenTelemetry context,
    e.g. from :func:`extract`) or of the current span. Only call when :data:`enabled`."""
    return _tracer.start_span(name, context=parent, kind=_kinds[kind], attributes=attributes)


def activate(span):
    """Make ``span`` the current one in this greenthread; returns the token for :func:`deactivate`."""
    return _context.attach(_trace.set_span_in_context(span))


def activate_context(ctx):
    return _context.attach(ctx)


def deactivate(token) -> None:
    try:
        _context.detach(token)
    except Exception:  # pragma: no cover - a token of another greenthread's context: nothing to undo here
        pass


def finish(span, error: BaseException | None = None, error_status: bool = True, **attributes) -> None:
    """End ``span``, with ``attributes``; ``error`` recorded (and the span's status set to ERROR unless
    ``error_status`` is false: an expected outcome such as a client's error)."""
    if attributes:
        span.set_attributes({k: v for k, v in attributes.items() if v is not None})
    if error is not None:
        span.set_attribute("error.type", type(error).__name__)
        if error_status:
            span.record_exception(error)
            span.set_status(_trace.Status(_trace.StatusCode.ERROR, str(error)[:200]))
    span.end()


def set_attributes(span, **attributes) -> None:
    span.set_attributes({k: v for k, v in attributes.items() if v is not None})


def set_error(span, description: str) -> None:
    span.set_status(_trace.Status(_trace.StatusCode.ERROR, description[:200]))


def is_expected_error(exc: BaseException) -> bool:
    """A typed error under 500 (the caller's mistake: not found, conflict, invalid input) does not
    make the span an error; everything else does."""
    from crm_kit.errors import CrmError
    return isinstance(exc, CrmError) and getattr(exc, "status", 500) < 500


# -- workers ----------------------------------------------------------------------------------

class Tracing(DependencyProvider):
    """Each worker of the service in a span of its entrypoint's kind (``trace_kind`` on the
    entrypoint class): ``"server"`` for RPC, ``"consumer"`` for event handlers, ``"parent"`` for the
    gateway's HTTP entrypoint (its span is the route's, made by the entrypoint: the worker only
    continues it), anything else (periodic jobs) an internal span. The parent is the context the
    entrypoint put under :data:`CONTEXT_KEY`. Nothing at all when tracing is off."""

    def worker_setup(self, worker_ctx):
        if not enabled:
            return
        entrypoint = worker_ctx.entrypoint
        kind = getattr(entrypoint, "trace_kind", "internal")
        parent = extract(worker_ctx.data.get(CONTEXT_KEY))
        if kind == "parent":
            if parent is not None:
                worker_ctx.crm_trace = (None, activate_context(parent))
            return
        service, method = self.container.service_name, entrypoint.method_name
        if kind == "server":
            name, attributes = f"{service}.{method}", {"rpc.system": "nameko", "rpc.service": service,
                                                       "rpc.method": method}
        elif kind == "consumer":
            event_type = getattr(entrypoint, "event_type", "")
            name = f"process {getattr(entrypoint, 'source_service', '')}.{event_type}"
            attributes = {"messaging.system": "rabbitmq", "messaging.operation.type": "process",
                          "messaging.destination.name": f"{getattr(entrypoint, 'source_service', '')}.events",
                          "messaging.rabbitmq.destination.routing_key": event_type,
                          "messaging.message.id": worker_ctx.data.get("event_id"),
                          "crm.handler": f"{service}.{method}"}
        else:
            name, attributes = f"{service}.{method}", {"crm.entrypoint": type(entrypoint).__name__}
        if worker_ctx.data.get("request_id"):
            attributes["crm.request_id"] = worker_ctx.data["request_id"]
        span = start_span(name, kind, parent=parent, attributes=attributes)
        worker_ctx.crm_trace = (span, activate(span))

    def worker_result(self, worker_ctx, result=None, exc_info=None):
        state = getattr(worker_ctx, "crm_trace", None)
        if state is None or state[0] is None:
            return
        exc = exc_info[1] if exc_info else None
        if exc is not None and type(exc).__name__ in ("DuplicateEvent", "AlreadyHandled"):
            state[0].set_attribute("crm.outcome", "duplicate" if type(exc).__name__ == "DuplicateEvent"
                                   else "replayed")
            exc = None
        finish(state[0], exc, error_status=exc is not None and not is_expected_error(exc))

    def worker_teardown(self, worker_ctx):
        state = getattr(worker_ctx, "crm_trace", None)
        if state is not None:
            deactivate(state[1])
            worker_ctx.crm_trace = None
