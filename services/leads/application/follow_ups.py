"""Follow-ups of a lead (what was done, how it went, when to contact again) and the owner's
reminders (next contact times, and recycle warnings: ``domain.recycling``).
"""
from __future__ import annotations

from sqlalchemy import and_, select

from crm_kit.context import Principal
from crm_kit.errors import NotFound
from crm_kit.ids import new_id
from crm_kit.records.db import utcnow
from crm_kit.records.pagination import paginate
from crm_kit.records.schemas import load
from crm_kit.records.scopes import get_for_read
from crm_kit.runtime.uow import UnitOfWork
from services.leads import domain
from services.leads.application.access import lead_for_read, lead_for_write, read_extra
from services.leads.application.ownership import emit_status_changed
from services.leads.models import Lead, LeadFollowUp, LeadPool
from services.leads.schemas import FollowUpCreate, FollowUpListQuery, FollowUpOut, ReminderList, ReminderQuery

_follow_up = FollowUpCreate()
_follow_up_out = FollowUpOut()
_follow_up_query = FollowUpListQuery()
_reminder_query = ReminderQuery()
_reminder_list = ReminderList()
RECYCLE_WARNINGS_SCANNED = 1000     # held leads of recycling pools looked at per reminders call


def add_lead_follow_up(uow: UnitOfWork, principal: Principal, lead_id: str, data: dict) -> dict:
    """Record a follow-up: ``pending``/``invalid`` -> ``following``; sets ``last_followed_at``, the
    first response (SLA) and the next contact time (the owner's reminder)."""
    fields = load(_follow_up, data)
    with uow:
        lead = lead_for_write(uow.session, principal, lead_id)
        before = lead.status
        status = domain.transition("follow_up", before)
        uow.audit_action("follow_up")
        now = utcnow()
        record = LeadFollowUp(id=new_id(), lead_id=lead.id, author_id=principal.user_id, created_at=now, **fields)
        uow.session.add(record)
        lead.status = status
        domain.followed_up(lead, now, fields["next_contact_at"])
        uow.session.flush()
        if status != before:
            emit_status_changed(uow, lead, "follow_up", before, now)
        return uow.commit(lambda: _follow_up_out.dump(record))


def list_lead_follow_ups(uow: UnitOfWork, principal: Principal, lead_id: str, query: dict | None = None) -> dict:
    """A lead's follow-ups, newest first (whoever may read the lead)."""
    params = load(_follow_up_query, query or {})
    with uow:
        get_for_read(uow.session, Lead, lead_id, principal, "lead", read_extra(principal))
        stmt = select(LeadFollowUp).where(LeadFollowUp.lead_id == lead_id)
        rows, next_cursor = paginate(uow.session, stmt, LeadFollowUp.id, params["limit"], params["cursor"])
        return {"items": _follow_up_out.dump(rows, many=True), "next_cursor": next_cursor}


def get_lead_follow_up(uow: UnitOfWork, principal: Principal, lead_id: str, follow_up_id: str) -> dict:
    """One follow-up of a lead (whoever may read the lead); ``NotFound`` alike when the lead is out
    of scope or missing and when the follow-up is missing or belongs to another lead."""
    with uow:
        lead_for_read(uow.session, principal, lead_id)
        record = uow.session.scalar(select(LeadFollowUp).where(LeadFollowUp.id == follow_up_id,
                                                               LeadFollowUp.lead_id == lead_id))
        if record is None:
            raise NotFound.of("lead follow-up", follow_up_id)
        return _follow_up_out.dump(record)


def lead_reminders(uow: UnitOfWork, principal: Principal, query: dict | None = None) -> dict:
    """The caller's reminders from leads they own: next contact times due by ``due_before``
    (default now), and recycle warnings (the pool will take the lead back at ``due_at``)."""
    params = load(_reminder_query, query or {})
    due_before = params["due_before"] or utcnow()
    limit = params["limit"]
    items = []
    with uow:
        owned = and_(Lead.owner_id == principal.user_id, Lead.status.in_(domain.HELD_STATUSES))
        for lead in uow.session.scalars(select(Lead).where(owned, Lead.next_contact_at <= due_before)
                                        .order_by(Lead.next_contact_at).limit(limit)):
            items.append(_reminder("next_contact", lead, lead.next_contact_at))
        rows = uow.session.execute(select(Lead, LeadPool).join(LeadPool, LeadPool.id == Lead.pool_id).where(
            owned, LeadPool.recycle_after_days.is_not(None), LeadPool.recycle_warning_days.is_not(None))
            .limit(RECYCLE_WARNINGS_SCANNED)).all()
        for lead, pool in rows:
            due = domain.recycle_warning(lead, pool.recycle_after_days, pool.recycle_warning_days, due_before)
            if due is not None:
                items.append(_reminder("recycle_warning", lead, due))
    items.sort(key=lambda item: (item["due_at"], item["lead_id"]))
    return _reminder_list.dump({"items": items[:limit], "next_cursor": None})


def _reminder(kind: str, lead: Lead, due_at) -> dict:
    return {"kind": kind, "lead_id": lead.id, "lead_name": lead.name, "company": lead.company,
            "pool_id": lead.pool_id, "due_at": due_at}
