"""The gateway's HTTP entrypoint.

Every request gets a request id (``X-Request-ID`` taken from the request if
it is sane, else new) and a principal (``auth.authenticate``); both go into
the nameko context data, so every RPC the worker makes carries them and
every log line shows the id. Whatever happens, the response is JSON or
problem+json (or a stream, see :class:`Streamed`), carries ``X-Request-ID`` and
is counted by route template.
"""
from __future__ import annotations

import logging
import re
import time
from dataclasses import dataclass, field
from functools import partial
from typing import Callable

from eventlet.event import Event
from nameko.extensions import DependencyProvider
from nameko.web.handlers import HttpRequestHandler
from werkzeug.exceptions import MethodNotAllowed
from nameko.web.server import WebServer
from werkzeug.routing import Map, PathConverter, Rule
from werkzeug.wrappers import Response

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


@dataclass
class Streamed:
    """A worker's answer whose body is produced after the worker returned, chunk by chunk.

    ``first`` is the first chunk, which the worker has already produced, so that whatever goes wrong
    up to then is still the request's error (problem+json). ``more`` produces the rest:
    ``more(service) -> (chunk, more or None)``, each call in a new worker of its own (``service`` is
    that worker's service instance, with live dependencies), acting for the same caller.

    Why a worker per chunk. The WSGI server iterates the body in the request's greenthread after
    ``handle_request`` returned, so after nameko tore the first worker down. Its RPC proxy would still
    publish (it reads the worker context's data for the ``principal`` and ``request_id`` headers), but
    it would be used outside any worker: ``MAX_WORKERS`` would not bound it, a graceful stop would not
    wait for it (it waits for workers, then stops the reply listener), and the context variables that
    log lines read would be those of the greenthread iterating, which has the request id but no
    principal. Keeping the worker alive for the whole body instead would hold a worker slot for as long
    as a slow client reads. So each further chunk is produced by a worker spawned with the first one's
    context data (``request_id``, ``principal``): every RPC is made from a live worker and carries the
    caller, and no slot is held while the client reads.

    An error after the first chunk was sent cannot become a status any more: the stream is cut
    (the connection closes without the final empty chunk, so the client sees an incomplete transfer,
    never a short file that looks whole), and the error is logged with the request id.
    """
    first: str | bytes
    more: Callable | None
    mimetype: str = "application/octet-stream"
    headers: dict = field(default_factory=dict)
    context_data: dict = field(default_factory=dict)   # the first worker's, set by the entrypoint


def _captured(produce: Callable) -> Callable:
    """``produce`` for a chunk's worker, its error returned rather than raised (the stream logs it
    once, with what it had sent; nameko would log it again as a worker error)."""
    def run(service):
        try:
            return True, produce(service)
        except Exception as exc:
            return False, exc
    return run


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
            if isinstance(response, Streamed):
                response = self._stream(request, response)
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

    def handle_result(self, event, worker_ctx, result, exc_info):
        if isinstance(result, Streamed):     # the workers producing the rest act for the same caller
            result.context_data = dict(worker_ctx.data)
        return super().handle_result(event, worker_ctx, result, exc_info)

    # -- streamed bodies (see Streamed) ------------------------------------------------
    def _stream(self, request, streamed: Streamed) -> Response:
        request.environ["eventlet.minimum_write_chunk_size"] = 0   # each chunk goes out as soon as it exists
        return Response(self._chunks(request, streamed), mimetype=streamed.mimetype, headers=streamed.headers)

    def _chunks(self, request, streamed: Streamed):
        chunk, more = streamed.first, streamed.more
        chunks = size = 0
        outcome, started = "cut short by the client", time.perf_counter()
        try:
            while True:
                data = chunk.encode() if isinstance(chunk, str) else chunk
                yield data
                chunks, size = chunks + 1, size + len(data)
                if more is None:
                    outcome = "complete"
                    return
                chunk, more = self._next_chunk(request, streamed.context_data, more)
        except Exception as exc:
            outcome = "broken"
            log.error("%s %s: the response stream broke after %s chunk(s) (%s bytes): %r",
                      request.method, request.path, chunks, size, exc, extra={"route": request.crm_route})
            raise                            # the server closes the connection: the client sees it cut
        finally:
            log.info("%s %s streamed %s chunk(s), %s bytes: %s", request.method, request.path, chunks, size,
                     outcome, extra={"route": request.crm_route, "chunks": chunks, "bytes": size,
                                     "duration_ms": round((time.perf_counter() - started) * 1000, 2)})

    def _next_chunk(self, request, context_data: dict, more: Callable):
        event = Event()
        self.container.spawn_worker(self, (request,), {"continuation": _captured(more)},
                                    context_data=dict(context_data), handle_result=partial(self.handle_result, event))
        ok, value = event.wait()
        if not ok:
            raise value
        return value


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
