"""Who may do what to a lead of a pool, and to a pool (beyond the data scopes).

The data scopes (``crm_kit.records.scopes``, and the pools' own way in:
``services.leads.application.access``) decide who sees a lead and who may change it; on top of
them:

| action | who |
|---|---|
| add a lead to a pool | an admin, the pool's admins and members |
| assign | an admin, the pool's admins, a manager who may change the lead |
| claim | the pool's members, when the pool allows claiming (then its limits: ``claim_limits``) |
| return | whoever may change the lead (the owner); the lead must be in a pool |
| restore | admins only (not the platform) |
| create a pool | admins |
| manage a pool (update it, run its recycling) | an admin, the pool's admins |

Each ``ensure_*`` raises the error the caller gets (``Forbidden`` 403, ``Conflict`` 409) or returns.
"""
from __future__ import annotations

from crm_kit.context import Principal
from crm_kit.errors import Conflict, Forbidden


def may_add_to_pool(principal: Principal, pool_roles) -> bool:
    """``pool_roles``: the caller's roles in the pool (admin, member)."""
    return principal.is_admin or bool(pool_roles)


def may_assign(principal: Principal, *, pool_admin: bool, may_change: bool) -> bool:
    """``pool_admin``: the caller administers the lead's pool; ``may_change``: their data scope
    lets them change the lead."""
    return principal.is_admin or pool_admin or (principal.role == "manager" and may_change)


def ensure_may_assign(principal: Principal, lead_id: str, *, pool_admin: bool, may_change: bool) -> None:
    if not may_assign(principal, pool_admin=pool_admin, may_change=may_change):
        raise Forbidden("Only an admin, the pool's admins or a manager may assign a lead.",
                        {"resource": "lead", "id": str(lead_id), "action": "assign"})


def ensure_in_pool(lead, action: str) -> None:
    """Claiming and returning need the lead's pool (409 otherwise)."""
    if not lead.pool_id:
        what = "it cannot be claimed" if action == "claim" else "there is nowhere to return it"
        raise Conflict(f"Lead {lead.id} is not in a pool: {what}.", {"action": action, "current_state": lead.status})


def ensure_may_claim(lead_id: str, pool_name: str, *, member: bool, claiming_enabled: bool) -> None:
    """``member``: the caller is a member of the lead's pool (its admins are not, for this)."""
    if not member:
        raise Forbidden("Only the pool's members may claim its leads.",
                        {"resource": "lead", "id": str(lead_id), "action": "claim"})
    if not claiming_enabled:
        raise Forbidden(f"Pool '{pool_name}' does not allow claiming; ask a pool admin to assign the lead.",
                        {"resource": "lead", "id": str(lead_id), "action": "claim"})


def may_restore(principal: Principal) -> bool:
    return principal.is_admin and not principal.is_system


def ensure_may_restore(principal: Principal, lead_id: str) -> None:
    if not may_restore(principal):
        raise Forbidden("Only an admin may restore a discarded lead.",
                        {"resource": "lead", "id": str(lead_id), "action": "restore"})


def ensure_may_create_pool(principal: Principal) -> None:
    if not principal.is_admin:
        raise Forbidden("Only an admin may create a lead pool.", {"resource": "lead pool"})


def may_manage_pool(principal: Principal, *, pool_admin: bool) -> bool:
    return principal.is_admin or pool_admin


def ensure_may_manage_pool(principal: Principal, pool_id: str, *, pool_admin: bool) -> None:
    if not may_manage_pool(principal, pool_admin=pool_admin):
        raise Forbidden(f"Only an admin or the pool's admins may manage lead pool {pool_id}.",
                        {"resource": "lead pool", "id": str(pool_id)})
