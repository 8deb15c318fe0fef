"""Tickets (工单): opened (numbered ``TK-<year>-<counter>``, their SLA chosen, routed within their
group unless an assignee is chosen), read and listed within the data scopes (``access``: group
membership, the creator, the customer's owner), updated, and their history.

``owner_id`` is the assignee (the creator while unassigned) and ``department_id`` the group's
department (else the creator's): managers see the tickets of their department subtree. Every
ticket's answer carries ``sla``, its clocks as of now (``clocks.sla_of``).
"""
from __future__ import annotations

from crm_kit.context import Principal
from crm_kit.ids import new_id
from crm_kit.records import audit
from crm_kit.records.db import utcnow
from crm_kit.records.pagination import paginate
from crm_kit.records.schemas import load
from crm_kit.records.scopes import scoped_select
from crm_kit.records.versioning import check_version
from crm_kit.runtime.uow import UnitOfWork
from services.support.application import clocks, kb_search, routing
from services.support.application.access import SUBJECT, for_read, for_write, read_clause
from services.support.application.customer_events import current_customer_id
from services.support.application.numbers import take_number
from services.support.domain import knowledge as kb_rules
from services.support.domain import tickets as rules
from services.support.domain.numbering import TICKET_PREFIX
from services.support.events.tickets import TICKET_OPENED
from services.support.models import Ticket
from services.support.schemas.tickets import TicketCreate, TicketListQuery, TicketOut, TicketUpdate

_out, _create, _update, _query = TicketOut(), TicketCreate(), TicketUpdate(), TicketListQuery()
FILTERS = ("status", "priority", "customer_id", "group_id", "assignee_id")


def dump(ticket: Ticket, now=None) -> dict:
    out = _out.dump(ticket)
    out["sla"] = clocks.sla_of(ticket, now or utcnow())
    return out


def create_ticket(uow: UnitOfWork, principal: Principal, data: dict) -> dict:
    fields = load(_create, data)
    with uow:
        now = utcnow()
        ticket = open_ticket(uow, fields, principal.user_id, principal.department_id, now)
        return uow.commit(lambda: dump(ticket, now))


def open_ticket(uow: UnitOfWork, fields: dict, created_by: str | None, department_id: str | None, now,
                ticket_id: str | None = None) -> Ticket:
    """Open a ticket of ``fields`` (``TicketCreate``'s, loaded) in the unit of work: numbered, its SLA
    chosen, routed (unless ``assignee_id``). ``created_by`` None: the customer opened it (the portal)."""
    session = uow.session
    group = routing.group_or_404(session, fields["group_id"])
    assignee_id = fields.pop("assignee_id", None)
    if fields["customer_id"] is not None:
        fields["customer_id"] = current_customer_id(session, fields["customer_id"])
    ticket = Ticket(id=ticket_id or new_id(), number=take_number(session, TICKET_PREFIX, now.date()), **fields,
                    owner_id=created_by, created_by=created_by,
                    department_id=(group.department_id if group is not None else None) or department_id,
                    status=rules.NEW, opened_at=now, reopen_count=0, version=1, created_at=now, updated_at=now)
    clocks.choose(session, ticket, group)
    clocks.refresh(ticket, now)
    session.add(ticket)
    uow.audit_action("create")
    session.flush()
    uow.emit(TICKET_OPENED, ticket, occurred_at=now)
    routing.assign(uow, ticket, group, assignee_id, now, created_by)
    session.flush()
    return ticket


def get_ticket(uow: UnitOfWork, principal: Principal, ticket_id: str) -> dict:
    with uow:
        return dump(for_read(uow.session, principal, ticket_id))


def list_tickets(uow: UnitOfWork, principal: Principal, query: dict | None = None) -> dict:
    """Tickets in scope, newest first; filters: status, priority, customer, group, assignee."""
    query = load(_query, query or {})
    stmt = scoped_select(Ticket, principal, read_clause(principal))
    for name in FILTERS:
        if query.get(name) is not None:
            stmt = stmt.where(getattr(Ticket, name) == query[name])
    with uow:
        rows, next_cursor = paginate(uow.session, stmt, Ticket.id, query["limit"], query["cursor"])
        now = utcnow()
        return {"items": [dump(r, now) for r in rows], "next_cursor": next_cursor}


def update_ticket(uow: UnitOfWork, principal: Principal, ticket_id: str, data: dict, expected_version=None) -> dict:
    """Change its fields; a new priority or customer level chooses its SLA policy again (audited)."""
    fields = load(_update, data, partial=True)
    with uow:
        session = uow.session
        ticket = for_write(session, principal, ticket_id)
        check_version(ticket, expected_version, SUBJECT)
        if fields.get("customer_id") is not None:
            fields["customer_id"] = current_customer_id(session, fields["customer_id"])
        repolicy = any(k in fields and fields[k] != getattr(ticket, k) for k in ("priority", "customer_level"))
        for name, value in fields.items():
            setattr(ticket, name, value)
        now = utcnow()
        ticket.updated_at = now
        if repolicy:
            clocks.choose(session, ticket, routing.group_or_404(session, ticket.group_id))
            clocks.refresh(ticket, now)
        uow.audit_action("update")
        session.flush()
        if ticket.status in kb_rules.ARTICLE_FROM and {"subject", "description"} & set(fields):
            kb_search.ticket_changed(session, ticket)
        return uow.commit(lambda: dump(ticket, now))


def ticket_history(uow: UnitOfWork, principal: Principal, ticket_id: str, query: dict | None = None) -> dict:
    """The audit entries, newest first: changes, assignments with their rule, SLA flags."""
    return audit.record_history(uow, principal, Ticket, ticket_id, SUBJECT, query, read_clause(principal))
