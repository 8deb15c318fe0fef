"""Who gets a ticket (``domain.routing``): the least-loaded skilled agent of its group, round robin
among equals, unless someone is chosen by hand. The load of an agent is their open tickets (new,
assigned, in progress, waiting) across every group, counted by one indexed query
(``ix_tickets_assignee_status``).

Every assignment -- routed or by hand, first or again -- is one audit entry on the ticket (action
``assign``, ``changes.assignment``: the rule, its inputs, the previous and new assignee, the group
and the reason) and ``ticket_assigned`` with the same rule; a routing that finds nobody is audited
too (``route``: why nobody) and leaves the ticket in its group's queue.
"""
from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select

from crm_kit.errors import InvalidState, NotFound
from crm_kit.runtime.uow import UnitOfWork
from services.support.application import clocks
from services.support.domain import routing
from services.support.domain import tickets as rules
from services.support.events.tickets import TICKET_ASSIGNED, TICKET_STATUS_CHANGED
from services.support.models import SupportGroup, Ticket

ROUTED_ROLES = ("agent",)          # leads supervise; they are given tickets by hand only


def group_or_404(session, group_id: str | None) -> SupportGroup | None:
    if group_id is None:
        return None
    group = session.get(SupportGroup, group_id)
    if group is None:
        raise NotFound.of("support_group", group_id)
    return group


def choose(session, ticket: Ticket, group: SupportGroup) -> routing.Choice:
    # Routings in a group take turns: the group row is locked (PostgreSQL) before the loads are
    # counted, so two tickets opened at once see each other's assignment. SQLite writers are
    # serialised by the database itself.
    group = session.get(SupportGroup, group.id, with_for_update=True)
    members = [m for m in group.members if m.role in ROUTED_ROLES]
    ids = [m.user_id for m in members]
    loads = dict(session.execute(
        select(Ticket.assignee_id, func.count()).where(
            Ticket.assignee_id.in_(ids), Ticket.status.in_(rules.OPEN_STATUSES), Ticket.id != ticket.id)
        .group_by(Ticket.assignee_id)).all()) if ids else {}
    agents = [routing.Agent(m.user_id, loads.get(m.user_id, 0), m.capacity, frozenset(m.categories or ()),
                            frozenset(m.products or ()), m.active, m.last_assigned_at) for m in members]
    return routing.choose(agents, ticket.category, ticket.product_id)


def assign(uow: UnitOfWork, ticket: Ticket, group: SupportGroup | None, assignee_id: str | None, now: dt.datetime,
           by: str | None, reason: str | None = None, required: bool = False) -> bool:
    """Give the ticket to ``assignee_id`` (rule ``chosen``), else route it in ``group``. False when
    nobody was found (``required``: ``InvalidState`` naming why instead)."""
    if assignee_id is not None:
        choice = routing.Choice(assignee_id, "chosen", {"assignee_id": assignee_id, "by": by})
    elif group is None:
        if required:
            raise InvalidState("The ticket has no group to route it in: choose an assignee or a group.",
                               {"action": "assign", "current_state": ticket.status, "rule": "no_group"})
        return False
    else:
        choice = choose(uow.session, ticket, group)
    rule = {**choice.as_dict(), "group_id": group.id if group else None, "reason": reason}
    if choice.user_id is None:
        uow.audit_record("ticket", ticket.id, {"routing": [None, rule]}, action="route")
        if required:
            raise InvalidState(f"Nobody in group {group.name!r} can take the ticket now ({choice.rule}).",
                               {"action": "assign", "current_state": ticket.status, "rule": choice.rule,
                                "inputs": choice.inputs})
        return False
    previous, previous_status = ticket.assignee_id, ticket.status
    ticket.status = rules.transition(ticket.status, "assign")
    ticket.assignee_id = ticket.owner_id = choice.user_id
    ticket.assigned_at, ticket.updated_at = now, now
    if group is not None:
        ticket.group_id = group.id
        ticket.department_id = group.department_id or ticket.department_id
        for member in group.members:
            if member.user_id == choice.user_id:
                member.last_assigned_at = now
    clocks.refresh(ticket, now)
    uow.audit_record("ticket", ticket.id, {"assignment": [None, {
        **rule, "previous_assignee_id": previous, "assignee_id": choice.user_id}]}, action="assign")
    uow.session.flush()
    uow.emit(TICKET_ASSIGNED, ticket, previous_assignee_id=previous, rule=rule, occurred_at=now)
    if ticket.status != previous_status:
        uow.emit(TICKET_STATUS_CHANGED, ticket, action="assign", previous_status=previous_status, occurred_at=now)
    return True
