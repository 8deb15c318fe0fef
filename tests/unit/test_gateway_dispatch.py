"""The gateway's dispatcher: what a request becomes, for every route alike -- the keyword arguments the
route declares (``gateway.routes``, read by ``gateway.arguments``), the users it names checked first,
their departments passed on -- and nothing called when the request is refused."""
from __future__ import annotations

import json

import pytest
from werkzeug.test import EnvironBuilder
from werkzeug.wrappers import Request

from crm_kit.context import Principal
from gateway.http import Streamed
from gateway.identity import auth
from gateway.identity.models import Department, User
from gateway.models import Base
from gateway.ratelimit import RateLimits
from gateway.service import GatewayService

ADMIN = Principal("admin-1", "admin", None, ())


class Service:
    """A service's RPC proxy that records each call (name, keyword arguments) and answers ``reply``."""

    def __init__(self, reply=None):
        self.calls, self.reply = [], reply

    def __getattr__(self, name):
        def call(*args, **kwargs):
            assert not args, f"{name} was called with positional arguments {args}"
            self.calls.append((name, kwargs))
            return self.reply(name, kwargs) if self.reply else {"id": "R1", "version": 1}
        return call


@pytest.fixture
def gateway(make_db, monkeypatch):
    db = make_db(Base, "gateway")
    with db.session() as s:
        s.add(Department(id="d1", name="Sales"))
        s.flush()
        s.add_all([User(id="u1", username="one", password_hash="-", role="member", department_id="d1", active=True),
                   User(id="u2", username="two", password_hash="-", role="member", department_id=None, active=True)])
        s.commit()
    monkeypatch.setattr(auth, "authenticate", lambda request, uow: ADMIN)
    gw = GatewayService.__new__(GatewayService)
    gw.db, gw.rate_limits, gw.establish_principal = db.uow(), RateLimits(), lambda principal: None
    gw.leads, gw.customers = Service(), Service()
    return gw


def send(gateway, method, path, json_body=None, **kwargs):
    if json_body is not None:
        kwargs.update(data=json.dumps(json_body), content_type="application/json")
    return gateway.dispatch(Request(EnvironBuilder(method=method, path=path, **kwargs).get_environ()))


def problem(response, status):
    assert response.status_code == status, response.get_data(as_text=True)
    return json.loads(response.get_data())


def test_a_route_passes_keywords_and_the_users_departments(gateway):
    assert send(gateway, "POST", "/api/v1/leads/L1/assign", {"owner_id": "u1"}).status_code == 200
    assert gateway.leads.calls == [("assign_lead", {"lead_id": "L1", "owner_id": "u1", "owner_department_id": "d1"})]


@pytest.mark.parametrize("body, errors", [
    ({"owner_id": "ghost"}, {"owner_id"}),                  # nobody's id
    ({}, {"owner_id"}),                                     # no id at all
    ({"owner_id": 7}, {"owner_id"}),
    ({"owner_id": "u1", "reason": "x"}, {"reason"}),        # a field the route does not spread
])
def test_a_refused_request_calls_nothing(gateway, body, errors):
    assert set(problem(send(gateway, "POST", "/api/v1/leads/L1/assign", body), 422)["errors"]) == errors
    assert gateway.leads.calls == []


def test_team_members_are_users_checked_too(gateway):
    send(gateway, "POST", "/api/v1/customers/C1/team", {"user_id": "u2", "access": "read"})
    assert gateway.customers.calls == [("set_customer_team_member",
                                        {"customer_id": "C1", "user_id": "u2", "access": "read"})]
    assert set(problem(send(gateway, "POST", "/api/v1/customers/C1/team", {"user_id": "nobody", "access": "read"}),
                       422)["errors"]) == {"user_id"}


def test_lists_of_users_pass_their_departments_and_the_version_leaves_the_body(gateway):
    body = {"name": "Pool", "admin_ids": ["u1"], "member_ids": ["u2", "u1"], "version": 2}
    assert send(gateway, "PATCH", "/api/v1/lead-pools/P1", body, headers={"If-Match": "3"}).status_code == 200
    assert gateway.leads.calls == [("update_lead_pool", {
        "pool_id": "P1", "data": {"name": "Pool", "admin_ids": ["u1"], "member_ids": ["u2", "u1"]},
        "expected_version": 3, "user_departments": {"u1": "d1", "u2": None}})]


def test_each_unknown_user_of_a_list_is_named_on_its_field(gateway):
    body = {"name": "Pool", "admin_ids": ["ghost"], "member_ids": ["u1", "x" * 40]}
    errors = problem(send(gateway, "POST", "/api/v1/lead-pools", body), 422)["errors"]
    assert set(errors) == {"member_ids"}      # an id no user can have (too long): refused before any query
    errors = problem(send(gateway, "POST", "/api/v1/lead-pools", dict(body, member_ids=["u1", "ghost-2"])),
                     422)["errors"]
    assert errors == {"admin_ids": ["Unknown user: ghost."], "member_ids": ["Unknown user: ghost-2."]}
    assert gateway.leads.calls == []


def test_a_list_that_is_not_one_is_the_services_to_refuse(gateway):
    send(gateway, "POST", "/api/v1/lead-pools", {"name": "Pool", "member_ids": "u1"})
    assert gateway.leads.calls == [("create_lead_pool", {"data": {"name": "Pool", "member_ids": "u1"},
                                                         "user_departments": {}})]


def test_csv_body_and_one_query_parameter(gateway):
    send(gateway, "POST", "/api/v1/leads/import", query_string="pool_id=P1", data="name\nA\n", content_type="text/csv")
    assert gateway.leads.calls == [("import_leads", {"csv_text": "name\nA\n", "pool_id": "P1"})]


def test_a_download_asks_page_after_page_with_the_cursor(gateway):
    pages = {None: {"csv": "id\r\n1\r\n", "next_cursor": "c2"}, "c2": {"csv": "2\r\n", "next_cursor": None}}
    gateway.leads.reply = lambda name, kwargs: pages[kwargs["cursor"]]
    streamed = send(gateway, "GET", "/api/v1/leads/export", query_string="status=new")
    assert isinstance(streamed, Streamed) and streamed.first == "id\r\n1\r\n"
    assert streamed.more(gateway) == ("2\r\n", None)
    assert gateway.leads.calls == [("export_leads_page", {"query": {"status": "new"}, "cursor": None}),
                                   ("export_leads_page", {"query": {"status": "new"}, "cursor": "c2"})]


def test_identity_routes_are_called_the_same_way(gateway):
    assert json.loads(send(gateway, "GET", "/api/v1/departments/d1").get_data())["name"] == "Sales"
    first = send(gateway, "PATCH", "/api/v1/users/u2", {"full_name": "Two"}, headers={"If-Match": "1"})
    assert first.status_code == 200 and json.loads(first.get_data())["version"] == 2
    stale = problem(send(gateway, "PATCH", "/api/v1/users/u2", {"full_name": "2", "version": 1}), 409)
    assert stale["current_version"] == 2 and "expected_version" not in stale      # the kit's check, its public fields
    assert problem(send(gateway, "GET", "/api/v1/departments/nope"), 404)["detail"] == "department nope was not found."
