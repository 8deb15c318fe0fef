"""The gateway's HTTP entrypoint.

Every request gets a request id (``X-Request-ID`` taken from the request if
it is sane, else new) and a principal (``auth.authenticate``); both go into
the nameko context data, so every RPC the worker makes carries them and
every log line shows the id. Whatever happens, the response is JSON or
problem+json (or a stream, see :class:`Streamed`), carries ``X-Request-ID`` and
is counted by route template.

A URL (path and query string, as sent) longer than ``MAX_URL_LENGTH`` answers 414 as
problem+json. eventlet's server would answer a request line over its own limit with a bare
text 414; ours lets lines up to ``REQUEST_LINE_LIMIT`` through to the check here, and
answers a longer one with the same problem+json itself (:class:`CrmHttpProtocol`).
"""
from __future__ import annotations

import datetime as dt
import logging
import re
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import partial
from typing import Callable

from eventlet.event import Event
from nameko.extensions import DependencyProvider
from nameko.web.handlers import HttpRequestHandler
from nameko.web.server import HttpOnlyProtocol, WebServer
from werkzeug.exceptions import MethodNotAllowed
from werkzeug.routing import Map, PathConverter, Rule
from werkzeug.wrappers import Response

from crm_kit.context import IDEMPOTENCY_KEY, Principal, principal_var, request_id_var
from crm_kit.ids import new_id
from crm_kit.runtime import metrics, tracing
from gateway import idempotency, problems

log = logging.getLogger(__name__)

_SANE_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:\-]{1,128}$")
ALL_METHODS = "GET,POST,PUT,PATCH,DELETE,HEAD,OPTIONS"
_METRIC_METHODS = frozenset(ALL_METHODS.split(","))   # any other method is counted as OTHER
QUIET_ROUTES = ("/healthz", "/readyz", "/metrics")  # probes and scrapes: counted, not logged
MAX_URL_LENGTH = 8192         # characters of path and query string, as sent (percent-encoded): else 414
REQUEST_LINE_LIMIT = 65536    # bytes of request line eventlet reads; a longer one is answered 414 unread
_DRAIN_LIMIT = 1 << 20        # bytes of an over-long request read (and dropped) before answering it


class AnyPath(PathConverter):
    """Like ``path``, but also matches what ``.`` does not (a newline, say), so that
    no request can fall through to nameko's HTML error pages."""
    regex = r"[^/][\s\S]*?"


def url_too_long() -> Response:
    return problems.problem(414, "URI Too Long", f"The URL is longer than {MAX_URL_LENGTH} characters.",
                            "uri-too-long", limit=MAX_URL_LENGTH)


class CrmHttpProtocol(HttpOnlyProtocol):
    """nameko's protocol, answering a request line longer than the server reads (eventlet would
    write a bare ``414`` without a body) with the gateway's problem+json."""

    def _read_request_line(self):
        line = super()._read_request_line()
        if len(line) < self.server.url_length_limit:
            return line
        method = line.split(b" ", 1)[0].decode("latin-1")
        try:
            self._drain(line)
        except OSError:   # the client went away or is too slow: nobody to answer
            return ""
        response = url_too_long()
        request_id = new_id()
        body = response.get_data()
        head = (f"HTTP/1.1 414 URI Too Long\r\nContent-Type: {response.content_type}\r\n"
                f"Content-Length: {len(body)}\r\nX-Request-ID: {request_id}\r\nConnection: close\r\n\r\n")
        try:
            self.wfile.write(head.encode("latin-1") + body)
            self.wfile.flush()
        except OSError:
            pass
        metrics.HTTP_REQUESTS.labels("unmatched", _metric_method(method), "414").inc()
        log.info("request line of %s+ bytes: 414", len(line), extra={"status": 414, "request_id": request_id})
        return ""          # eventlet closes the connection

    def _drain(self, line: bytes) -> None:
        """Read the rest of the request line and the headers (up to a bound), so that the client,
        still sending, reads the answer rather than a reset connection."""
        drained = len(line)
        while not line.endswith(b"\n") and drained < _DRAIN_LIMIT:
            line = self.rfile.readline(65536)
            if not line:
                return
            drained += len(line)
        while drained < _DRAIN_LIMIT:
            header = self.rfile.readline(65536)
            drained += len(header)
            if header in (b"", b"\r\n", b"\n"):
                return


class CrmWebServer(WebServer):
    def make_url_map(self):  # nameko's, with the ``anypath`` converter known to the map
        url_map = Map(converters={"anypath": AnyPath})
        for provider in self._providers:
            rule = provider.get_url_rule()
            rule.endpoint = provider
            url_map.add(rule)
        return url_map

    def get_wsgi_server(self, sock, wsgi_app, protocol=CrmHttpProtocol, debug=False):
        server = super().get_wsgi_server(sock, wsgi_app, protocol=protocol, debug=debug)
        server.url_length_limit = REQUEST_LINE_LIMIT   # longer URLs up to it reach handle_request: 414 there
        return server


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
    trace_kind = "parent"     # the route's span is made here; its workers continue it (crm_kit.runtime.tracing)

    def __init__(self, url="/<anypath:path>", **kwargs):
        super().__init__(ALL_METHODS, url, **kwargs)

    def get_url_rule(self):
        # Every method reaches the dispatcher (none gets werkzeug's HTML 405): it answers 405 with Allow.
        return Rule(self.url, methods=None, defaults={"path": ""} if self.url == "/" else None)

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
        span = token = None
        if tracing.enabled and request.path not in QUIET_ROUTES:     # (probes and scrapes: no traces)
            span, token = _route_span(request, request_id)
        try:
            if url_length(request.environ) > MAX_URL_LENGTH:
                raise _TooLong()
            context_data = {"request_id": request_id}
            if span is not None:
                context_data[tracing.CONTEXT_KEY] = tracing.traceparent_of(span)
            event = Event()
            self.container.spawn_worker(self, (request,), {}, context_data=context_data,
                                        handle_result=partial(self.handle_result, event))
            response = event.wait()
            if isinstance(response, Streamed):
                response = self._stream(request, response)
        except _TooLong:
            response = url_too_long()
        except Exception as exc:
            response = problems.from_exception(exc, request.path)
        response.headers["X-Request-ID"] = request_id
        elapsed = time.perf_counter() - started
        method = _metric_method(request.method)
        metrics.HTTP_REQUESTS.labels(request.crm_route, method, str(response.status_code)).inc()
        metrics.HTTP_DURATION.labels(request.crm_route, method).observe(elapsed)
        if request.crm_route not in QUIET_ROUTES:
            log.info("%s %s %s", request.method, request.path[:500], response.status_code, extra={
                "method": request.method, "route": request.crm_route, "status": response.status_code,
                "duration_ms": round(elapsed * 1000, 2)})
        if span is not None:
            _end_route_span(span, token, request, response)
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


class IdempotentCreates(DependencyProvider):
    """Lets the worker say it runs a create under a client's ``Idempotency-Key``: while it does,
    the worker context carries ``crm_idempotency_key`` (``idempotency.context_key``: the same on
    every retry), which the RPC client turns into the request key the service records its reply
    under. ``lease``: how long an attempt holds the key (the RPC deadline plus a margin)."""

    def setup(self):
        self.lease = idempotency.lease_for(self.container.config["CRM_SETTINGS"].rpc_timeout)

    def get_dependency(self, worker_ctx):
        return IdempotencyScope(worker_ctx.data, self.lease)


@dataclass
class IdempotencyScope:
    data: dict                  # the worker context's data
    lease: dt.timedelta

    @contextmanager
    def keyed(self, key: str):
        self.data[IDEMPOTENCY_KEY] = key
        try:
            yield
        finally:
            self.data.pop(IDEMPOTENCY_KEY, None)


def _route_span(request, request_id: str):
    """The route's span (``SERVER``), continuing the trace of a ``traceparent`` the client sent; named
    after the route template once the dispatcher knows it (:func:`_end_route_span`)."""
    parent = tracing.extract(request.headers.get(tracing.TRACEPARENT), request.headers.get("tracestate"))
    span = tracing.start_span(f"{request.method} {request.path[:200]}", "server", parent=parent, attributes={
        "http.request.method": request.method, "url.path": request.path[:2000], "crm.request_id": request_id})
    return span, tracing.activate(span)


def _end_route_span(span, token, request, response) -> None:
    status = response.status_code
    span.update_name(f"{request.method} {request.crm_route}")
    tracing.set_attributes(span, **{"http.route": request.crm_route, "http.response.status_code": status})
    if status >= 500:
        tracing.set_error(span, f"HTTP {status}")
    span.end()
    tracing.deactivate(token)


def _metric_method(method: str) -> str:
    return method if method in _METRIC_METHODS else "OTHER"


class _TooLong(Exception):
    pass


def url_length(environ) -> int:
    """The URL as the client sent it (percent-encoded): path and query string."""
    path = environ.get("RAW_PATH_INFO", environ.get("PATH_INFO", ""))
    query = environ.get("QUERY_STRING", "")
    return len(path) + (len(query) + 1 if query else 0)


def client_ip(request) -> str:
    return request.remote_addr or "unknown"


def method_not_allowed(allowed) -> Response:
    response = problems.problem(405, "Method Not Allowed", "This method is not allowed on this path.",
                                "method-not-allowed")
    response.headers["Allow"] = ", ".join(sorted(allowed))
    return response


def route_not_found(exc) -> Response:
    if isinstance(exc, MethodNotAllowed):
        return method_not_allowed(exc.valid_methods or ())
    return problems.problem(404, "Not Found", "No such route.", "not-found")


api = ApiEntrypoint.decorator
