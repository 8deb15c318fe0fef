"""Typed errors that cross RPC intact.

Every class here is registered with nameko's ``deserialize_to_instance``, so
an error raised in a service is re-raised as the same class in the caller
(the gateway), which maps it to an RFC 9457 problem by class hierarchy
(``status`` below). Services raise only these classes; specifics go in
``extra`` (``errors`` for field messages, ``current_state``, ``limit``...).

**What a client may see of ``extra``** is declared by each class: ``public``, the names of
the fields the gateway puts in the problem+json answer (:meth:`CrmError.public_extra`);
everything else (``resource``, ``id``, ``expected_version``...) stays in the logs. A subclass
extends its parent's list (``public = Conflict.public + ("quota",)``): a class never shows
less than the class it refines (a subclass that would is a ``TypeError`` when it is defined).
A class declares the fields it is raised with; a field raised but not declared is not seen
(``tests/unit/test_errors.py`` checks each class's list, and what a client sees of it).

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
    public: tuple[str, ...] = ("errors",)   # the fields of ``extra`` a client may see

    def __init__(self, detail: str = "", extra: dict | str | None = None):
        # nameko stringifies every non-string in exc.args on the wire; JSON keeps types.
        if not isinstance(extra, str):
            extra = json.dumps(extra or {}, default=str, sort_keys=True)
        super().__init__(detail, extra)

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        for base in cls.__mro__[1:]:
            hidden = [name for name in getattr(base, "public", ()) if name not in cls.public]
            if issubclass(base, CrmError) and hidden:
                raise TypeError(f"{cls.__name__}.public must extend {base.__name__}.public (missing {hidden})")
        deserialize_to_instance(cls)

    @property
    def detail(self) -> str:
        return self.args[0]

    @property
    def extra(self) -> dict:
        return json.loads(self.args[1])

    def public_extra(self) -> dict:
        """The fields of ``extra`` this class lets a client see (``public``), those given."""
        extra = self.extra
        return {name: extra[name] for name in self.public if name in extra}

    def __str__(self) -> str:
        return self.detail


deserialize_to_instance(CrmError)


class BadRequest(CrmError):
    status = 400
    title = "Bad Request"
    slug = "bad-request"
    public = CrmError.public + ("reason",)          # reason: why an RPC request could not be decoded


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
    public = CrmError.public + ("reason",)          # missing, expired, bad_credentials, inactive...


class Forbidden(CrmError):
    """(``resource`` and ``id`` stay in the logs.)"""
    status = 403
    title = "Forbidden"
    slug = "forbidden"
    # action: the action refused (assign, claim, restore...); reason: why, when there are several
    # (a customer's signed link for another purpose: ``wrong_purpose``)
    public = CrmError.public + ("action", "reason")


class NotFound(CrmError):
    """(``resource`` and ``id`` stay in the logs: the client named them.)"""
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
    # current_state/action: not allowed in this state; existing_id/field: the record already there and
    # the field that must be unique; current_version: a stale write; retry_after: still in progress
    public = CrmError.public + ("current_state", "action", "existing_id", "field", "current_version",
                                "retry_after")


class InvalidState(Conflict):
    """An action not allowed in the record's current state."""
    slug = "invalid-state"
    # allowed_actions: what the state allows instead; allowed_until: the end of a window that closed
    public = Conflict.public + ("allowed_actions", "allowed_until")

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
    """A limit reached: ``limit`` names it, ``max`` is its value, ``current`` where the caller
    stands, ``available_at`` when it lets them again (a cooldown)."""
    slug = "limit-exceeded"
    public = Conflict.public + ("limit", "max", "current", "available_at")


class Gone(CrmError):
    """What the request names existed and is no more: a customer's signed link that expired
    (``reason`` ``expired``, ``expired_at``) or was used already (``used``, ``used_at``)."""
    status = 410
    title = "Gone"
    slug = "gone"
    public = CrmError.public + ("reason", "expired_at", "used_at")


class TooManyRequests(CrmError):
    status = 429
    title = "Too Many Requests"
    slug = "rate-limited"
    public = CrmError.public + ("retry_after", "limit")


class ServiceUnavailable(CrmError):
    status = 503
    title = "Service Unavailable"
    slug = "service-unavailable"
    public = CrmError.public + ("service", "retry_after")


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
