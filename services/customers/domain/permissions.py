"""Who may do what to a customer of a pool, to an owned customer's ownership, to a pool and to the
customer settings (beyond the data scopes), and in which state.

The data scopes (``crm_kit.records.scopes`` plus the pools' way in:
``services.customers.application.access``) decide who sees a customer (else 404) and who may
change it (else 403); on top of them:

- **claim** (in a pool): the pool's members (not its admins, for this), when the pool allows
  claiming; then its limits (``claim_limits``) and the holding cap;
- **assign** (in a pool, or owned): an admin, the pool's admins, a manager who may change the
  customer; then the holding cap;
- **return** (owned, not locked): an admin, or the owner or a manager who may change it (a team
  member may not);
- **move** (in a pool): an admin, the admins of the pool it is in;
- **lock / unlock** (owned): an admin, the owner, a manager who may change it; a lock, the locked cap;
- **transfer** (owned): an admin, the owner, a manager who may change it; then the holding cap (the
  old owner may stay a team member: :func:`transfer_errors`);
- **create a pool, read or change the customer settings**: admins;
- **manage a pool** (update it, run its recycling): an admin, the pool's admins.

Each ``ensure_*`` raises the error the caller gets (``Forbidden`` 403 with ``action``;
``InvalidState`` 409 with ``action`` and ``current_state``) or returns.
"""
from __future__ import annotations

from crm_kit.context import Principal
from crm_kit.errors import Forbidden, InvalidState

IN_POOL, OWNED, LOCKED, UNOWNED = "in_pool", "owned", "locked", "unowned"


def state_of(customer) -> str:
    """``in_pool``, ``locked`` (owned and locked), ``owned``, or ``unowned`` (neither: made by the platform)."""
    if customer.pool_id:
        return IN_POOL
    if customer.owner_id:
        return LOCKED if customer.locked else OWNED
    return UNOWNED


def _refuse_state(customer, action: str, detail: str) -> None:
    raise InvalidState(f"Cannot {action} customer {customer.id}: {detail} (state '{state_of(customer)}').",
                       {"action": action, "current_state": state_of(customer)})


def ensure_in_pool(customer, action: str) -> None:
    if not customer.pool_id:
        _refuse_state(customer, action, "it is not in a pool")


def ensure_owned(customer, action: str) -> None:
    if customer.pool_id or not customer.owner_id:
        _refuse_state(customer, action, "it has no owner" if not customer.pool_id else "it is in a pool")


def ensure_returnable(customer) -> None:
    """Owned and not locked (a lock keeps it with its owner: unlock it first)."""
    ensure_owned(customer, "return")
    if customer.locked:
        _refuse_state(customer, "return", "it is locked; unlock it first")


def _forbid(customer_id: str, action: str, detail: str) -> None:
    raise Forbidden(detail, {"resource": "customer", "id": str(customer_id), "action": action})


def ensure_may_claim(customer_id: str, pool_name: str, *, member: bool, claiming_enabled: bool) -> None:
    if not member:
        _forbid(customer_id, "claim", "Only the pool's members may claim its customers.")
    if not claiming_enabled:
        _forbid(customer_id, "claim", f"Pool '{pool_name}' does not allow claiming; ask a pool admin to assign "
                                      "the customer.")


def may_assign(principal: Principal, *, pool_admin: bool, may_change: bool) -> bool:
    return principal.is_admin or pool_admin or (principal.role == "manager" and may_change)


def ensure_may_assign(principal: Principal, customer_id: str, *, pool_admin: bool, may_change: bool) -> None:
    if not may_assign(principal, pool_admin=pool_admin, may_change=may_change):
        _forbid(customer_id, "assign", "Only an admin, the pool's admins or a manager may assign a customer.")


def may_hold_action(principal: Principal, customer, *, may_change: bool) -> bool:
    """Return, lock, unlock, transfer: an admin, or the owner or a manager within their write scope."""
    if principal.is_admin:
        return True
    return may_change and (customer.owner_id == principal.user_id or principal.role == "manager")


def ensure_may_hold_action(principal: Principal, customer, action: str, *, may_change: bool) -> None:
    if not may_hold_action(principal, customer, may_change=may_change):
        _forbid(customer.id, action, f"Only the owner, a manager or an admin may {action} a customer.")


def ensure_may_move(principal: Principal, customer_id: str, *, pool_admin: bool) -> None:
    if not (principal.is_admin or pool_admin):
        _forbid(customer_id, "move", "Only an admin or the pool's admins may move a customer to another pool.")


def ensure_may_create_pool(principal: Principal) -> None:
    if not principal.is_admin:
        raise Forbidden("Only an admin may create a customer pool.", {"resource": "customer pool"})


def may_manage_pool(principal: Principal, *, pool_admin: bool) -> bool:
    return principal.is_admin or pool_admin


def ensure_may_manage_pool(principal: Principal, pool_id: str, *, pool_admin: bool) -> None:
    if not may_manage_pool(principal, pool_admin=pool_admin):
        raise Forbidden(f"Only an admin or the pool's admins may manage customer pool {pool_id}.",
                        {"resource": "customer pool", "id": str(pool_id)})


def ensure_may_manage_settings(principal: Principal) -> None:
    if not principal.is_admin:
        raise Forbidden("Only an admin may read or change the customer settings.",
                        {"resource": "customer settings"})


def transfer_errors(keep_old_owner: str | None, until, now) -> dict:
    """A transfer may keep the old owner as a team member (``read`` / ``read_write``), for good or
    ``until`` a time, which must be in the future and needs ``keep_old_owner``."""
    if until is None:
        return {}
    if keep_old_owner is None:
        return {"until": ["Only with keep_old_owner (how long the old owner stays a team member)."]}
    if until <= now:
        return {"until": ["Must be in the future."]}
    return {}
