"""The service READMEs cannot silently drift from the code.

For every service: each ``@rpc`` method, each queue it consumes (and its
``.dlq``), each event type it publishes (``services/<name>/events.py``) and
each configuration key is named in ``services/<name>/README.md``. For the
gateway: every route (path and target RPC) and the probe endpoints.
"""
from __future__ import annotations

import importlib
import importlib.util
import inspect
import re

import pytest
from nameko.extensions import ENTRYPOINT_EXTENSIONS_ATTR

from crm_kit.config import REPO_ROOT, SERVICES
from crm_kit.ops.topology import handler_queues, service_class
from crm_kit.runtime.entrypoints import CrmRpc
from crm_kit.runtime.events import EventType

COMMON_CONFIG = ("AMQP_URI", "LOG_LEVEL", "METRICS_PORT", "MAX_WORKERS", "EVENT_MAX_ATTEMPTS",
                 "EVENT_RETRY_BACKOFF_SECONDS", "OUTBOX_SWEEP_INTERVAL_SECONDS",
                 "OUTBOX_SWEEP_MIN_AGE_SECONDS", "RPC_TIMEOUT_SECONDS")
METRICS = ("crm_rpc_requests_total", "crm_rpc_request_duration_seconds", "crm_outbox_pending",
           "crm_outbox_oldest_pending_age_seconds", "crm_events_published_total",
           "crm_outbox_publish_failures_total")
CONSUMER_METRICS = ("crm_event_handler_messages_total", "crm_dead_lettered_messages_total",
                    "crm_queue_messages", "crm_dead_letter_queue_messages")


def readme(name: str) -> str:
    path = REPO_ROOT / ("gateway" if name == "gateway" else f"services/{name}") / "README.md"
    assert path.is_file(), f"{path} is missing"
    return path.read_text(encoding="utf-8")


def names(text: str, name: str, quoted: bool = False) -> bool:
    """``name`` appears in ``text`` as a whole name, not as the start of a longer one
    (``get_lead`` is not documented by ``get_lead_follow_up``); ``quoted``: in backticks, as the
    READMEs write code, e.g. `` `get_lead` `` or `` `get_lead(lead_id)` ``."""
    before = "`" if quoted else r"(?<![A-Za-z0-9_.])"
    return re.search(before + re.escape(name) + r"(?![A-Za-z0-9_])", text) is not None


def test_a_name_is_found_whole_not_as_a_prefix():
    assert names("`get_lead(lead_id)` and `list_leads`", "get_lead", quoted=True)
    assert names("`list_leads`", "list_leads", quoted=True)
    assert not names("`get_lead_follow_up`", "get_lead", quoted=True)
    assert not names("leads.get_lead_follow_up", "leads.get_lead")
    assert not names("crm_rpc_requests_total_x", "crm_rpc_requests_total")


def rpc_methods(cls) -> list[str]:
    return sorted(
        name for name, method in inspect.getmembers(cls, inspect.isfunction)
        if any(isinstance(ep, CrmRpc) for ep in getattr(method, ENTRYPOINT_EXTENSIONS_ATTR, ()))
    )


def published_events(name: str) -> list[str]:
    module_name = f"services.{name}.events"
    if importlib.util.find_spec(module_name) is None:
        return []
    module = importlib.import_module(module_name)
    return sorted(v.name for v in vars(module).values() if isinstance(v, EventType))


def test_discovery_finds_the_known_entrypoints():
    """Guard the guard: if discovery broke, every README check below would pass vacuously."""
    assert {"create_lead", "get_lead", "list_leads", "convert_lead", "ping"} <= set(
        rpc_methods(service_class("leads")))
    assert {"evt-leads-lead_converted--customers.handle_lead_converted",
            "evt-sales-order_approved--customers.handle_order_approved"} <= {
        q.name for q in handler_queues(service_class("customers"))}
    assert {"lead_converted", "lead_created"} <= set(published_events("leads"))


@pytest.mark.parametrize("name", SERVICES)
def test_every_rpc_method_documented(name):
    text = readme(name)
    methods = rpc_methods(service_class(name))
    assert "ping" in methods
    missing = [m for m in methods if not names(text, m, quoted=True)]
    assert not missing, f"services/{name}/README.md does not document RPC {missing}"


@pytest.mark.parametrize("name", SERVICES)
def test_every_consumed_queue_and_its_dlq_documented(name):
    text = readme(name)
    missing = [q for spec in handler_queues(service_class(name)) for q in (spec.name, spec.dlq_name)
               if not names(text, q)]
    assert not missing, f"services/{name}/README.md does not name queues {missing}"


@pytest.mark.parametrize("name", SERVICES)
def test_every_published_event_documented(name):
    text = readme(name)
    missing = [e for e in published_events(name) if f"`{e}`" not in text]
    assert not missing, f"services/{name}/README.md does not document published events {missing}"


@pytest.mark.parametrize("name", SERVICES)
def test_config_keys_documented(name):
    text = readme(name)
    keys = COMMON_CONFIG + (f"{name.upper()}_DATABASE_URL", f"sqlite:///var/{name}.db")
    missing = [k for k in keys if k not in text]
    assert not missing, f"services/{name}/README.md does not document config {missing}"


@pytest.mark.parametrize("name", SERVICES)
def test_metrics_documented(name):
    text = readme(name)
    expected = METRICS + (CONSUMER_METRICS if handler_queues(service_class(name)) else ())
    missing = [m for m in expected if not names(text, m)]
    assert not missing, f"services/{name}/README.md does not document metrics {missing}"


def test_gateway_routes_documented():
    from gateway.routes import ROUTES
    text = readme("gateway")
    missing = []
    for route in ROUTES:
        path = route.path.replace("<", "{").replace(">", "}")
        if path not in text and route.path not in text:
            missing.append(f"{route.method} {route.path}")
        if not names(text, f"{route.service}.{route.rpc}"):
            missing.append(f"{route.service}.{route.rpc}")
    for probe in ("/healthz", "/readyz", "/metrics"):
        if probe not in text:
            missing.append(probe)
    for key in ("AMQP_URI", "GATEWAY_HOST", "GATEWAY_PORT", "RPC_TIMEOUT_SECONDS", "LOG_LEVEL",
                "crm_http_requests_total", "crm_rpc_client_calls_total"):
        if key not in text:
            missing.append(key)
    assert not missing, f"gateway/README.md is missing {missing}"
