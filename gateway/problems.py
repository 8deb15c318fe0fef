"""RFC 9457 problem details from typed errors (by class hierarchy, via ``status``)."""
from __future__ import annotations

import json
import logging

from werkzeug.wrappers import Response

from crm_kit.errors import CrmError
from crm_kit.ids import new_id

log = logging.getLogger(__name__)

PROBLEM_BASE = "https://crm.example.org/problems/"
PROBLEM_JSON = "application/problem+json"
# What of an error's ``extra`` a client may see (anything else stays in the logs).
PUBLIC_EXTRA = ("errors", "current_state", "existing_id", "action", "limit", "service", "field",
                "current_version", "retry_after", "reason")


def problem(status: int, title: str, detail: str, slug: str, instance: str | None = None, **extra) -> Response:
    body = {"type": PROBLEM_BASE + slug, "title": title, "status": status, "detail": detail}
    if instance:
        body["instance"] = instance
    body.update({k: v for k, v in extra.items() if v is not None})
    return Response(json.dumps(body, ensure_ascii=False), status=status, mimetype=PROBLEM_JSON)


def from_exception(exc: BaseException, instance: str | None = None) -> Response:
    if isinstance(exc, CrmError) and (exc.status < 500 or exc.status == 503):
        extra = {k: v for k, v in exc.extra.items() if k in PUBLIC_EXTRA}
        response = problem(exc.status, exc.title, exc.detail, exc.slug, instance, **extra)
        if exc.status == 429 and "retry_after" in exc.extra:
            response.headers["Retry-After"] = str(exc.extra["retry_after"])
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
