"""A ticket's comments: public replies to the customer and internal notes. Adding one needs the right
to change the ticket; reading them the right to read it (the list starts from the ticket: its scope).

The first public reply stops the first-response clock (``first_response_at``) and, on an ``assigned``
ticket, starts it (``in_progress``, as its assignee taking it up).
"""
from __future__ import annotations

from sqlalchemy import select

from crm_kit.context import Principal
from crm_kit.ids import new_id
from crm_kit.records.db import utcnow
from crm_kit.records.pagination import paginate
from crm_kit.records.schemas import ListQuery, load
from crm_kit.records.scopes import get_for_read
from crm_kit.runtime.uow import UnitOfWork
from services.support.application import clocks
from services.support.application.access import SUBJECT, for_write, read_clause
from services.support.application.actions import move
from services.support.domain import tickets as rules
from services.support.models import Ticket, TicketComment
from services.support.schemas.tickets import CommentCreate, CommentOut

_create, _out, _query = CommentCreate(), CommentOut(), ListQuery()


def add_ticket_comment(uow: UnitOfWork, principal: Principal, ticket_id: str, data: dict) -> dict:
    fields = load(_create, data)
    with uow:
        session = uow.session
        ticket = for_write(session, principal, ticket_id)
        now = utcnow()
        comment = TicketComment(id=new_id(), ticket_id=ticket.id, author_id=principal.user_id, created_at=now,
                                **fields)
        session.add(comment)
        if fields["public"] and ticket.first_response_at is None:
            ticket.first_response_at, ticket.updated_at = now, now
            if ticket.status == rules.ASSIGNED:
                move(uow, ticket, "start", now)
            else:
                clocks.refresh(ticket, now)
        uow.audit_action("comment")
        session.flush()
        return uow.commit(lambda: _out.dump(comment))


def list_ticket_comments(uow: UnitOfWork, principal: Principal, ticket_id: str, query: dict | None = None) -> dict:
    """Newest first, for those who may read the ticket (the list starts from the ticket: its scope)."""
    params = load(_query, query or {})
    with uow:
        session = uow.session
        get_for_read(session, Ticket, ticket_id, principal, SUBJECT, read_clause(principal))
        stmt = select(TicketComment).where(TicketComment.ticket_id == ticket_id)
        rows, next_cursor = paginate(session, stmt, TicketComment.id, params["limit"], params["cursor"])
        return {"items": [_out.dump(r) for r in rows], "next_cursor": next_cursor}
