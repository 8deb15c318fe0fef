"""The gateway's HTTP entrypoint.

Every request gets a request id (``X-Request-ID`` taken from the request if
it is sane, else new) and a principal (``auth.authenticate``); both go into
the nameko context data, so every RPC the worker makes carries them and
every log line shows the id. Whatever happens, the response is JSON or
problem+json, carries ``X-Request-ID`` and is counted by route template.
"""
from __future__ import annotations

import logging
import re
import time
from functools import partial

from eventlet.event import Event
from nameko.extensions import DependencyProvider
from nameko.web.handlers import HttpRequestHandler
from werkzeug.exceptions import MethodNotAllowed
from nameko.web.server import WebServer
from werkzeug.routing import Map, PathConverter, Rule

from crm_kit import metrics
from crm_kit.context import Principal, principal_var, request_id_var
from crm_kit.ids import new_id
from gateway import problems

log = logging.getLogger(__name__)

_SANE_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:\-]{1,128}$")
ALL_METHODS = "GET,POST,PUT,PATCH,DELETE,HEAD,OPTIONS"
QUIET_ROUTES = ("/healthz", "/readyz", "/metrics")  # probes and scrapes: counted, not logged


class AnyPath(PathConverter):
    """Like ``path``, but also matches what ``.`` does not (a newline, say), so that
    no request can fall through to nameko's HTML error pages."""
    regex = r"[^/][\s\S]*?"


class CrmWebServer(WebServer):
    def make_url_map(self):  # nameko's, with the ``anypath`` converter known to the map
        url_map = Map(converters={"anypath": AnyPath})
        for provider in self._providers:
            rule = provider.get_url_rule()
            rule.endpoint = provider
            url_map.add(rule)
        return url_map


class ApiEntrypoint(HttpRequestHandler):
    """Handles every path; the service method routes (see ``GatewayService.dispatch``)."""

    server = CrmWebServer()

    def __init__(self, url="/<anypath:path>", **kwargs):
        super().__init__(ALL_METHODS, url, **kwargs)

    def get_url_rule(self):
        return Rule(self.url, methods=self.method.split(","), defaults={"path": ""} if self.url == "/" else None)

    def get_entrypoint_parameters(self, request):
        return (request,), {}

    def handle_request(self, request):
        started = time.perf_counter()
        request.shallow = False
        incoming = request.headers.get("X-Request-ID", "")
        request_id = incoming if _SANE_REQUEST_ID.match(incoming) else new_id()
        request.crm_request_id = request_id
        request.crm_route = "unmatched"
        request_id_var.set(request_id)
        try:
            context_data = {"request_id": request_id}
            event = Event()
            self.container.spawn_worker(self, (request,), {}, context_data=context_data,
                                        handle_result=partial(self.handle_result, event))
            response = event.wait()
        except Exception as exc:
            response = problems.from_exception(exc, request.path)
        response.headers["X-Request-ID"] = request_id
        elapsed = time.perf_counter() - started
        metrics.HTTP_REQUESTS.labels(request.crm_route, request.method, str(response.status_code)).inc()
        metrics.HTTP_DURATION.labels(request.crm_route, request.method).observe(elapsed)
        if request.crm_route not in QUIET_ROUTES:
            log.info("%s %s %s", request.method, request.path, response.status_code, extra={
                "method": request.method, "route": request.crm_route, "status": response.status_code,
                "duration_ms": round(elapsed * 1000, 2)})
        return response


class Caller(DependencyProvider):
    """Lets the worker name its principal once authenticated: from then on every
    RPC it makes carries it (nameko context data ``principal``), and its log
    lines show the user."""

    def worker_setup(self, worker_ctx):
        # A worker's greenthread starts with empty context variables: give it the request's id for
        # its log lines, and the principal when it continues a request already authenticated.
        request_id_var.set(worker_ctx.data.get("request_id"))
        principal_var.set(Principal.from_dict(worker_ctx.data.get("principal")))

    def get_dependency(self, worker_ctx):
        def establish(principal: Principal) -> None:
            worker_ctx.data["principal"] = principal.to_dict()
            principal_var.set(principal)
        return establish


def client_ip(request) -> str:
    return request.remote_addr or "unknown"


def route_not_found(exc) -> "problems.Response":
    if isinstance(exc, MethodNotAllowed):
        return problems.problem(405, "Method Not Allowed", "This method is not allowed on this path.",
                                "method-not-allowed")
    return problems.problem(404, "Not Found", "No such route.", "not-found")


api = ApiEntrypoint.decorator
