"""Errors the client raises: every 4xx/5xx answer is a :class:`ProblemError` (RFC 9457
problem+json, the gateway's only error format), of the subclass of its status, so that

    try:
        client.leads.create(name="Ada")
    except crm_client.Conflict as exc:
        exc.problem["existing_id"]

reads like the API's own documentation. A request that got no answer at all (the connection
failed, every retry included) is a :class:`ConnectionFailed`.
"""
from __future__ import annotations

import datetime as dt
import json
from email.utils import parsedate_to_datetime
from typing import Any


class ApiError(Exception):
    """The base of everything this client raises about a call."""


class ConnectionFailed(ApiError):
    """No HTTP answer: the connection failed or timed out (after the retries that were safe)."""

    def __init__(self, method: str, url: str, cause: BaseException, attempts: int):
        super().__init__(f"{method} {url}: no answer after {attempts} attempt(s): {cause!r}")
        self.method, self.url, self.cause, self.attempts = method, url, cause, attempts


class ProblemError(ApiError):
    """An error answer. ``problem`` is the whole problem document (with any extension member the
    gateway adds: ``current_state``, ``current_version``, ``existing_id``, ``retry_after``...)."""

    status: int = 0

    def __init__(self, status: int, problem: dict[str, Any], *, method: str = "", url: str = "",
                 request_id: str | None = None, retry_after: float | None = None, attempts: int = 1):
        self.status = status
        self.problem = problem
        self.method, self.url, self.request_id, self.attempts = method, url, request_id, attempts
        self.retry_after = retry_after if retry_after is not None else _number(problem.get("retry_after"))
        super().__init__(self._message())

    # The members RFC 9457 defines, and the gateway's `errors` of a validation failure.
    @property
    def type(self) -> str:
        return str(self.problem.get("type") or "about:blank")

    @property
    def title(self) -> str:
        return str(self.problem.get("title") or "")

    @property
    def detail(self) -> str:
        return str(self.problem.get("detail") or "")

    @property
    def instance(self) -> str | None:
        return self.problem.get("instance")

    @property
    def errors(self) -> dict[str, list[str]]:
        """Field -> messages (validation failures; dotted paths for nested fields)."""
        errors = self.problem.get("errors")
        return errors if isinstance(errors, dict) else {}

    def _message(self) -> str:
        text = f"{self.status} {self.title}".strip()
        if self.detail:
            text += f": {self.detail}"
        if self.errors:
            text += " " + "; ".join(f"{field}: {' '.join(map(str, msgs)) if isinstance(msgs, list) else msgs}"
                                    for field, msgs in sorted(self.errors.items()))
        if self.method:
            text += f" ({self.method} {self.url})"
        return text


class BadRequest(ProblemError):
    status = 400


class Unauthorized(ProblemError):
    """401: no token, a bad or expired one (``problem["reason"]``), or wrong credentials at sign-in."""
    status = 401


class Forbidden(ProblemError):
    status = 403


class NotFound(ProblemError):
    """404: unknown, or outside the caller's data scope (the API does not say which)."""
    status = 404


class Conflict(ProblemError):
    """409: a duplicate (``existing_id``), an action the record's state does not allow
    (``current_state``), a stale version (``current_version``), or a limit reached."""
    status = 409

    @property
    def current_state(self) -> str | None:
        return self.problem.get("current_state")

    @property
    def current_version(self) -> int | None:
        return self.problem.get("current_version")

    @property
    def existing_id(self) -> str | None:
        return self.problem.get("existing_id")


class ValidationError(ProblemError):
    """422: ``errors`` names each field that was refused."""
    status = 422


class RateLimited(ProblemError):
    """429, after the client's retries: ``retry_after`` seconds until the limit allows again."""
    status = 429


class ServerError(ProblemError):
    """500: quote ``problem["error_id"]`` when reporting it."""
    status = 500

    @property
    def error_id(self) -> str | None:
        return self.problem.get("error_id")


class Unavailable(ProblemError):
    """503: a backing service did not answer in time (``problem["service"]``), after the retries
    that were safe (a create without an Idempotency-Key is never repeated)."""
    status = 503


BY_STATUS: dict[int, type[ProblemError]] = {cls.status: cls for cls in (
    BadRequest, Unauthorized, Forbidden, NotFound, Conflict, ValidationError, RateLimited, ServerError, Unavailable)}


def error_class(status: int) -> type[ProblemError]:
    return BY_STATUS.get(status) or (ServerError if status >= 500 else ProblemError)


def problem_from(status: int, content_type: str, body: bytes | str, reason: str = "") -> dict[str, Any]:
    """The problem document of an error answer; an answer that is not problem+json (a proxy's HTML
    page, an empty 502) becomes one too, so that callers handle one shape."""
    text = body.decode("utf-8", "replace") if isinstance(body, bytes) else body
    if "json" in (content_type or "").lower():
        try:
            doc = json.loads(text)
        except ValueError:
            doc = None
        if isinstance(doc, dict):
            doc.setdefault("status", status)
            return doc
    return {"type": "about:blank", "title": reason or f"HTTP {status}", "status": status,
            "detail": " ".join(text.split())[:500]}


def parse_retry_after(value: str | None) -> float | None:
    """``Retry-After`` in seconds (delta-seconds or an HTTP date), None when absent or unreadable."""
    if not value:
        return None
    seconds = _number(value)
    if seconds is not None:
        return max(0.0, seconds)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.timezone.utc)
    return max(0.0, (when - dt.datetime.now(dt.timezone.utc)).total_seconds())


def _number(value) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if number == number and number not in (float("inf"), float("-inf")) else None
