"""Changes of owner as the application records them: the rule (``domain.ownership``), the
``lead_ownership_log`` row it leaves (claims per day and the reclaim cooldown are counted there),
the events, and the department the pool knows for a member.
"""
from __future__ import annotations

import datetime as dt

from sqlalchemy import update

from crm_kit.ids import new_id
from crm_kit.runtime.uow import UnitOfWork
from services.leads import domain
from services.leads.events import LEAD_ASSIGNED, LEAD_STATUS_CHANGED
from services.leads.models import Lead, LeadOwnership, LeadPool, LeadPoolUser


def log_ownership(session, lead_id: str, pool_id: str | None, user_id: str, kind: str, at: dt.datetime,
                  reason: str | None = None) -> None:
    session.add(LeadOwnership(id=new_id(), lead_id=lead_id, pool_id=pool_id, user_id=user_id, kind=kind,
                              reason=reason, at=at))


def give(session, lead: Lead, pool: LeadPool | None, owner_id: str, department_id: str | None, via: str,
         now: dt.datetime) -> str | None:
    """Make ``owner_id`` the owner (``via``: assign, claim), logged; returns the previous owner."""
    previous = domain.give(lead, owner_id, department_id, now, pool.first_response_hours if pool else None)
    log_ownership(session, lead.id, lead.pool_id, owner_id, via, now)
    return previous


def release(session, lead: Lead, kind: str, now: dt.datetime, reason: str | None = None) -> str | None:
    """The owner lets go (``kind``: return, recycle, restore), logged; returns them."""
    previous = domain.release(lead)
    if previous:
        log_ownership(session, lead.id, lead.pool_id, previous, kind, now, reason)
    return previous


def emit_assigned(uow: UnitOfWork, lead, previous_owner_id: str | None, via: str) -> None:
    """``lead_assigned`` of ``lead`` (a row, or a new lead's dict)."""
    uow.emit(LEAD_ASSIGNED, lead, previous_owner_id=previous_owner_id, via=via)


def emit_status_changed(uow: UnitOfWork, lead: Lead, action: str, before: str, now: dt.datetime) -> None:
    uow.emit(LEAD_STATUS_CHANGED, lead, action=action, from_status=before, changed_at=now)


def remember_department(session, pool_id: str | None, user_id: str, department_id: str | None) -> None:
    """Keep the pool member's department up to date (copied onto leads the pool gives them)."""
    if pool_id and department_id:
        table = LeadPoolUser.__table__
        session.execute(update(table).where(table.c.pool_id == pool_id, table.c.user_id == user_id)
                        .values(department_id=department_id))
