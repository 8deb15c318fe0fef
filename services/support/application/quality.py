"""The quality report (``domain/quality.py``): the tickets opened in a period and the surveys answered
in it, within the caller's reach, turned into facts as of the report's instant (``as_of``: the
earlier of ``to`` and now) -- each ticket's calendar is the one its SLA runs by (its group's,
snapshotted), its SLA clocks' states as of ``as_of`` (``clocks.states``), a first response or a
resolution after ``as_of`` not counted yet.

Who sees what (docs/roles.md "support"): admins everything; a manager the tickets of their department
subtree; a support lead the tickets (and surveys) of the groups they lead; everyone their own (the
tickets assigned to them, the surveys of those). Asking for another agent (``agent_id``) without a
lead's, manager's or admin's reach is 403.
"""
from __future__ import annotations

import datetime as dt

from sqlalchemy import or_, select, true

from crm_kit.context import Principal
from crm_kit.errors import Forbidden, ValidationFailed
from crm_kit.records.db import utcnow
from crm_kit.records.schemas import load
from crm_kit.runtime.uow import UnitOfWork
from services.support.application import clocks
from services.support.application.access import LEAD, group_ids_of, is_lead
from services.support.domain import quality
from services.support.domain.sla_policies import calendar_from
from services.support.models import Ticket, TicketSurvey
from services.support.schemas.quality import QualityQuery, QualityReport

DEFAULT_PERIOD = dt.timedelta(days=30)
MAX_PERIOD = dt.timedelta(days=366)
BATCH = 500
_query, _out = QualityQuery(), QualityReport()


def quality_report(uow: UnitOfWork, principal: Principal, query: dict | None = None) -> dict:
    q = load(_query, query or {})
    now = utcnow()
    to = q["to"] or now
    start = q["from_"] or to - DEFAULT_PERIOD
    if not start < to or to - start > MAX_PERIOD:
        raise ValidationFailed.from_messages({"from": [f"The period runs forward, at most {MAX_PERIOD.days} days."]})
    as_of = min(to, now)
    with uow:
        session = uow.session
        reach = _reach(session, principal, q["agent_id"])
        where = [Ticket.opened_at >= start, Ticket.opened_at < to, reach(Ticket.assignee_id, Ticket.group_id,
                                                                          Ticket.department_id)]
        survey_where = [TicketSurvey.submitted_at >= start, TicketSurvey.submitted_at < to,
                        reach(TicketSurvey.assignee_id, TicketSurvey.group_id, Ticket.department_id)]
        if q["group_id"]:
            where.append(Ticket.group_id == q["group_id"])
            survey_where.append(TicketSurvey.group_id == q["group_id"])
        if q["agent_id"]:
            where.append(Ticket.assignee_id == q["agent_id"])
            survey_where.append(TicketSurvey.assignee_id == q["agent_id"])
        facts = list(_ticket_facts(session, where, as_of))
        surveys = [quality.SurveyFacts(s.group_id, s.assignee_id, s.csat, s.nps) for s in session.scalars(
            select(TicketSurvey).join(Ticket, Ticket.id == TicketSurvey.ticket_id).where(*survey_where))]
    figures = quality.report(facts, surveys, q["by"])
    return _out.dump({"from_": start, "to": to, "as_of": as_of, "by": q["by"], **figures})


def _reach(session, principal: Principal, agent_id: str | None):
    """``reach(assignee, group, department)``: the clause of the rows the principal's figures may count."""
    if principal.is_admin:
        return lambda assignee, group, department: true()
    manager = principal.role == "manager" and bool(principal.scope_department_ids)
    lead = is_lead(session, principal)
    if agent_id not in (None, principal.user_id) and not (manager or lead):
        raise Forbidden("An agent sees their own quality figures; a lead their groups', a manager their "
                        "departments'.", {"action": "quality_report"})

    def clause(assignee, group, department):
        ways = [assignee == principal.user_id]
        if lead:
            ways.append(group.in_(group_ids_of(principal, LEAD)))
        if manager:
            ways.append(department.in_(principal.scope_department_ids))
        return or_(*ways)
    return clause


def _ticket_facts(session, where, as_of: dt.datetime):
    after = ""
    while True:
        batch = session.scalars(select(Ticket).where(*where, Ticket.id > after).order_by(Ticket.id)
                                .limit(BATCH)).all()
        if not batch:
            return
        after = batch[-1].id
        for t in batch:
            resolved = t.resolved_at if t.resolved_at is not None and t.resolved_at <= as_of else None
            responded = (t.first_response_at if t.first_response_at is not None and t.first_response_at <= as_of
                         else None)
            yield quality.TicketFacts(
                t.group_id, t.assignee_id, t.opened_at, calendar_from(t.sla_calendar), t.status, responded, resolved,
                t.reopen_count or 0, [(p.started_at, p.ended_at) for p in t.pauses if p.started_at <= as_of],
                {s.clock: s.state for s in clocks.states(t, as_of)})
        session.expunge_all()
