"""Who is asking and which request caused this: carried through RPC and events.

The gateway assigns a request id (``X-Request-ID``) and authenticates a
principal. Both travel in nameko's context data (AMQP headers
``nameko.request_id`` and ``nameko.principal``) on every RPC, and in the
event envelope (``correlation_id``, ``actor``) through the outbox. Inside a
worker they are readable from these context variables (one context per
greenthread), which the logging filter and the outbox use. (With tracing on, the W3C
``traceparent`` travels beside them: ``crm_kit.runtime.tracing``.)
"""
from __future__ import annotations

import contextvars
from dataclasses import asdict, dataclass, field

REQUEST_ID_KEY = "request_id"
PRINCIPAL_KEY = "principal"

# An RPC request's own headers (set by ``crm_kit.runtime.rpc_client.ServiceRpc`` on each call, never passed on
# to the calls it makes) and the worker context keys ``crm_kit.runtime.entrypoints`` turns them into.
DEADLINE_HEADER = "x-crm-deadline"          # epoch seconds after which the caller has answered 503
REQUEST_KEY_HEADER = "x-crm-request-key"    # a key the caller keeps across retries (Idempotency-Key)
REQUEST_KEY, DEADLINE, MAYBE_HANDLED = "crm_request_key", "crm_deadline", "crm_maybe_handled"
IDEMPOTENCY_KEY = "crm_idempotency_key"     # the gateway's: this request's client Idempotency-Key, hashed

request_id_var: contextvars.ContextVar[str | None] = contextvars.ContextVar("request_id", default=None)
principal_var: contextvars.ContextVar["Principal | None"] = contextvars.ContextVar("principal", default=None)

# admin, manager, member: domain.md's data scopes. finance (billing, issue 13): outside billing a
# member (their own records only); in billing it sees, and reviews, every receivable and payment
# whose department is in its scope (its department and those below: a finance user in the root
# department sees the whole company's) -- services/billing/domain/review.py.
ROLES = ("admin", "manager", "member", "finance")


@dataclass(frozen=True)
class Principal:
    """The authenticated caller, as the gateway vouches for it.

    ``scope_department_ids`` is the caller's department and its whole
    subtree (managers see records owned in any of them).
    """
    user_id: str
    role: str
    department_id: str | None = None
    scope_department_ids: tuple[str, ...] = field(default_factory=tuple)

    @property
    def is_admin(self) -> bool:
        return self.role in ("admin", "system")

    @property
    def is_system(self) -> bool:
        return self.role == "system"

    def to_dict(self) -> dict:
        data = asdict(self)
        data["scope_department_ids"] = list(self.scope_department_ids)
        return data

    @classmethod
    def from_dict(cls, data: dict | None) -> "Principal | None":
        if not data:
            return None
        return cls(
            user_id=str(data["user_id"]),
            role=str(data["role"]),
            department_id=data.get("department_id"),
            scope_department_ids=tuple(data.get("scope_department_ids") or ()),
        )

    @classmethod
    def system(cls, name: str = "system") -> "Principal":
        """The platform itself acting (event handlers, timers)."""
        return cls(user_id=name, role="system")


def current_request_id() -> str | None:
    return request_id_var.get()


def current_principal() -> Principal | None:
    return principal_var.get()
