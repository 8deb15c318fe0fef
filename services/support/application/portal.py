"""What a customer does through a signed one-time link, without logging in (the portal), and the
links staff hand out (``portal_links.mint``; ``domain/links.py`` for the token and its refusals).

- ``portal_ticket`` (a ``reply`` or ``survey`` link): the ticket as its customer sees it -- its
  public comments, no internal notes, no staff ids. Reading does not use the link up: a link
  reads its ticket until it expires (used or not);
- ``portal_reply`` (``reply``): a public comment authored by the ticket's contact (``author_type``
  ``contact``; ``customer`` when the ticket names none); on ``waiting_on_customer`` the ticket
  resumes (``in_progress``: the SLA clocks run on). A resolved or closed ticket takes no reply (409:
  answer the survey, or open a new ticket). It answers the next reply's link;
- ``portal_open_ticket`` (``open_ticket``, for a customer and maybe a contact and a group): a ticket on
  channel ``portal``, routed in the link's group like any other;
- ``portal_survey`` (``survey``): CSAT 1-5, a comment, NPS 0-10, on a resolved or closed ticket, once
  per resolution (409 ``Conflict`` when answered already), ``survey_submitted``.

Every write uses its link up: the link's ``jti`` is inserted into ``portal_link_uses`` as the
transaction's first statement (its primary key: of two concurrent uses one inserts, the other meets
the key and is refused ``used``, 410); whatever fails after it rolls the use back too, so a
refused write (a bad body, a wrong state) leaves the link good.

Staff: ``create_ticket_link`` (who may change the ticket: a ``reply`` link, or a ``survey`` link
of a resolved or closed ticket), ``create_portal_link`` (an ``open_ticket`` link: admins, the agents
and leads of any group, the customer's owner as support knows it).
"""
from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from crm_kit.context import Principal
from crm_kit.errors import Conflict, Forbidden, InvalidState, NotFound
from crm_kit.ids import new_id
from crm_kit.records.db import utcnow
from crm_kit.records.schemas import load
from crm_kit.runtime.uow import UnitOfWork
from services.support.application import portal_links, routing
from services.support.application.access import for_write
from services.support.application.actions import move
from services.support.application.customer_events import current_customer_id
from services.support.application.portal_links import answered
from services.support.application.tickets import open_ticket
from services.support.domain import links
from services.support.domain import tickets as rules
from services.support.events.surveys import SURVEY_SUBMITTED
from services.support.models import (
    PortalLinkUse,
    SupportCustomerRef,
    SupportGroupMember,
    Ticket,
    TicketComment,
    TicketSurvey,
)
from services.support.schemas.portal import (
    PortalLinkCreate,
    PortalLinkOut,
    PortalReply,
    PortalReplyResult,
    PortalTicket,
    PortalTicketOpen,
    PortalTicketOpened,
    SurveyOut,
    SurveySubmit,
    TicketLinkCreate,
)

ANSWERED = (rules.RESOLVED, rules.CLOSED)
MAX_COMMENTS = 200
_AUTHOR = {"user": "agent", "contact": "contact", "customer": "customer"}
_reply_in, _open_in, _survey_in = PortalReply(), PortalTicketOpen(), SurveySubmit()
_ticket_link_in, _portal_link_in = TicketLinkCreate(), PortalLinkCreate()
_link_out, _ticket_out, _reply_out, _opened_out, _survey_out = (
    PortalLinkOut(), PortalTicket(), PortalReplyResult(), PortalTicketOpened(), SurveyOut())


# -- the customer's side ----------------------------------------------------------------------
def portal_ticket(uow: UnitOfWork, token) -> dict:
    link = portal_links.read(token, ("reply", "survey"), utcnow())
    with uow:
        return _ticket_out.dump(_view(uow.session, _ticket(uow.session, link.subject_id)))


def portal_reply(uow: UnitOfWork, token, data) -> dict:
    now = utcnow()
    link = portal_links.read(token, ("reply",), now)
    fields = load(_reply_in, data or {})
    with uow:
        session = uow.session
        comment_id = new_id()
        _use(session, link, "comment", comment_id, now)
        ticket = _ticket(session, link.subject_id)
        if ticket.status not in rules.OPEN_STATUSES:
            raise InvalidState(f"A ticket in state '{ticket.status}' takes no reply: answer its survey, or "
                               "open a new ticket.", {"action": "reply", "current_state": ticket.status})
        author_type, author_id = (("contact", ticket.contact_id) if ticket.contact_id
                                  else ("customer", ticket.customer_id))
        comment = TicketComment(id=comment_id, ticket_id=ticket.id, author_id=author_id, author_type=author_type,
                                public=True, body=fields["body"], created_at=now)
        session.add(comment)
        ticket.updated_at = now
        if ticket.status == rules.WAITING:
            move(uow, ticket, "resume", now, reason="The customer replied")
        uow.audit_action("portal_reply")
        session.flush()
        next_link = portal_links.mint("reply", ticket.id, now)
        return uow.commit(lambda: _reply_out.dump({
            "comment": _comment(comment), "ticket": _view(session, ticket), "reply_link": next_link}))


def portal_open_ticket(uow: UnitOfWork, token, data) -> dict:
    now = utcnow()
    link = portal_links.read(token, ("open_ticket",), now)
    fields = load(_open_in, data or {})
    with uow:
        session = uow.session
        ticket_id = new_id()
        _use(session, link, "ticket", ticket_id, now)
        ticket = open_ticket(uow, {**fields, "customer_id": link.subject_id, "contact_id": link.extra.get("contact_id"),
                                   "group_id": link.extra.get("group_id"), "channel": "portal", "priority": "normal",
                                   "customer_level": None, "onsite": False, "assignee_id": None},
                             None, None, now, ticket_id=ticket_id)
        next_link = portal_links.mint("reply", ticket.id, now)
        return uow.commit(lambda: _opened_out.dump({"ticket": _view(session, ticket), "reply_link": next_link}))


def portal_survey(uow: UnitOfWork, token, data) -> dict:
    now = utcnow()
    link = portal_links.read(token, ("survey",), now)
    fields = load(_survey_in, data or {})
    with uow:
        session = uow.session
        survey_id = new_id()
        _use(session, link, "survey", survey_id, now)
        ticket = _ticket(session, link.subject_id)
        if ticket.status not in ANSWERED:
            raise InvalidState(f"Only a resolved or closed ticket is surveyed (this one is '{ticket.status}').",
                               {"action": "survey", "current_state": ticket.status})
        round_ = ticket.reopen_count or 0
        if answered(session, ticket.id, round_):
            raise Conflict("This resolution's survey was answered already.", {"action": "survey", "field": "ticket_id"})
        survey = TicketSurvey(id=survey_id, ticket_id=ticket.id, link_id=link.link_id, resolution_round=round_,
                              group_id=ticket.group_id, assignee_id=ticket.assignee_id, contact_id=ticket.contact_id,
                              submitted_at=now, **fields)
        session.add(survey)
        uow.audit_action("survey")
        try:
            session.flush()
        except IntegrityError:       # answered meanwhile through another link of the same resolution
            session.rollback()
            raise Conflict("This resolution's survey was answered already.",
                           {"action": "survey", "field": "ticket_id"}) from None
        uow.emit(SURVEY_SUBMITTED, survey, number=ticket.number, customer_id=ticket.customer_id,
                 occurred_at=now)
        return uow.commit(lambda: _survey_out.dump(survey))


def _use(session, link: links.Link, effect_type: str, effect_id: str, now: dt.datetime) -> None:
    """Record the link used -- the transaction's first write, keyed by the link's id: a second use,
    concurrent or later, meets the key and is refused ``used`` (410)."""
    session.add(PortalLinkUse(link_id=link.link_id, purpose=link.purpose, subject_id=link.subject_id, used_at=now,
                              effect_type=effect_type, effect_id=effect_id))
    try:
        session.flush()
    except IntegrityError:
        session.rollback()
        used = session.get(PortalLinkUse, link.link_id)
        links.refuse_reuse(link, used.used_at if used is not None else now)
        raise


def _ticket(session, ticket_id: str) -> Ticket:
    ticket = session.get(Ticket, ticket_id)
    if ticket is None:                       # a genuine link of a ticket gone since
        raise NotFound("This link's ticket is no more.", {"resource": "ticket", "id": ticket_id})
    return ticket


def _comment(comment: TicketComment) -> dict:
    return {"id": comment.id, "author": _AUTHOR.get(comment.author_type, "agent"), "body": comment.body,
            "created_at": comment.created_at}


def _view(session, ticket: Ticket) -> dict:
    rows = session.scalars(select(TicketComment).where(TicketComment.ticket_id == ticket.id, TicketComment.public)
                           .order_by(TicketComment.created_at.desc(), TicketComment.id.desc())
                           .limit(MAX_COMMENTS)).all()
    return {
        **{k: getattr(ticket, k) for k in ("id", "number", "subject", "description", "category", "status",
                                           "opened_at", "resolved_at", "closed_at", "resolution")},
        "comments": [_comment(c) for c in reversed(rows)],
        "survey_answered": ticket.status in ANSWERED and answered(session, ticket.id, ticket.reopen_count or 0)}


# -- staff hand links out --------------------------------------------------------------------------
def _ttl(fields: dict) -> dt.timedelta | None:
    return dt.timedelta(seconds=fields["expires_in"]) if fields.get("expires_in") else None


def create_ticket_link(uow: UnitOfWork, principal: Principal, ticket_id: str, data: dict | None = None) -> dict:
    fields = load(_ticket_link_in, data or {})
    with uow:
        ticket = for_write(uow.session, principal, ticket_id)
        now = utcnow()
        if fields["purpose"] == "survey" and ticket.status not in ANSWERED:
            raise InvalidState(f"Only a resolved or closed ticket is surveyed (this one is '{ticket.status}').",
                               {"action": "survey", "current_state": ticket.status})
        return _link_out.dump(portal_links.mint(fields["purpose"], ticket.id, now, _ttl(fields)))


def create_portal_link(uow: UnitOfWork, principal: Principal, data: dict) -> dict:
    fields = load(_portal_link_in, data or {})
    with uow:
        session = uow.session
        customer_id = current_customer_id(session, fields["customer_id"])
        if not principal.is_admin and not _serves(session, principal, customer_id):
            raise Forbidden("Only the agents of a support group, the customer's owner or an administrator hand out "
                            "a link to open a ticket.", {"action": "create_portal_link"})
        routing.group_or_404(session, fields["group_id"])
        return _link_out.dump(portal_links.mint("open_ticket", customer_id, utcnow(), _ttl(fields), {
            "contact_id": fields["contact_id"], "group_id": fields["group_id"]}))


def _serves(session, principal: Principal, customer_id: str) -> bool:
    if session.scalars(select(SupportGroupMember.group_id).where(
            SupportGroupMember.user_id == principal.user_id).limit(1)).first() is not None:
        return True
    ref = session.get(SupportCustomerRef, customer_id)
    return ref is not None and ref.owner_id == principal.user_id
