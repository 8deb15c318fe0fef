"""Every route of the gateway calls what exists, with what it takes: the keyword arguments a route
declares (``gateway.routes``) bind to the signature of the RPC method it calls (all required
parameters supplied, none unknown), and that method is an RPC entrypoint of the service; a gateway
route's the same against its identity use case (``gateway.identity.rpc``). A wrong route fails here,
in CI, not in production: the negative cases below are copies of real routes, made wrong."""
from __future__ import annotations

import inspect
from dataclasses import replace

import pytest
from nameko.extensions import ENTRYPOINT_EXTENSIONS_ATTR
from nameko.rpc import Rpc

from crm_kit.ops.topology import service_class
from gateway.gathered import GATHERED
from gateway.identity.rpc import RPCS
from gateway.routes import ROUTES, Route, body, field, query, version


def _target(route: Route):
    """The callable the route calls and how many leading parameters the dispatcher fills itself
    (``self``; for an identity use case, the unit of work and the principal; for a gathered one,
    the gateway service instance and the principal)."""
    if route.service == "gateway" and route.rpc in GATHERED:
        return GATHERED[route.rpc], 2, f"gateway.gathered.GATHERED[{route.rpc!r}]"
    if route.service == "gateway":
        return RPCS.get(route.rpc), 2, f"gateway.identity.rpc.RPCS[{route.rpc!r}]"
    cls = service_class(route.service)
    return getattr(cls, route.rpc, None), 1, f"{cls.__name__}.{route.rpc}"


def call_problems(route: Route) -> list[str]:
    """What is wrong with the call ``route`` makes (nothing: ``[]``)."""
    target, filled, name = _target(route)
    if target is None:
        return [f"{name} does not exist"]
    problems = []
    if route.service != "gateway" and not any(
            isinstance(ep, Rpc) for ep in getattr(target, ENTRYPOINT_EXTENSIONS_ATTR, ())):
        problems.append(f"{name} is not an RPC entrypoint")
    keywords = [arg.name for arg in route.arguments]
    params = list(inspect.signature(target).parameters.values())[filled:]
    takes = {p.name for p in params if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)}
    required = [p.name for p in params if p.name in takes and p.default is p.empty]
    unknown = [k for k in keywords if k not in takes]
    missing = [r for r in required if r not in keywords]
    if unknown:
        problems.append(f"{name} takes no argument {', '.join(map(repr, unknown))} (it takes {sorted(takes)})")
    if missing:
        problems.append(f"{name} needs {', '.join(map(repr, missing))}, which the route does not pass")
    try:           # and Python agrees: the call binds
        inspect.signature(target).bind(*([None] * filled), **dict.fromkeys(keywords))
    except TypeError as exc:
        problems.append(f"{name}({', '.join(keywords)}): {exc}")
    return problems


@pytest.mark.parametrize("route", ROUTES, ids=lambda r: f"{r.method} {r.path}")
def test_every_route_calls_what_exists_with_what_it_takes(route):
    assert call_problems(route) == []


def test_every_gateway_route_has_a_use_case_and_every_use_case_a_route():
    assert {r.rpc for r in ROUTES if r.service == "gateway"} == set(RPCS) | set(GATHERED)
    assert not set(RPCS) & set(GATHERED)


def _route(method: str, path: str) -> Route:
    (found,) = [r for r in ROUTES if r.method == method and r.path == path]
    return found


ASSIGN = _route("POST", "/api/v1/leads/<lead_id>/assign")
UPDATE_LEAD = _route("PATCH", "/api/v1/leads/<lead_id>")
REMINDERS = replace(_route("GET", "/api/v1/me/reminders"), service="leads", rpc="lead_reminders")  # a leads RPC
UPDATE_DEPARTMENT = _route("PATCH", "/api/v1/departments/<department_id>")
LOGIN = _route("POST", "/api/v1/auth/token")

WRONG = {
    "a field the method does not take": (replace(ASSIGN, args=(field("owner"),)), "takes no argument 'owner'"),
    "a required argument left out": (replace(UPDATE_LEAD, args=(version(),)), "needs 'data'"),
    "a path parameter named otherwise": (replace(UPDATE_LEAD, path="/api/v1/leads/<id>"), "needs 'lead_id'"),
    "an argument too many": (replace(REMINDERS, args=(query(), body())), "takes no argument 'data'"),
    "no such RPC": (replace(REMINDERS, rpc="lead_reminder"), "does not exist"),
    "a timer, not an RPC": (replace(REMINDERS, rpc="recycle_pools_periodically", args=()), "not an RPC entrypoint"),
    "an event handler, not an RPC": (replace(REMINDERS, rpc="handle_customer_deleted", args=(body("envelope"),)),
                                     "not an RPC entrypoint"),
    "identity: a path parameter its use case does not take": (
        replace(UPDATE_DEPARTMENT, path="/api/v1/departments/<dept_id>"), "takes no argument 'dept_id'"),
    "identity: no body for sign-in": (replace(LOGIN, args=()), "needs 'data'"),
    "identity: no such use case": (replace(LOGIN, rpc="sign_in"), "does not exist"),
}


@pytest.mark.parametrize("name", WRONG)
def test_a_wrong_route_is_caught(name):
    route, expected = WRONG[name]
    found = call_problems(route)
    assert found and any(expected in problem for problem in found), found


def test_the_check_sees_every_kind_of_argument():
    """The arguments checked are all the call gets: path parameters, declared ones, the users'
    departments -- so a route cannot pass something the check does not see."""
    pools = _route("PATCH", "/api/v1/lead-pools/<pool_id>")
    assert [(a.name, a.source) for a in pools.arguments] == [
        ("pool_id", "path"), ("data", "body"), ("expected_version", "version"), ("user_departments", "departments")]
    assert [(a.name, a.source) for a in ASSIGN.arguments] == [
        ("lead_id", "path"), ("owner_id", "field"), ("owner_department_id", "department")]
    assert call_problems(replace(ASSIGN, users=replace(ASSIGN.users, departments="department_id")))  # not its name


@pytest.mark.parametrize("bad", [
    dict(args=(field("owner_id"), field("owner_id"))),               # one keyword twice
    dict(args=(body("lead_id"),)),                                    # a path parameter given again
])
def test_a_route_cannot_pass_one_keyword_twice(bad):
    with pytest.raises(ValueError, match="twice"):
        replace(ASSIGN, **bad)


def test_only_a_download_takes_a_cursor():
    with pytest.raises(ValueError, match="cursor"):
        replace(_route("GET", "/api/v1/leads/export"), download=None)
