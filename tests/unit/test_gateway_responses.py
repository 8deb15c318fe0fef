"""How the gateway shapes responses: the Location of a created record, and streamed bodies
(``gateway.http.Streamed``: the first chunk from the request's worker, each next one from a worker of
its own acting for the same caller)."""
from __future__ import annotations

import logging
from types import SimpleNamespace

import pytest
from eventlet.event import Event
from werkzeug.test import EnvironBuilder
from werkzeug.wrappers import Request

from crm_kit.context import Principal, current_principal, current_request_id
from crm_kit.errors import ServiceUnavailable
from gateway.http import ApiEntrypoint, Caller, Streamed
from gateway.routes import ROUTES
from gateway.service import GatewayService, _location


def test_location_takes_path_parameters_then_the_result():
    template = "/api/v1/leads/{lead_id}/follow-ups/{id}"
    assert _location(template, {"lead_id": "L1"}, {"id": "F1", "lead_id": "L1"}) == "/api/v1/leads/L1/follow-ups/F1"
    assert _location("/api/v1/leads/{id}", {}, {"id": "a b/c"}) == "/api/v1/leads/a%20b%2Fc"     # one segment
    assert _location(template, {}, {"id": "F1"}) is None                  # a field nobody gives: no header
    assert _location(template, {"lead_id": "L1"}, None) is None


def test_every_create_route_has_a_location_it_can_fill():
    for route in ROUTES:
        if route.creates:
            assert route.location, f"{route.method} {route.path} answers 201 without a Location"
            path_params = {name: "p" for name in route.path.replace(">", "<").split("<")[1::2]}
            assert _location(route.location, path_params, {"id": "x"}), route.location


# -- streamed bodies ------------------------------------------------------------------------------
CALLER = {"request_id": "req-1", "principal": Principal("u1", "member", "d1", ("d1",)).to_dict()}


class Workers:
    """A container that runs each worker at once, as nameko would (the Caller's worker set-up, then the
    service method with its arguments, then the entrypoint's result handling)."""

    def __init__(self):
        self.spawned = []

    def spawn_worker(self, entrypoint, args, kwargs, context_data=None, handle_result=None):
        worker_ctx = SimpleNamespace(data=dict(context_data))
        self.spawned.append(worker_ctx.data)
        Caller().worker_setup(worker_ctx)
        service = SimpleNamespace(worker=len(self.spawned))
        result = GatewayService.dispatch(service, *args, **kwargs)
        handle_result(worker_ctx, result, None)


def streaming(first, more):
    entrypoint = ApiEntrypoint()
    entrypoint.container = Workers()
    request = Request(EnvironBuilder(path="/api/v1/leads/export").get_environ())
    request.crm_route = "/api/v1/leads/export"
    streamed = Streamed(first, more, mimetype="text/csv", headers={"Content-Disposition": "attachment"})
    event = Event()
    entrypoint.handle_result(event, SimpleNamespace(data=dict(CALLER)), streamed, None)   # the request's worker
    assert event.wait() is streamed and streamed.context_data == CALLER
    response = entrypoint._stream(request, streamed)
    assert request.environ["eventlet.minimum_write_chunk_size"] == 0      # each chunk is sent as it comes
    assert response.mimetype == "text/csv" and response.headers["Content-Disposition"] == "attachment"
    return entrypoint.container, response.response


def pages(*chunks, fail_at=None, seen=None):
    """``more`` producing ``chunks`` one per worker (raising at chunk number ``fail_at``), noting in
    ``seen`` which worker produced each and what it carried."""
    def produce(index):
        def more(service):
            seen.append((service.worker, current_request_id(), current_principal().user_id))
            if index == fail_at:
                raise ServiceUnavailable("The leads service did not answer in time.", {"service": "leads"})
            return chunks[index], (produce(index + 1) if index + 1 < len(chunks) else None)
        return more
    return produce(0)


def test_each_next_chunk_comes_from_a_new_worker_acting_for_the_same_caller(caplog):
    seen = []
    caplog.set_level(logging.INFO, logger="gateway.http")
    workers, body = streaming("id\r\n", pages("1\r\n", "2\r\n", seen=seen))
    assert list(body) == [b"id\r\n", b"1\r\n", b"2\r\n"]
    assert seen == [(1, "req-1", "u1"), (2, "req-1", "u1")]
    assert workers.spawned == [CALLER, CALLER]
    assert "streamed 3 chunk(s), 10 bytes: complete" in caplog.text


def test_a_chunk_that_fails_after_the_first_cuts_the_stream_and_is_logged(caplog):
    seen = []
    workers, body = streaming("id\r\n", pages("1\r\n", "2\r\n", fail_at=1, seen=seen))
    assert next(body) == b"id\r\n" and next(body) == b"1\r\n"
    with pytest.raises(ServiceUnavailable):       # raised to the WSGI server: it closes without the final chunk
        next(body)
    assert "stream broke after 2 chunk(s) (7 bytes)" in caplog.text and "leads" in caplog.text


def test_a_client_that_goes_away_stops_the_fetching():
    seen = []
    workers, body = streaming("id\r\n", pages("1\r\n", "2\r\n", seen=seen))
    assert next(body) == b"id\r\n"
    body.close()
    assert seen == [] and workers.spawned == []


def test_a_single_chunk_needs_no_other_worker():
    workers, body = streaming("id\r\n", None)
    assert list(body) == [b"id\r\n"] and workers.spawned == []
