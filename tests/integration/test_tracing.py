"""One conversion, one trace: spans from the gateway, leads and customers processes, each with its parent.

The platform (gateway, leads, customers: the processes a conversion crosses) runs with
``OTEL_EXPORTER_OTLP_ENDPOINT`` pointing at an OTLP/HTTP receiver in this test process
(``otlp_receiver``), which decodes what the SDK's exporters send. Converting a lead over HTTP must
produce one trace:

    POST /api/v1/leads/<lead_id>/convert        gateway    SERVER    (the root)
      leads.convert_lead                        gateway    CLIENT
        leads.convert_lead                      leads      SERVER
          transaction leads                     leads      INTERNAL  (the unit of work)
            publish lead_converted              leads      PRODUCER  (the outbox relay)
              process leads.lead_converted      customers  CONSUMER  (the handler)
                transaction customers           customers  INTERNAL
                  publish customer_converted_from_lead          customers  PRODUCER
                    process customers.customer_converted_from_lead  leads  CONSUMER
                      transaction leads         leads      INTERNAL

and every span's parent is in the trace. Log lines of the request carry its trace id.
"""
from __future__ import annotations

import json
import uuid

import pytest

from crm_kit.ids import new_id
from tests.integration.harness import Platform
from tests.integration.otlp_receiver import OtlpReceiver

CONVERT_ROUTE = "/api/v1/leads/<lead_id>/convert"


@pytest.fixture(scope="module")
def traced(tmp_path_factory):
    receiver = OtlpReceiver().start()
    platform = Platform(tmp_path_factory.mktemp("tracing"), backend="sqlite",
                        services=("leads", "customers", "gateway"),
                        extra_env={"OTEL_EXPORTER_OTLP_ENDPOINT": receiver.endpoint,
                                   "OTEL_BSP_SCHEDULE_DELAY": "100"})
    try:
        platform.start()
        yield platform, receiver
    finally:
        platform.destroy()
        receiver.stop()


def _child(spans, parent, service, kind, name):
    found = [s for s in spans if s.parent_span_id == parent.span_id and s.service == service
             and s.kind == kind and s.name == name]
    assert found, (f"no {kind} span {name!r} of {service} under {parent.name!r} ({parent.service}); spans: "
                   + "; ".join(f"{s.service}:{s.kind}:{s.name}<-{s.parent_span_id}" for s in spans))
    return found[0]


def test_one_conversion_is_one_trace_across_three_processes(traced):
    platform, receiver = traced
    request_id = f"trace-{new_id()}"
    lead = platform.post("/api/v1/leads", json={"name": "Traced", "company": f"Spans {new_id()[-6:]}",
                                                "source": "web_form"}).json()
    converted = platform.post(f"/api/v1/leads/{lead['id']}/convert", json={}, headers={"X-Request-ID": request_id})
    assert converted.status_code == 200, converted.text
    platform.eventually(lambda: platform.get(f"/api/v1/leads/{lead['id']}").json()["customer_id"])

    def route_span():
        return next((s for s in receiver.spans() if s.service == "gateway" and s.kind == "server"
                     and s.attributes.get("crm.request_id") == request_id
                     and s.attributes.get("http.route") == CONVERT_ROUTE), None)
    route = platform.eventually(route_span)
    assert route.name == f"POST {CONVERT_ROUTE}" and route.parent_span_id is None
    assert route.attributes["http.response.status_code"] == 200

    def last_hop():      # the leads service's unit of work recording the customer: the end of the chain
        spans = receiver.trace(route.trace_id)
        return spans if any(s.service == "leads" and s.kind == "consumer"
                            and s.name == "process customers.customer_converted_from_lead" for s in spans) else None
    platform.eventually(last_hop)
    platform.eventually(lambda: len(receiver.trace(route.trace_id)) >= 10)
    spans = receiver.trace(route.trace_id)

    assert {"gateway", "leads", "customers"} <= {s.service for s in spans}
    ids = {s.span_id for s in spans}
    assert len(ids) == len(spans), "a span was exported twice"
    roots = [s for s in spans if s.parent_span_id is None]
    assert roots == [route], f"roots: {roots}"
    orphans = [s for s in spans if s.parent_span_id is not None and s.parent_span_id not in ids]
    assert not orphans, f"spans whose parent is not in the trace: {orphans}"

    client = _child(spans, route, "gateway", "client", "leads.convert_lead")
    server = _child(spans, client, "leads", "server", "leads.convert_lead")
    assert server.attributes["crm.request_id"] == request_id
    transaction = _child(spans, server, "leads", "internal", "transaction leads")
    assert transaction.attributes["crm.committed"] is True and transaction.attributes["crm.events"] >= 1
    published = _child(spans, transaction, "leads", "producer", "publish lead_converted")
    handled = _child(spans, published, "customers", "consumer", "process leads.lead_converted")
    assert handled.attributes["crm.handler"] == "customers.handle_lead_converted"
    customers_tx = _child(spans, handled, "customers", "internal", "transaction customers")
    answered = _child(spans, customers_tx, "customers", "producer", "publish customer_converted_from_lead")
    recorded = _child(spans, answered, "leads", "consumer", "process customers.customer_converted_from_lead")
    _child(spans, recorded, "leads", "internal", "transaction leads")
    assert all(s.status != 2 for s in spans), [s for s in spans if s.status == 2]

    # the log lines written for the request carry its trace id, in each process it crossed
    for name in ("gateway", "leads", "customers"):
        lines = [json.loads(line) for line in platform.log(name).splitlines() if line.startswith("{")]
        assert any(rec.get("trace_id") == route.trace_id for rec in lines), f"{name}: no line with the trace id"


def test_a_client_traceparent_is_continued_and_probes_are_not_traced(traced):
    platform, receiver = traced
    trace_id = uuid.uuid4().hex
    traceparent = f"00-{trace_id}-{'a1' * 8}-01"
    resp = platform.post("/api/v1/leads", json={"name": "Continued", "source": "web_form"},
                         headers={"traceparent": traceparent})
    assert resp.status_code == 201, resp.text
    spans = platform.eventually(lambda: [s for s in receiver.trace(trace_id) if s.service == "leads"])
    route = next(s for s in receiver.trace(trace_id) if s.service == "gateway" and s.kind == "server")
    assert route.parent_span_id == "a1" * 8 and route.attributes["http.route"] == "/api/v1/leads"
    assert any(s.name == "leads.create_lead" and s.kind == "server" for s in spans)
    platform.get("/healthz")
    platform.get("/readyz")
    assert not [s for s in receiver.spans() if s.service == "gateway" and s.attributes.get("url.path") in
                ("/healthz", "/readyz")]
