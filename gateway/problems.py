"""RFC 9457 problem details from typed errors (by class hierarchy, via ``status``).

What of an error's ``extra`` the client sees is what its class declares public
(``crm_kit.errors``: ``CrmError.public``, ``public_extra()``); the rest stays in the logs.

``Retry-After`` (seconds) goes with every answer that asks the client to come back: a 429, a
409 "still in progress" (``gateway.idempotency``) and every 503, from the error's public
``retry_after`` or, on a 503 without one, ``DEFAULT_RETRY_AFTER``.
"""
from __future__ import annotations

import json
import logging
import math

from werkzeug.wrappers import Response

from crm_kit.errors import CrmError
from crm_kit.ids import new_id
from crm_kit.runtime.transient import is_transient, unavailable

log = logging.getLogger(__name__)

PROBLEM_BASE = "https://crm.example.org/problems/"
PROBLEM_JSON = "application/problem+json"
DEFAULT_RETRY_AFTER = 2  # seconds, for a 503 whose error does not say


def problem(status: int, title: str, detail: str, slug: str, instance: str | None = None, **extra) -> Response:
    body = {"type": PROBLEM_BASE + slug, "title": title, "status": status, "detail": detail}
    if instance:
        body["instance"] = instance
    body.update({k: v for k, v in extra.items() if v is not None})
    return Response(json.dumps(body, ensure_ascii=False), status=status, mimetype=PROBLEM_JSON)


def from_exception(exc: BaseException, instance: str | None = None) -> Response:
    if not isinstance(exc, CrmError) and is_transient(exc):   # the gateway's own database or broker away
        log.warning("gateway: %r", exc)
        exc = unavailable("gateway", exc)
    if isinstance(exc, CrmError) and (exc.status < 500 or exc.status == 503):
        extra = exc.public_extra()
        retry_after = _retry_after(extra.pop("retry_after", None), exc.status == 503)
        if retry_after is not None:
            extra["retry_after"] = retry_after
        response = problem(exc.status, exc.title, exc.detail, exc.slug, instance, **extra)
        if retry_after is not None:
            response.headers["Retry-After"] = str(retry_after)
        if exc.status == 401:
            response.headers["WWW-Authenticate"] = 'Bearer realm="crm"'
        return response
    # Anything else: log it here with an id; the client gets the id, never the internals.
    error_id = exc.extra.get("error_id") if isinstance(exc, CrmError) else None
    if error_id is None:
        error_id = new_id()
        log.error("unhandled error (error_id=%s)", error_id, exc_info=(type(exc), exc, exc.__traceback__))
    return problem(500, "Internal Server Error", "An internal error occurred; quote error_id when reporting it.",
                   "internal", instance, error_id=error_id)


def _retry_after(value, unavailable: bool) -> int | None:
    """Whole seconds (at least 1) for ``Retry-After``: the error's, else the default on a 503."""
    try:
        seconds = float(value)
    except (TypeError, ValueError):
        return DEFAULT_RETRY_AFTER if unavailable else None
    if not math.isfinite(seconds):
        return DEFAULT_RETRY_AFTER if unavailable else None
    return max(1, math.ceil(seconds))
