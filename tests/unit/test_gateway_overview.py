"""The customer's overview, gathered by the gateway (``gateway.overview``, ``gateway.fanout``): the
customer's own part from customers is the page's (its 404 / 503 too); the other parts are fetched in
parallel within the deadline, and one whose service does not answer (hung, not running, failing,
refusing) is marked unavailable with the reason instead of failing or holding up the page. Through
the dispatcher, with fake RPC proxies; a hung service is a fake that sleeps past the deadline."""
from __future__ import annotations

import inspect
import json
import time

import eventlet
import pytest
from nameko.extensions import ENTRYPOINT_EXTENSIONS_ATTR
from nameko.rpc import Rpc
from werkzeug.test import EnvironBuilder
from werkzeug.wrappers import Request

from crm_kit.context import DEADLINE, Principal
from crm_kit.errors import NotFound, ServiceUnavailable
from crm_kit.ops.topology import service_class
from crm_kit.runtime.rpc_client import REPLY_GRACE
from gateway import overview
from gateway.fanout import REASONS, Gatherer, gather
from gateway.identity import auth
from gateway.models import Base
from gateway.ratelimit import RateLimits
from gateway.service import GatewayService

ADMIN = Principal("admin-1", "admin", None, ())
DEADLINE_S = 0.3
CUSTOMER = {"customer": {"id": "C1", "name": "Keller Logistik", "source_lead_id": "L1", "contacts": []},
            "follow_ups": [{"id": "F1", "kind": "call"}], "deal": {"deal_status": "prospect"}}
LEAD = {"id": "L1", "name": "Maria Keller", "status": "converted"}
OPPORTUNITIES = {"items": [{"id": "O1", "stage": "proposal"}], "next_cursor": None}
ORDERS = {"items": [{"id": "SO1", "number": "SO-2026-000001"}], "next_cursor": None}
RECEIVABLES = {"items": [{"id": "R1", "status": "overdue", "outstanding_amount": "120.00"}]}
TICKETS = {"items": [{"id": "T1", "number": "TK-2026-000001", "status": "in_progress"}]}


class Service:
    """A service's RPC proxy: each method answers ``answers[name]`` (a value, an exception to raise, or
    a function of the keyword arguments), recording the calls."""

    def __init__(self, **answers):
        self.answers, self.calls = answers, []

    def __getattr__(self, name):
        def call(*args, **kwargs):
            assert not args
            self.calls.append((name, kwargs))
            answer = self.answers[name]
            if isinstance(answer, BaseException):
                raise answer
            return answer(**kwargs) if callable(answer) else answer
        return call


def hung(**kwargs):
    eventlet.sleep(30)          # a service holding the request, saying nothing


@pytest.fixture
def gateway(make_db, monkeypatch):
    monkeypatch.setattr(auth, "authenticate", lambda request, uow: ADMIN)
    monkeypatch.setattr(overview, "DEADLINE_SECONDS", DEADLINE_S)
    gw = GatewayService.__new__(GatewayService)
    gw.db, gw.rate_limits, gw.establish_principal = make_db(Base, "gateway").uow(), RateLimits(), lambda p: None
    gw.worker_data = {}
    gw.fanout = Gatherer(gw.worker_data)
    gw.customers = Service(customer_overview=CUSTOMER)
    gw.leads = Service(get_lead=LEAD, list_lead_follow_ups={"items": [{"id": "LF1"}], "next_cursor": None})
    gw.sales = Service(customer_opportunities=OPPORTUNITIES, list_orders=ORDERS)
    gw.billing, gw.support = Service(customer_receivables=RECEIVABLES), Service(customer_tickets=TICKETS)
    return gw


def get(gateway, path="/api/v1/customers/C1/overview"):
    started = time.monotonic()
    response = gateway.dispatch(Request(EnvironBuilder(method="GET", path=path).get_environ()))
    return response, json.loads(response.get_data()), time.monotonic() - started


def test_every_part_that_answers_is_in_the_page(gateway):
    response, page, _ = get(gateway)
    assert response.status_code == 200
    assert (page["customer"], page["follow_ups"], page["deal"]) == (
        CUSTOMER["customer"], CUSTOMER["follow_ups"], CUSTOMER["deal"])
    assert page["source_lead"] == {"available": True, "data": LEAD, "reason": None, "detail": None}
    assert page["source_lead_follow_ups"] == {"available": True, "items": [{"id": "LF1"}], "reason": None,
                                              "detail": None}
    assert gateway.customers.calls == [("customer_overview", {"customer_id": "C1"})]
    assert sorted(gateway.leads.calls) == [("get_lead", {"lead_id": "L1"}),
                                           ("list_lead_follow_ups", {"lead_id": "L1", "query": {"limit": 10}})]
    assert sorted(gateway.sales.calls) == [("customer_opportunities", {"customer_id": "C1", "limit": 10}),
                                           ("list_orders", {"query": {"customer_id": "C1", "limit": 10}})]
    assert page["open_opportunities"]["items"] == OPPORTUNITIES["items"]
    assert page["recent_orders"]["items"] == ORDERS["items"]
    assert gateway.billing.calls == [("customer_receivables", {"customer_id": "C1", "limit": 10})]
    assert page["open_receivables"] == {"available": True, "items": RECEIVABLES["items"], "reason": None,
                                        "detail": None}
    assert gateway.support.calls == [("customer_tickets", {"customer_id": "C1", "limit": 10})]
    assert page["tickets"] == {"available": True, "items": TICKETS["items"], "reason": None, "detail": None}
    assert page["unavailable"] == []


def test_a_part_no_service_provides_yet_is_marked_so_and_nothing_is_made_up(gateway):
    missing = overview.Part("tickets", "support", "items", missing="The support service does not provide it yet.")
    parts = tuple(p for p in overview.PARTS if p.name != "tickets") + (missing,)
    page = overview.customer_overview(gateway, ADMIN, "C1", parts)
    assert page["tickets"]["available"] is False and page["tickets"]["items"] is None
    assert page["tickets"]["reason"] == "not_provided" and "support" in page["tickets"]["detail"]
    assert page["unavailable"] == ["tickets"] and gateway.support.calls == []


def test_a_hung_service_leaves_its_parts_unavailable_within_the_deadline(gateway):
    gateway.leads = Service(get_lead=hung, list_lead_follow_ups=hung)
    response, page, elapsed = get(gateway)
    assert response.status_code == 200
    assert elapsed < DEADLINE_S + REPLY_GRACE + 0.5, elapsed          # never the service's 30 s
    for name in ("source_lead", "source_lead_follow_ups"):
        assert page[name]["available"] is False and page[name]["reason"] == "not_answered"
    assert page["source_lead"]["data"] is None and page["source_lead_follow_ups"]["items"] is None
    assert page["unavailable"] == ["source_lead", "source_lead_follow_ups"]
    assert page["customer"]["id"] == "C1"                              # the rest of the page is there


def test_one_hung_part_does_not_hold_up_the_others(gateway):
    gateway.leads = Service(get_lead=LEAD, list_lead_follow_ups=hung)
    _, page, _ = get(gateway)
    assert page["source_lead"]["available"] is True and page["source_lead"]["data"] == LEAD
    assert page["source_lead_follow_ups"]["reason"] == "not_answered"


@pytest.mark.parametrize("error, reason", [
    (ServiceUnavailable("The leads service is not running.", {"service": "leads"}), "not_answered"),
    (NotFound("lead L1 was not found.", {}), "not_visible"),       # out of the caller's scope, or deleted
    (RuntimeError("boom"), "failed"),
])
def test_a_part_that_fails_is_marked_with_the_reason(gateway, error, reason):
    gateway.leads = Service(get_lead=error, list_lead_follow_ups=error)
    response, page, _ = get(gateway)
    assert response.status_code == 200
    assert page["source_lead"]["reason"] == reason and page["source_lead"]["detail"]
    assert "boom" not in json.dumps(page)                               # nothing internal shown


def test_no_source_lead_is_an_available_empty_part_and_calls_nothing(gateway):
    gateway.customers = Service(customer_overview={**CUSTOMER, "customer": {"id": "C1", "source_lead_id": None}})
    _, page, _ = get(gateway)
    assert page["source_lead"] == {"available": True, "data": None, "reason": None, "detail": None}
    assert page["source_lead_follow_ups"]["items"] == [] and gateway.leads.calls == []


@pytest.mark.parametrize("error, status", [
    (NotFound("customer C1 was merged into customer C2.", {"merged_into": "C2"}), 404),
    (ServiceUnavailable("The customers service did not answer in time.", {"service": "customers"}), 503),
])
def test_the_customers_own_part_is_the_pages(gateway, error, status):
    gateway.customers = Service(customer_overview=error)
    response, body, _ = get(gateway)
    assert response.status_code == status and body["detail"] == error.detail
    assert gateway.leads.calls == []


def test_the_calls_carry_the_deadline_and_the_worker_gets_its_own_back(gateway):
    seen = []
    gateway.leads = Service(get_lead=lambda **kw: seen.append(gateway.worker_data.get(DEADLINE)) or LEAD,
                            list_lead_follow_ups={"items": []})
    before = time.time()
    get(gateway)
    assert seen and before + DEADLINE_S - 0.05 <= seen[0] <= time.time() + DEADLINE_S
    assert DEADLINE not in gateway.worker_data


def test_a_sooner_deadline_of_the_worker_is_kept():
    data = {DEADLINE: time.time() + 0.1}
    outcome = gather({"slow": lambda: eventlet.sleep(5)}, 10, data)["slow"]
    assert outcome.reason == "not_answered"
    assert set(REASONS) >= {"not_answered", "not_visible", "not_provided"}


def test_every_part_that_calls_a_service_calls_an_rpc_it_has_with_what_it_takes():
    class Recorder:
        def __init__(self):
            self.calls = []

        def __getattr__(self, service):
            def method(name):
                def call(**kwargs):
                    self.calls.append((service, name, kwargs))
                    return {"items": []}
                return call
            return type("Proxy", (), {"__getattr__": lambda _, name: method(name)})()
    for part in overview.PARTS:
        if part.call is None:
            assert part.missing
            continue
        services = Recorder()
        part.call(services, CUSTOMER["customer"])
        ((service, rpc, kwargs),) = services.calls
        assert service == part.service
        target = getattr(service_class(service), rpc)
        assert any(isinstance(ep, Rpc) for ep in getattr(target, ENTRYPOINT_EXTENSIONS_ATTR, ()))
        inspect.signature(target).bind(None, **kwargs)
