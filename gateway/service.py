"""The HTTP gateway: the only way in from outside.

Thin by design: match the route, authenticate, apply rate limits and
idempotency, call the owning service over RPC (with a deadline) or the
gateway's own identity use cases, shape the response. Business rules live
in the services; errors become problem+json in ``problems``.
"""
from __future__ import annotations

import json
import logging
import string
from pathlib import Path
from urllib.parse import quote

from kombu import Connection
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from werkzeug.exceptions import HTTPException
from werkzeug.wrappers import Response

from crm_kit.config import SERVICES, amqp_uri
from crm_kit.runtime.dependencies import Database
from crm_kit.errors import NotFound, ValidationFailed
from crm_kit.runtime.rpc_client import ServiceRpc
from gateway import auth, identity, idempotency, inputs, problems
from gateway.http import Caller, IdempotentCreates, Streamed, api, client_ip, method_not_allowed, route_not_found
from gateway.models import Base
from gateway.openapi import OpenApi
from gateway.ratelimit import RateLimits
from gateway.routes import Route, build_map

log = logging.getLogger(__name__)

JSON = "application/json"
DOCS_HTML = (Path(__file__).parent / "static" / "docs.html").read_bytes()
OPS_ROUTES = ("/healthz", "/readyz", "/metrics", "/openapi.json", "/docs")
OPS_METHODS = ("GET", "HEAD")


def json_response(body, status: int = 200, headers: dict | None = None) -> Response:
    return Response(json.dumps(body, ensure_ascii=False), status=status, mimetype=JSON, headers=headers)


class GatewayService:
    name = "gateway"

    db = Database(Base)
    establish_principal = Caller()
    idempotent_creates = IdempotentCreates()

    leads = ServiceRpc("leads")
    customers = ServiceRpc("customers")
    sales = ServiceRpc("sales")
    billing = ServiceRpc("billing")
    marketing = ServiceRpc("marketing")
    support = ServiceRpc("support")
    analytics = ServiceRpc("analytics")

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
            password = identity.bootstrap_admin(UnitOfWork(sessionmaker(engine), "gateway", Base.metadata))
        finally:
            engine.dispose()
        if password:
            print(f"Created the first administrator: username 'admin', password '{password}' "
                  "(shown only this once; set CRM_ADMIN_PASSWORD to choose it).", file=sys.stderr, flush=True)

    @api("/")
    @api()
    def dispatch(self, request, continuation=None):
        if continuation is not None:  # the next chunk of a streamed response (gateway.http.Streamed)
            return continuation(self)
        path = request.path
        if path in OPS_ROUTES:
            request.crm_route = path
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
        ip = client_ip(request)
        inputs.check_query(request)
        if route.public:  # sign-in: limited per IP, and per username tried from that IP (nobody locks anyone out)
            self.rate_limits.check("RATE_LIMIT_TOKEN_PER_IP", ip)
            body = inputs.json_body(request)
            self.rate_limits.check("RATE_LIMIT_TOKEN_PER_USER", self.rate_limits.sign_in_key(body.get("username"), ip))
            return json_response(identity.login(self.db, body, auth.signing_key()))

        self.rate_limits.check("RATE_LIMIT_API_PER_IP", ip)
        principal = auth.authenticate(request, self.db)
        self.establish_principal(principal)
        self.rate_limits.check("RATE_LIMIT_API_PER_USER", principal.user_id)

        if any("\x00" in value for value in params.values()):  # no record has such an id
            raise NotFound("No such record.", {})
        args = list(params.values())
        body = None
        if route.csv_body:
            args += [inputs.csv_body(request), request.args.get("pool_id")]
        elif route.body_args:
            args.extend(self._body_args(route, inputs.json_body(request), principal))
        elif route.body:
            body = inputs.json_body(request)
            args.append(body)
        if route.query:
            args.append(inputs.query(request))
        if route.version:
            args.append(inputs.expected_version(request, body))
        if route.user_departments:
            members = (body or {}).get("admin_ids") or [], (body or {}).get("member_ids") or []
            args.append(identity.user_departments(
                self.db, [u for group in members if isinstance(group, list) for u in group], "member_ids"))

        if route.download:
            return self._download(route, principal, args)

        def produce() -> Response:
            return self._respond(route, params, self._call(route, principal, args))

        key = request.headers.get("Idempotency-Key")
        if route.creates and key is not None:
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

    def _body_args(self, route: Route, body: dict, principal) -> list:
        unknown = set(body) - set(route.body_args)
        if unknown:
            raise ValidationFailed.from_messages({k: ["Unknown field."] for k in sorted(unknown)})
        for field in ("user_id", "owner_id"):  # users are the gateway's: check them here
            if field in route.body_args:
                user_id = body.get(field)
                if not isinstance(user_id, str) or not identity.user_exists(self.db, user_id):
                    raise ValidationFailed.from_messages({field: ["Unknown user."]})
        args = [body.get(name) for name in route.body_args]
        if "owner_id" in route.body_args:  # the service copies the owner's department onto the record
            args.append(identity.user_departments(self.db, [body["owner_id"]], "owner_id")[body["owner_id"]])
        return args

    def _call(self, route: Route, principal, args):
        if route.service == "gateway":
            handler = getattr(identity, route.rpc)
            if route.rpc.startswith("update_"):
                return handler(self.db, principal, *args, cache=auth.principal_cache())
            return handler(self.db, principal, *args)
        return getattr(getattr(self, route.service), route.rpc)(*args)

    def _download(self, route: Route, principal, args: list) -> Streamed:
        """A CSV file pulled from the service page by page (``{"csv", "next_cursor"}``) while the client
        reads: the first page now, so that its errors (a bad filter, the service down) are this
        request's problem+json; each next one, asked for with the cursor, in a worker of its own."""
        def after(cursor):
            if cursor is None:
                return None

            def fetch(service):  # ``service``: the instance of the worker fetching this page
                page = service._call(route, principal, [*args, cursor])
                return page["csv"], after(page["next_cursor"])
            return fetch

        first = self._call(route, principal, [*args, None])
        return Streamed(first["csv"], after(first["next_cursor"]), mimetype="text/csv",
                        headers={"Content-Disposition": f'attachment; filename="{route.download}"'})

    @staticmethod
    def _respond(route: Route, params: dict, result) -> Response:
        if route.status == 204:
            return Response(status=204)
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
        return Response(DOCS_HTML, mimetype="text/html")

    def _readiness(self) -> Response:
        checks = {}
        try:
            with Connection(amqp_uri(), connect_timeout=2) as conn:
                conn.ensure_connection(max_retries=1)
                for service in SERVICES:
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
