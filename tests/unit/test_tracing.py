"""crm_kit.runtime.tracing: the W3C trace context through the kit's hooks, and nothing at all when off.

The spans cross processes in tests/integration/test_tracing.py; here the propagation helpers, the
unit of work's and the relay's spans with an in-memory exporter, and the off mode.
"""
from __future__ import annotations

import io
import json
import logging
import subprocess
import sys
from types import SimpleNamespace

import pytest
from marshmallow import Schema, fields
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode

from crm_kit.errors import NotFound
from crm_kit.records.db import make_base
from crm_kit.runtime import tracing
from crm_kit.runtime.events import ENVELOPE_FIELDS, EnvelopeSchema, EventType
from crm_kit.runtime.logging import ContextFilter, configure_logging
from crm_kit.runtime.outbox import OutboxRelay

Base = make_base()


class Payload(Schema):
    n = fields.Integer(required=True)


PING = EventType("ping_happened", Payload)


class Publisher:
    def __init__(self):
        self.calls = []

    def publish(self, body, *, exchange, routing_key, headers, message_id=None):
        self.calls.append({"body": body, "headers": headers, "message_id": message_id})


@pytest.fixture
def spans():
    """Tracing on for the test, spans kept in memory; off again afterwards."""
    exporter = InMemorySpanExporter()
    assert tracing.configure("unittest", environ={}, exporter=exporter)

    def finished():
        tracing.force_flush()
        return exporter.get_finished_spans()
    yield finished
    tracing.shutdown()
    assert not tracing.enabled


@pytest.fixture
def db(make_db):
    return make_db(Base, "tracetest")


def hexid(span_id: int) -> str:
    return format(span_id, "016x")


def names(traceparent: str, span) -> bool:
    """``traceparent`` (version 00) names this finished span."""
    version, trace_id, span_id, _flags = traceparent.split("-")
    return (version, trace_id, span_id) == ("00", format(span.context.trace_id, "032x"), hexid(span.context.span_id))


def test_the_environment_decides_once():
    assert not tracing.wanted({})
    assert not tracing.wanted({"OTEL_EXPORTER_OTLP_ENDPOINT": "  "})
    assert tracing.wanted({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318"})
    assert tracing.wanted({"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://collector:4318/v1/traces"})
    assert not tracing.wanted({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318", "OTEL_SDK_DISABLED": "true"})
    assert tracing.configure("x", environ={}) is False and not tracing.enabled


def test_inject_extract_round_trip(spans):
    span = tracing.start_span("outer", "server")
    traceparent = tracing.traceparent_of(span)
    ctx = tracing.extract(traceparent)
    remote = tracing._trace.get_current_span(ctx).get_span_context()
    assert remote.is_remote
    assert (remote.trace_id, remote.span_id) == (span.get_span_context().trace_id, span.get_span_context().span_id)
    child = tracing.start_span("child", "client", parent=ctx)
    child.end()
    span.end()
    [finished_child, finished_outer] = spans()
    assert finished_child.parent.span_id == finished_outer.context.span_id
    assert finished_child.context.trace_id == finished_outer.context.trace_id
    assert finished_child.kind is SpanKind.CLIENT and finished_outer.kind is SpanKind.SERVER


@pytest.mark.parametrize("bad", [None, "", "garbage", "00-" + "0" * 32 + "-" + "0" * 16 + "-01",
                                 "00-abc-def-01"])
def test_an_invalid_traceparent_is_no_parent(spans, bad):
    assert tracing.extract(bad) is None


def test_current_span_and_log_lines_carry_the_ids(spans):
    span = tracing.start_span("worker", "server")
    token = tracing.activate(span)
    try:
        assert tracing.current_traceparent() == tracing.traceparent_of(span)
        trace_id, span_id = tracing.current_ids()
        record = logging.LogRecord("x", logging.INFO, __file__, 1, "hello", (), None)
        ContextFilter("unittest").filter(record)
        assert (record.trace_id, record.span_id) == (trace_id, span_id) == (
            format(span.get_span_context().trace_id, "032x"), hexid(span.get_span_context().span_id))
        out = io.StringIO()
        configure_logging("unittest", stream=out)
        logging.getLogger("crm.test").warning("traced line")
        line = json.loads(out.getvalue().splitlines()[-1])
        assert line["trace_id"] == trace_id and line["span_id"] == span_id
    finally:
        tracing.deactivate(token)
        span.end()
        logging.getLogger().handlers[:] = []
    assert tracing.current_ids() is None


def test_a_unit_of_work_is_a_span_and_its_events_carry_its_context(spans, db):
    worker = tracing.start_span("leads.convert_lead", "server")
    token = tracing.activate(worker)
    try:
        with db.uow() as uow:
            env = uow.emit(PING, {"n": 1})
            uow.commit()
    finally:
        tracing.deactivate(token)
        worker.end()
    transaction = next(s for s in spans() if s.name == "transaction tracetest")
    assert transaction.parent.span_id == worker.get_span_context().span_id
    assert transaction.attributes["crm.committed"] is True and transaction.attributes["crm.events"] == 1
    assert transaction.attributes["db.system.name"] == "sqlite"
    assert names(env["traceparent"], transaction)
    assert EnvelopeSchema().validate(env) == {}
    assert db.outbox()[0].body["traceparent"] == env["traceparent"]     # stored with the event


def test_a_failed_unit_of_work_is_an_error_span_a_client_error_is_not(spans, db):
    with pytest.raises(RuntimeError):
        with db.uow():
            raise RuntimeError("boom")
    with pytest.raises(NotFound):
        with db.uow():
            raise NotFound("no such lead", {})
    failed, not_found = spans()
    assert failed.status.status_code is StatusCode.ERROR and failed.attributes["error.type"] == "RuntimeError"
    assert not_found.status.status_code is not StatusCode.ERROR and not_found.attributes["error.type"] == "NotFound"
    assert failed.attributes["crm.committed"] is False


def test_the_relay_publish_is_a_child_of_the_envelope_and_its_context_goes_in_the_header(spans, db):
    with db.uow() as uow:
        env = uow.emit(PING, {"n": 1})
        uow.commit()
    publisher = Publisher()
    relay = OutboxRelay("tracetest", db.session_factory, db.metadata, publisher)
    assert relay.publish_ids([env["event_id"]]) == 1
    transaction, publish = spans()
    assert publish.name == "publish ping_happened" and publish.kind is SpanKind.PRODUCER
    assert publish.parent.span_id == transaction.context.span_id
    assert publish.attributes["messaging.message.id"] == env["event_id"]
    [call] = publisher.calls
    assert names(call["headers"]["traceparent"], publish)
    assert call["body"]["traceparent"] == env["traceparent"]                  # the envelope is as stored
    assert "traceparent" not in (db.outbox()[0].headers or {})


def test_an_event_without_traceparent_is_published_without_a_span(spans, db):
    tracing.enabled = False          # raised by a producer that does not trace
    with db.uow() as uow:
        env = uow.emit(PING, {"n": 1})
        uow.commit()
    tracing.enabled = True
    publisher = Publisher()
    OutboxRelay("tracetest", db.session_factory, db.metadata, publisher).publish_ids([env["event_id"]])
    assert spans() == () or list(spans()) == []
    assert "traceparent" not in publisher.calls[0]["headers"]


def _worker_ctx(entrypoint, data):
    return SimpleNamespace(entrypoint=entrypoint, data=data)


def test_the_worker_span_continues_the_callers_and_is_current_meanwhile(spans):
    caller = tracing.start_span("gateway -> leads.convert_lead", "client")
    provider = tracing.Tracing()
    provider.container = SimpleNamespace(service_name="leads")
    rpc = SimpleNamespace(trace_kind="server", method_name="convert_lead")
    ctx = _worker_ctx(rpc, {tracing.CONTEXT_KEY: tracing.traceparent_of(caller), "request_id": "r-1"})
    provider.worker_setup(ctx)
    inside = tracing.current_ids()
    provider.worker_result(ctx, None, None)
    provider.worker_teardown(ctx)
    caller.end()
    assert tracing.current_ids() is None
    server = next(s for s in spans() if s.name == "leads.convert_lead")
    assert server.kind is SpanKind.SERVER and server.parent.span_id == caller.get_span_context().span_id
    assert inside == (format(server.context.trace_id, "032x"), hexid(server.context.span_id))
    assert server.attributes["crm.request_id"] == "r-1" and server.attributes["rpc.method"] == "convert_lead"


def test_a_handler_worker_is_a_consumer_span_an_error_marks_it(spans):
    provider = tracing.Tracing()
    provider.container = SimpleNamespace(service_name="customers")
    handler = SimpleNamespace(trace_kind="consumer", method_name="on_lead_converted", source_service="leads",
                              event_type="lead_converted")
    ctx = _worker_ctx(handler, {"event_id": "e-1"})
    provider.worker_setup(ctx)
    try:
        raise ValueError("bad")
    except ValueError as exc:
        provider.worker_result(ctx, None, (ValueError, exc, None))
    provider.worker_teardown(ctx)
    [span] = spans()
    assert span.name == "process leads.lead_converted" and span.kind is SpanKind.CONSUMER
    assert span.parent is None and span.status.status_code is StatusCode.ERROR
    assert span.attributes["messaging.message.id"] == "e-1"


def test_off_creates_nothing(db, monkeypatch):
    assert not tracing.enabled
    monkeypatch.setattr(tracing, "start_span", lambda *a, **k: pytest.fail("a span was started with tracing off"))
    with db.uow() as uow:
        env = uow.emit(PING, {"n": 1})
        uow.commit()
    assert tuple(env) == ENVELOPE_FIELDS                   # no traceparent field
    publisher = Publisher()
    OutboxRelay("tracetest", db.session_factory, db.metadata, publisher).publish_ids([env["event_id"]])
    assert "traceparent" not in publisher.calls[0]["headers"]
    provider = tracing.Tracing()
    ctx = _worker_ctx(SimpleNamespace(trace_kind="server", method_name="m"), {tracing.CONTEXT_KEY: "x"})
    provider.worker_setup(ctx)
    provider.worker_result(ctx)
    provider.worker_teardown(ctx)
    assert not hasattr(ctx, "crm_trace")
    assert tracing.current_traceparent() is None and tracing.current_ids() is None


def test_off_a_service_process_does_not_even_import_the_sdk(tmp_path):
    """What ``crm serve`` loads for a service, run without an endpoint: no OpenTelemetry module at all."""
    code = ("import sys; from crm_kit.runtime import tracing; from services.leads.service import LeadsService; "
            "import gateway.service; assert tracing.configure('leads') is False; "
            "loaded = sorted(m for m in sys.modules if m.startswith('opentelemetry')); "
            "print(loaded); assert not loaded, loaded")
    env = {k: v for k, v in __import__("os").environ.items() if not k.startswith("OTEL_")}
    result = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
