"""Who sees and who may change a lead or a pool: the kit's data scopes plus the pools' own way in.

On top of ``crm_kit.records.scopes`` (owner, department subtree, team): a pool's admins see and
change every lead of their pool; its members see the pool's ``unassigned`` leads (to claim them).
A lead the caller cannot see answers like a missing one (``NotFound``); one they can see but not
change answers ``Forbidden``. Pools have no owner: their scope is membership (:func:`pool_scope_clause`).
"""
from __future__ import annotations

from sqlalchemy import and_, case, or_, select

from crm_kit.context import Principal
from crm_kit.errors import Forbidden, NotFound
from crm_kit.records import teams
from crm_kit.records.scopes import get_for_read, get_for_write, scope_clause, write_scope_clause
from services.leads import domain
from services.leads.models import Lead, LeadPool, LeadPoolUser, lead_team


def pools_of(user_id: str, role: str | None = None):
    """The ids of the pools ``user_id`` belongs to (in ``role``, or any), as a subquery."""
    stmt = select(LeadPoolUser.pool_id).where(LeadPoolUser.user_id == user_id)
    return stmt.where(LeadPoolUser.role == role) if role else stmt


def read_extra(principal: Principal):
    """The pools' way in for reading, passed to the kit's scopes: team members, the pool's admins,
    and the pool's members for its unassigned leads."""
    uid = principal.user_id
    return or_(teams.member_clause(Lead, lead_team, uid),
               Lead.pool_id.in_(pools_of(uid, domain.ADMIN_ROLE)),
               and_(Lead.status == domain.UNASSIGNED, Lead.pool_id.in_(pools_of(uid))))


def write_extra(principal: Principal):
    uid = principal.user_id
    return or_(teams.member_clause(Lead, lead_team, uid, write=True),
               Lead.pool_id.in_(pools_of(uid, domain.ADMIN_ROLE)))


def lead_for_read(session, principal: Principal, lead_id: str) -> Lead:
    return get_for_read(session, Lead, lead_id, principal, "lead", read_extra(principal))


def lead_for_write(session, principal: Principal, lead_id: str) -> Lead:
    """``get_for_write`` with different extra rules for reading and for writing: ``NotFound``
    if the caller cannot see the lead, ``Forbidden`` if they may see but not change it."""
    if principal.is_admin:
        return get_for_write(session, Lead, lead_id, principal, "lead")
    writable = case((write_scope_clause(Lead, principal, write_extra(principal)), True), else_=False)
    found = session.execute(select(Lead, writable).where(
        Lead.id == lead_id, scope_clause(Lead, principal, read_extra(principal)))).first()
    if found is None:
        raise NotFound.of("lead", lead_id)
    if not found[1]:
        raise Forbidden(f"You may see lead {lead_id} but not change it.", {"resource": "lead", "id": str(lead_id)})
    return found[0]


def can_write(session, principal: Principal, lead_id: str) -> bool:
    """Whether the caller's scope lets them change the lead."""
    return principal.is_admin or session.execute(select(Lead.id).where(
        Lead.id == lead_id, write_scope_clause(Lead, principal, write_extra(principal)))).first() is not None


def pool_roles(session, pool_id: str | None, user_id: str) -> set[str]:
    """The user's roles in the pool (``admin``, ``member``); none for no pool."""
    if not pool_id:
        return set()
    return set(session.scalars(select(LeadPoolUser.role).where(
        LeadPoolUser.pool_id == pool_id, LeadPoolUser.user_id == user_id)))


def pool_users(session, pool_id: str, role: str) -> list[LeadPoolUser]:
    """The pool's admins or members, in user id order."""
    return list(session.scalars(select(LeadPoolUser).where(
        LeadPoolUser.pool_id == pool_id, LeadPoolUser.role == role).order_by(LeadPoolUser.user_id)))


def pool_scope_clause(principal: Principal):
    """The pools a principal may see: admins every pool, others those they administer or work in."""
    if principal.is_admin:
        return LeadPool.id.is_not(None)
    return LeadPool.id.in_(pools_of(principal.user_id))


def pool_for(session, principal: Principal, pool_id: str, manage: bool = False) -> LeadPool:
    """A pool the caller may see (``NotFound`` otherwise); ``manage``: and may manage
    (``domain.permissions``: ``Forbidden`` otherwise)."""
    pool = session.scalars(select(LeadPool).where(LeadPool.id == pool_id, pool_scope_clause(principal))).first()
    if pool is None:
        raise NotFound.of("lead pool", pool_id)
    if manage:
        domain.ensure_may_manage_pool(principal, pool_id, pool_admin=domain.ADMIN_ROLE in pool_roles(
            session, pool_id, principal.user_id))
    return pool
