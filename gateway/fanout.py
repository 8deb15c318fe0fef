"""Gathering several services' answers for one page, in parallel and within a deadline.

A page made of parts other services own (``GET /api/v1/customers/{id}/overview``) must not fail, or
wait, because one of them does not answer: each part is called in a greenthread of its own, all
within one deadline, and a part that has not answered by then -- or whose service is not running,
or that refused -- is marked unavailable, with the reason, instead of failing the page.

``FanOut`` is the gateway's dependency (``GatewayService.fanout``): ``self.fanout(calls, within)``
with ``calls`` ``{part name: a function of no arguments making the RPC call}`` answers
``{part name: Outcome}``. While the calls run, the worker's RPC calls carry the deadline
(``crm_kit.runtime.rpc_client``: a request's deadline is the sooner of the RPC timeout and the
deadline of the request the worker handles), so each service also gives up on a request the page no
longer waits for, and the broker drops it once stale. Each part is bounded besides by a timeout of
its own (the deadline plus the RPC client's reply grace), whatever the call does.

An outcome's ``reason`` (``REASONS``): ``not_answered`` (the service did not answer in time, is not
running, or the broker cannot be reached), ``not_visible`` (the service answered 404: out of the
caller's data scope, or gone), ``forbidden`` (403), ``failed`` (any other error: logged, with the
error id in ``detail``); and, for a part nothing is called for, ``not_provided`` (its service has no
such RPC yet: :data:`NOT_PROVIDED`).
"""
from __future__ import annotations

import contextvars
import logging
import time
import uuid
from dataclasses import dataclass
from typing import Any, Callable

import eventlet
from nameko.extensions import DependencyProvider

from crm_kit.context import DEADLINE
from crm_kit.errors import CrmError, Forbidden, NotFound, ServiceUnavailable
from crm_kit.runtime.rpc_client import REPLY_GRACE

log = logging.getLogger(__name__)

REASONS = ("not_answered", "not_visible", "forbidden", "failed", "not_provided")


@dataclass(frozen=True)
class Outcome:
    """A part's answer (``available``: ``value`` is what its call returned) or why there is none."""
    available: bool
    value: Any = None
    reason: str | None = None       # REASONS
    detail: str | None = None

    @classmethod
    def not_provided(cls, detail: str) -> "Outcome":
        return cls(False, reason="not_provided", detail=detail)


def gather(calls: dict[str, Callable[[], Any]], within: float, worker_data: dict | None = None) -> dict[str, Outcome]:
    """Run every call at once; answer each one's :class:`Outcome` once all have answered or the
    deadline (``within`` seconds from now) has passed. ``worker_data``: the worker context's data,
    whose RPC calls then carry the deadline (restored afterwards)."""
    if not calls:
        return {}
    deadline = time.time() + within
    data = worker_data if worker_data is not None else {}
    previous = data.get(DEADLINE)
    data[DEADLINE] = min(deadline, float(previous)) if previous else deadline
    try:
        threads = {name: eventlet.spawn(contextvars.copy_context().run, _bounded, name, call, data[DEADLINE])
                   for name, call in calls.items()}
        return {name: thread.wait() for name, thread in threads.items()}
    finally:
        if previous is None:
            data.pop(DEADLINE, None)
        else:
            data[DEADLINE] = previous


def _bounded(name: str, call: Callable[[], Any], deadline: float) -> Outcome:
    late = ServiceUnavailable(f"The {name} part did not answer in time.", {"part": name})
    try:
        with eventlet.Timeout(max(0.0, deadline - time.time()) + REPLY_GRACE, late):
            return Outcome(True, call())
    except ServiceUnavailable as exc:
        return Outcome(False, reason="not_answered", detail=exc.detail)
    except NotFound as exc:
        return Outcome(False, reason="not_visible", detail=exc.detail)
    except Forbidden as exc:
        return Outcome(False, reason="forbidden", detail=exc.detail)
    except Exception as exc:  # a part failing leaves the page whole: say so, log it
        error_id = str(uuid.uuid4())
        log.error("part %s failed (error id %s): %r", name, error_id, exc,
                  exc_info=not isinstance(exc, CrmError))
        return Outcome(False, reason="failed", detail=f"The part could not be fetched (error id {error_id}).")


class Gatherer:
    """What ``GatewayService.fanout`` is in a worker: :func:`gather` with the worker's context."""

    def __init__(self, worker_data: dict):
        self.worker_data = worker_data

    def __call__(self, calls: dict[str, Callable[[], Any]], within: float) -> dict[str, Outcome]:
        return gather(calls, within, self.worker_data)


class FanOut(DependencyProvider):
    def get_dependency(self, worker_ctx):
        return Gatherer(worker_ctx.data)
