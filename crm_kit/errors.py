"""Typed errors that cross RPC intact.

Every class here is registered with nameko's ``deserialize_to_instance``, so
an error raised in a service is re-raised as the same class in the caller
(the gateway), which maps it to an RFC 9457 problem by class hierarchy
(``status`` below). Services raise only these classes; specifics go in
``extra`` (``errors`` for field messages, ``code``, ``current_state``...).

The constructor is ``(detail, extra)`` on every class because nameko
rebuilds the instance from ``exc.args``; ``extra`` is kept JSON-encoded in
``args`` because nameko turns every other non-string argument into a string.
"""
from __future__ import annotations

import json

from nameko.exceptions import deserialize_to_instance


class CrmError(Exception):
    status = 500
    title = "Internal Server Error"
    slug = "internal"

    def __init__(self, detail: str = "", extra: dict | str | None = None):
        # nameko stringifies every non-string in exc.args on the wire; JSON keeps types.
        if not isinstance(extra, str):
            extra = json.dumps(extra or {}, default=str, sort_keys=True)
        super().__init__(detail, extra)

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        deserialize_to_instance(cls)

    @property
    def detail(self) -> str:
        return self.args[0]

    @property
    def extra(self) -> dict:
        return json.loads(self.args[1])

    def __str__(self) -> str:
        return self.detail


deserialize_to_instance(CrmError)


class BadRequest(CrmError):
    status = 400
    title = "Bad Request"
    slug = "bad-request"


class ValidationFailed(CrmError):
    """Input failed validation; ``extra['errors']`` maps field -> [messages]."""
    status = 422
    title = "Validation Failed"
    slug = "validation-failed"

    @classmethod
    def from_messages(cls, messages: dict, detail: str = "The request has invalid fields.") -> "ValidationFailed":
        return cls(detail, {"errors": _flatten(messages)})

    @property
    def errors(self) -> dict:
        return self.extra.get("errors", {})


class Unauthorized(CrmError):
    status = 401
    title = "Unauthorized"
    slug = "unauthorized"


class Forbidden(CrmError):
    status = 403
    title = "Forbidden"
    slug = "forbidden"


class NotFound(CrmError):
    status = 404
    title = "Not Found"
    slug = "not-found"

    @classmethod
    def of(cls, resource: str, ident: str) -> "NotFound":
        return cls(f"{resource} {ident} was not found.", {"resource": resource, "id": str(ident)})


class Conflict(CrmError):
    status = 409
    title = "Conflict"
    slug = "conflict"


class InvalidState(Conflict):
    """An action not allowed in the record's current state."""
    slug = "invalid-state"

    @classmethod
    def for_action(cls, resource: str, action: str, current: str) -> "InvalidState":
        return cls(
            f"Cannot {action} a {resource} in state '{current}'.",
            {"action": action, "current_state": current},
        )


class Duplicate(Conflict):
    slug = "duplicate"


class StaleVersion(Conflict):
    slug = "stale-version"


class LimitExceeded(Conflict):
    slug = "limit-exceeded"


class TooManyRequests(CrmError):
    status = 429
    title = "Too Many Requests"
    slug = "rate-limited"


class ServiceUnavailable(CrmError):
    status = 503
    title = "Service Unavailable"
    slug = "service-unavailable"


# Errors a service raises on purpose: logged as outcomes, not as failures.
EXPECTED = (CrmError,)


def _flatten(messages) -> dict:
    """marshmallow nests messages for nested fields; flatten to dotted paths."""
    out: dict[str, list[str]] = {}

    def walk(prefix, value):
        if isinstance(value, dict):
            for key, sub in value.items():
                walk(f"{prefix}.{key}" if prefix else str(key), sub)
        elif isinstance(value, (list, tuple)) and value and all(isinstance(v, str) for v in value):
            out.setdefault(prefix or "_schema", []).extend(value)
        elif isinstance(value, (list, tuple)):
            for item in value:
                walk(prefix, item)
        else:
            out.setdefault(prefix or "_schema", []).append(str(value))

    walk("", messages)
    return out
