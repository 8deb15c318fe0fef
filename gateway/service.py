"""The HTTP gateway: the only way in from outside.

Thin by design: match the route, authenticate, apply rate limits and
idempotency, call the owning service over RPC (with a deadline) or the
gateway's own identity use cases, shape the response. Every route is
handled alike: its call's keyword arguments are what the route declares
(``routes``, read off the request by ``arguments``). Business rules live
in the services; errors become problem+json in ``problems``.
"""
from __future__ import annotations

import json
import logging
import string
from urllib.parse import quote

import orjson
from kombu import Connection
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from werkzeug.exceptions import HTTPException
from werkzeug.wrappers import Response

from crm_kit.config import SERVICES, amqp_uri, env
from crm_kit.errors import NotFound
from crm_kit.runtime.dependencies import Database
from crm_kit.runtime.entrypoints import rpc
from crm_kit.runtime.rpc_client import ServiceRpc
from crm_kit.runtime.tracing import Tracing
from gateway import arguments, docs_pages, idempotency, inputs, problems
from gateway.fanout import FanOut
from gateway.gathered import GATHERED
from gateway.http import Caller, IdempotentCreates, Streamed, api, client_ip, method_not_allowed, route_not_found
from gateway.identity import auth, users
from gateway.identity.org_chart import org_chart as read_org_chart
from gateway.identity.rpc import RPCS
from gateway.models import Base
from gateway.openapi import OpenApi
from gateway.ratelimit import RateLimits
from gateway.routes import Route, build_map

log = logging.getLogger(__name__)

JSON = "application/json"
OPS_ROUTES = ("/healthz", "/readyz", "/metrics", "/openapi.json")
OPS_METHODS = ("GET", "HEAD")


def json_response(body, status: int = 200, headers: dict | None = None) -> Response:
    return Response(json_bytes(body), status=status, mimetype=JSON, headers=headers)


_ORJSON = orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_SUBCLASS | orjson.OPT_PASSTHROUGH_DATACLASS


def _refuse(value):
    raise TypeError(type(value).__name__)


def json_bytes(body) -> bytes | str:
    """A response's JSON: orjson (a tenth of ``json.dumps``' time on an order), or ``json.dumps``
    (``ensure_ascii=False``) for what orjson would write differently (non-string keys, subclasses;
    what neither writes, a Decimal or a datetime, fails as it did)."""
    try:
        return orjson.dumps(body, default=_refuse, option=_ORJSON)
    except TypeError:
        return json.dumps(body, ensure_ascii=False)


class GatewayService:
    name = "gateway"

    db = Database(Base)
    establish_principal = Caller()
    idempotent_creates = IdempotentCreates()
    fanout = FanOut()          # parallel calls within a deadline (the gathered pages: gateway.fanout)
    tracing = Tracing()        # OpenTelemetry spans when OTEL_EXPORTER_OTLP_ENDPOINT is set

    leads = ServiceRpc("leads")
    customers = ServiceRpc("customers")
    sales = ServiceRpc("sales")
    billing = ServiceRpc("billing")
    marketing = ServiceRpc("marketing")
    support = ServiceRpc("support")
    analytics = ServiceRpc("analytics")
    webhooks = ServiceRpc("webhooks")

    url_map = build_map()
    rate_limits = RateLimits()
    openapi = OpenApi()

    @staticmethod
    def post_migrate() -> None:
        """After ``crm migrate gateway``: the first administrator, on a fresh database."""
        import sys

        from sqlalchemy.orm import sessionmaker

        from crm_kit.config import database_url
        from crm_kit.records.db import make_engine
        from crm_kit.runtime.uow import UnitOfWork
        engine = make_engine(database_url("gateway"))
        try:
            password = users.bootstrap_admin(UnitOfWork(sessionmaker(engine), "gateway", Base.metadata))
        finally:
            engine.dispose()
        if password:
            print(f"Created the first administrator: username 'admin', password '{password}' "
                  "(shown only this once; set CRM_ADMIN_PASSWORD to choose it).", file=sys.stderr, flush=True)

    @rpc(principal=False)
    def org_chart(self):
        """The organisation for the services' rules (sales' approvals): ``gateway.identity.org_chart``."""
        return read_org_chart(self.db)

    @api("/")
    @api()
    def dispatch(self, request, continuation=None):
        if continuation is not None:  # the next chunk of a streamed response (gateway.http.Streamed)
            return continuation(self)
        path = request.path
        if path in OPS_ROUTES or docs_pages.is_docs_path(path):
            request.crm_route = path if not path.startswith(docs_pages.ASSETS_PREFIX) else docs_pages.ASSETS_PREFIX
            if request.method not in OPS_METHODS:
                return method_not_allowed(OPS_METHODS)
            return self._ops(path)
        adapter = self.url_map.bind_to_environ(request.environ)
        try:
            route, params = adapter.match()
        except HTTPException as exc:
            return route_not_found(exc)
        request.crm_route = route.path
        try:
            return self._handle(request, route, params)
        except Exception as exc:  # typed errors -> problem+json; others -> 500 with an id
            return problems.from_exception(exc, request.path)

    # -- the API -----------------------------------------------------------
    def _handle(self, request, route: Route, params: dict) -> Response:
        """Every route alike: authenticate (or, on a public route, limit the sign-ins; on a customer's
        link route, limit per IP and per link and let the owning service check the link), read the
        call's keyword arguments as the route declares them (``gateway.arguments``), call, answer."""
        ip = client_ip(request)
        inputs.check_query(request)
        principal = None
        if route.link:    # no user: the service that signed the link checks it (the call carries no principal)
            self.rate_limits.check("RATE_LIMIT_PORTAL_PER_IP", ip)
            link_key = self.rate_limits.link_key(inputs.portal_link(request))
            self.rate_limits.check("RATE_LIMIT_PORTAL_PER_LINK", link_key)
        elif route.public:  # sign-in: limited per IP, and per username tried from that IP (nobody locks anyone out)
            self.rate_limits.check("RATE_LIMIT_TOKEN_PER_IP", ip)
            tried = inputs.json_body(request).get(route.limit_by) if route.limit_by else None
            self.rate_limits.check("RATE_LIMIT_TOKEN_PER_USER", self.rate_limits.sign_in_key(tried, ip))
        else:
            self.rate_limits.check("RATE_LIMIT_API_PER_IP", ip)
            principal = auth.authenticate(request, self.db)
            self.establish_principal(principal)
            self.rate_limits.check("RATE_LIMIT_API_PER_USER", principal.user_id)
        if any("\x00" in value for value in params.values()):  # no record has such an id
            raise NotFound("No such record.", {})
        kwargs = arguments.keywords(route, request, params, self.db)
        if route.download:
            return self._download(route, principal, kwargs)

        def produce() -> Response:
            return self._respond(route, params, self._call(route, principal, kwargs))

        key = request.headers.get("Idempotency-Key")
        if route.idempotent and key is not None:
            return self._idempotent(request, principal, key, produce)
        return produce()

    def _idempotent(self, request, principal, key: str, produce) -> Response:
        """``produce`` under the client's Idempotency-Key, the worker context carrying its stable key."""
        stable = idempotency.context_key(principal.user_id, key, request.method, request.path)

        def keyed() -> Response:
            with self.idempotent_creates.keyed(stable):
                return produce()
        return idempotency.run(self.db, principal.user_id, key, request.method, request.path,
                               request.get_data(cache=True), keyed, self.idempotent_creates.lease)

    def _call(self, route: Route, principal, kwargs: dict):
        """The route's RPC with keyword arguments; a gateway route's identity use case the same way,
        after the gateway's unit of work and the caller (``gateway.identity.rpc``); a gathered one
        (``gateway.gathered.GATHERED``: it calls several services itself) after this service
        instance (its RPC proxies) and the caller."""
        if route.service == "gateway":
            if route.rpc in GATHERED:
                return GATHERED[route.rpc](self, principal, **kwargs)
            return RPCS[route.rpc](self.db, principal, **kwargs)
        return getattr(getattr(self, route.service), route.rpc)(**kwargs)

    def _download(self, route: Route, principal, kwargs: dict) -> Streamed:
        """A CSV file pulled from the service page by page (``{"csv", "next_cursor"}``) while the client
        reads: the first page now, so that its errors (a bad filter, the service down) are this
        request's problem+json; each next one, asked for with the cursor, in a worker of its own."""
        (cursor,) = [arg.name for arg in route.args if arg.source == "cursor"]

        def after(next_cursor):
            if next_cursor is None:
                return None

            def fetch(service):  # ``service``: the instance of the worker fetching this page
                page = service._call(route, principal, {**kwargs, cursor: next_cursor})
                return page["csv"], after(page["next_cursor"])
            return fetch

        first = self._call(route, principal, {**kwargs, cursor: None})
        return Streamed(first["csv"], after(first["next_cursor"]), mimetype="text/csv",
                        headers={"Content-Disposition": f'attachment; filename="{route.download}"'})

    @staticmethod
    def _respond(route: Route, params: dict, result) -> Response:
        if route.status == 204:
            return Response(status=204)
        if route.media_type:
            return Response(result, status=route.status, mimetype=route.media_type)
        headers = {}
        location = _location(route.location, params, result) if route.location else None
        if location:
            headers["Location"] = location
        return json_response(result, route.status, headers)

    # -- operations ------------------------------------------------------------
    def _ops(self, path: str) -> Response:
        if path == "/healthz":
            return json_response({"status": "ok"})
        if path == "/readyz":
            return self._readiness()
        if path == "/metrics":
            return Response(generate_latest(), mimetype=CONTENT_TYPE_LATEST)
        if path == "/openapi.json":
            return json_response(self.openapi.document(self))
        return docs_pages.respond(path)

    def _readiness(self) -> Response:
        """Ready when the broker answers and every service it routes to has an RPC consumer: every
        service of the platform, or those ``GATEWAY_READINESS_SERVICES`` names (comma-separated: a
        deployment that runs without some, e.g. a test platform without webhooks)."""
        checks = {}
        named = env("GATEWAY_READINESS_SERVICES")
        services = SERVICES if named is None else [s.strip() for s in named.split(",") if s.strip()]
        try:
            with Connection(amqp_uri(), connect_timeout=2) as conn:
                conn.ensure_connection(max_retries=1)
                for service in services:
                    try:
                        with conn.channel() as channel:
                            _, _, consumers = channel.queue_declare(queue=f"rpc-{service}", passive=True)
                        checks[service] = "ok" if consumers else "no consumers"
                    except Exception:
                        checks[service] = "not running"
            checks["broker"] = "ok"
        except Exception as exc:
            checks["broker"] = f"unreachable: {type(exc).__name__}"
        ok = all(v == "ok" for v in checks.values())
        return json_response({"status": "ok" if ok else "unavailable", "checks": checks}, 200 if ok else 503)


def _location(template: str, params: dict, result) -> str | None:
    """The created record's URL: each ``{name}`` of the template from the request's path parameters,
    else from the result (``{id}``); None if one is missing."""
    if not isinstance(result, dict):
        return None
    values = {}
    for _, name, _, _ in string.Formatter().parse(template):
        if name is not None:
            value = params.get(name, result.get(name))
            if value is None:
                return None
            values[name] = quote(str(value), safe="")
    return template.format(**values)
