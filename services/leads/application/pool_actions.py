"""The actions on a lead that change who holds it or its status: assign, claim, return,
invalidate, discard, restore.

Who may do each, and the claim limits, are the domain's (``domain.permissions``,
``domain.claim_limits``); here the facts are read (the caller's roles in the pool, what they hold
and claimed today, when they last gave the lead up) and the change is recorded (ownership log,
audit action, event).
"""
from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from crm_kit.context import Principal
from crm_kit.records.db import utcnow
from crm_kit.records.schemas import load
from crm_kit.runtime.uow import UnitOfWork
from services.leads import domain
from services.leads.application.access import can_write, lead_for_read, lead_for_write, pool_roles
from services.leads.application.lead_record import lead_out, raise_if_duplicate_phone
from services.leads.application.ownership import emit_assigned, emit_status_changed, give, release, remember_department
from services.leads.events import LEAD_RETURNED
from services.leads.models import Lead, LeadOwnership, LeadPool, LeadPoolUser
from services.leads.schemas import AssignRequest, ReturnRequest

_assign = AssignRequest()
_return = ReturnRequest()


def assign_lead(uow: UnitOfWork, principal: Principal, lead_id: str, owner_id,
                owner_department_id: str | None = None) -> dict:
    """Give the lead to ``owner_id`` (admin, the pool's admins, or a manager who may change the lead).
    ``owner_department_id`` is the new owner's department (the gateway knows users; the service
    does not): copied onto the lead; when None, the pool's record of that member is used."""
    request = load(_assign, {"owner_id": owner_id})
    with uow:
        session = uow.session
        lead = lead_for_read(session, principal, lead_id)
        domain.ensure_may_assign(principal, lead_id,
                                 pool_admin=domain.ADMIN_ROLE in pool_roles(session, lead.pool_id, principal.user_id),
                                 may_change=can_write(session, principal, lead_id))
        status = domain.transition("assign", lead.status)
        target = request["owner_id"]
        if lead.owner_id == target:
            return lead_out.dump(lead)
        department = owner_department_id
        if department is None and lead.pool_id:
            department = session.scalars(select(LeadPoolUser.department_id).where(
                LeadPoolUser.pool_id == lead.pool_id, LeadPoolUser.user_id == target,
                LeadPoolUser.department_id.is_not(None))).first()
        remember_department(session, lead.pool_id, target, owner_department_id)
        uow.audit_action("assign")
        now = utcnow()
        pool = session.get(LeadPool, lead.pool_id) if lead.pool_id else None
        previous = give(session, lead, pool, target, department, "assign", now)
        lead.status = status
        session.flush()
        emit_assigned(uow, lead, previous, "assign")
        return uow.commit(lambda: lead_out.dump(lead))


def claim_lead(uow: UnitOfWork, principal: Principal, lead_id: str) -> dict:
    """A pool member takes an unassigned lead of the pool, within the pool's limits."""
    with uow:
        session = uow.session
        lead = lead_for_read(session, principal, lead_id)
        status = domain.transition("claim", lead.status)
        domain.ensure_in_pool(lead, "claim")
        pool = session.get(LeadPool, lead.pool_id, with_for_update=True)
        domain.ensure_may_claim(lead_id, pool.name, claiming_enabled=pool.claiming_enabled,
                                member=domain.MEMBER_ROLE in pool_roles(session, pool.id, principal.user_id))
        now = utcnow()
        domain.check_claim_limits(domain.ClaimLimits.of(pool), claim_facts(session, pool, lead, principal.user_id, now),
                                  now)
        remember_department(session, pool.id, principal.user_id, principal.department_id)
        uow.audit_action("claim")
        previous = give(session, lead, pool, principal.user_id, principal.department_id, "claim", now)
        lead.status = status
        session.flush()
        emit_assigned(uow, lead, previous, "claim")
        return uow.commit(lambda: lead_out.dump(lead))


def claim_facts(session, pool: LeadPool, lead: Lead, user_id: str, now: dt.datetime) -> domain.ClaimFacts:
    """What the claim limits are judged on, in one query: the pool's leads ``user_id`` holds, their
    claims in the pool today, and when they last gave ``lead`` up."""
    held = select(func.count()).select_from(Lead).where(
        Lead.pool_id == pool.id, Lead.status.in_(domain.HELD_STATUSES), Lead.owner_id == user_id)
    claimed = select(func.count()).select_from(LeadOwnership).where(
        LeadOwnership.user_id == user_id, LeadOwnership.kind == "claim", LeadOwnership.pool_id == pool.id,
        LeadOwnership.at >= domain.day_start(now))
    released = select(func.max(LeadOwnership.at)).where(
        LeadOwnership.lead_id == lead.id, LeadOwnership.user_id == user_id,
        LeadOwnership.kind.in_(domain.RELEASED_BY))
    held_now, claimed_today, last_released = session.execute(
        select(held.scalar_subquery(), claimed.scalar_subquery(), released.scalar_subquery())).one()
    if last_released is not None and last_released.tzinfo is None:
        last_released = last_released.replace(tzinfo=dt.timezone.utc)
    return domain.ClaimFacts(held=held_now, claimed_today=claimed_today, last_released_at=last_released)


def return_lead(uow: UnitOfWork, principal: Principal, lead_id: str, reason) -> dict:
    """The owner (or whoever may change the lead) gives it back to its pool, with a reason."""
    request = load(_return, {"reason": reason})
    with uow:
        lead = lead_for_write(uow.session, principal, lead_id)
        before = lead.status
        status = domain.transition("return", before)
        domain.ensure_in_pool(lead, "return")
        uow.audit_action("return")
        now = utcnow()
        previous = release(uow.session, lead, "return", now, request["reason"])
        lead.return_reason = request["reason"]
        lead.status = status
        uow.session.flush()
        uow.emit(LEAD_RETURNED, lead, previous_owner_id=previous, from_status=before, returned_at=now)
        return uow.commit(lambda: lead_out.dump(lead))


def _status_action(uow: UnitOfWork, principal: Principal, lead_id: str, action: str) -> dict:
    with uow:
        lead = lead_for_write(uow.session, principal, lead_id)
        before = lead.status
        lead.status = domain.transition(action, before)
        uow.audit_action(action)
        now = utcnow()
        uow.session.flush()
        emit_status_changed(uow, lead, action, before, now)
        return uow.commit(lambda: lead_out.dump(lead))


def invalidate_lead(uow: UnitOfWork, principal: Principal, lead_id: str) -> dict:
    """Could not be reached: ``invalid`` (a later follow-up makes it ``following`` again)."""
    return _status_action(uow, principal, lead_id, "invalidate")


def discard_lead(uow: UnitOfWork, principal: Principal, lead_id: str) -> dict:
    """Junk: ``discarded`` (its phone no longer blocks a new lead; only an admin restores it)."""
    return _status_action(uow, principal, lead_id, "discard")


def restore_lead(uow: UnitOfWork, principal: Principal, lead_id: str) -> dict:
    """Admin only: a discarded lead goes back to ``unassigned`` (refused if its phone is live again)."""
    with uow:
        lead = lead_for_read(uow.session, principal, lead_id)
        domain.ensure_may_restore(principal, lead_id)
        before = lead.status
        status = domain.transition("restore", before)
        uow.audit_action("restore")
        now = utcnow()
        release(uow.session, lead, "restore", now)
        lead.status = status
        try:
            uow.session.flush()
        except IntegrityError:
            uow.rollback()
            raise_if_duplicate_phone(uow.session, lead.phone_key)
            raise
        emit_status_changed(uow, lead, "restore", before, now)
        return uow.commit(lambda: lead_out.dump(lead))
