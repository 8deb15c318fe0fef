"""The actions of a ticket's status machine (``domain.tickets``: 409 naming the state otherwise),
assignment by hand or by routing, and the on-site arrival.

- ``start``: the assignee is on it; ``wait``: a question to the customer -- a pause row opens and
  every SLA clock stands still; ``resume``: the customer answered -- the pause ends, the clocks run
  on (each deadline moved by the business time it lasted);
- ``resolve`` (with the resolution): the clocks stop (a ticket resolved without a public reply
  counts as answered then); a ``resolved`` pause stands until a reopen, so a reopened ticket's
  resolution clock does not count the time it was resolved;
  The customer's survey link is minted and carried on ``ticket_resolved`` (``survey_link``; again on
  ``ticket_closed`` unless the resolution was answered meanwhile: ``application.portal``);
- ``close``; ``reopen`` (a resolved one, or a closed one within ``REOPEN_DAYS``): back in progress.

Each emits ``ticket_status_changed`` (and ``ticket_resolved`` / ``ticket_closed`` /
``ticket_reopened``), is audited under its name and keeps ``next_sla_check_at``.
"""
from __future__ import annotations

from crm_kit.context import Principal
from crm_kit.errors import InvalidState
from crm_kit.ids import new_id
from crm_kit.records.db import utcnow
from crm_kit.records.schemas import load
from crm_kit.runtime.uow import UnitOfWork
from services.support.application import clocks, kb_search, portal_links, routing
from services.support.application.access import for_write
from services.support.application.tickets import dump
from services.support.domain import tickets as rules
from services.support.events.tickets import TICKET_CLOSED, TICKET_REOPENED, TICKET_RESOLVED, TICKET_STATUS_CHANGED
from services.support.models import Ticket, TicketPause
from services.support.schemas.tickets import ArrivalRecord, TicketActionIn, TicketAssign

WAITING_PAUSE, RESOLVED_PAUSE = "waiting_on_customer", "resolved"
_action_in, _assign, _arrival = TicketActionIn(), TicketAssign(), ArrivalRecord()


def _open_pause(ticket: Ticket, reason: str, now) -> None:
    ticket.pauses.append(TicketPause(id=new_id(), ticket_id=ticket.id, reason=reason, started_at=now))


def _end_pause(ticket: Ticket, reason: str, now) -> None:
    for pause in ticket.pauses:
        if pause.reason == reason and pause.ended_at is None:
            pause.ended_at = now


def move(uow: UnitOfWork, ticket: Ticket, action: str, now, resolution=None, reason=None) -> None:
    """Apply ``action`` to a ticket already fetched for writing (also the first public reply's start)."""
    previous = ticket.status
    ticket.status = rules.transition(previous, action, closed_at=ticket.closed_at, now=now)
    ticket.updated_at = now
    if action == "wait":
        _open_pause(ticket, WAITING_PAUSE, now)
    elif action == "resume":
        _end_pause(ticket, WAITING_PAUSE, now)
    elif action == "resolve":
        _end_pause(ticket, WAITING_PAUSE, now)
        _open_pause(ticket, RESOLVED_PAUSE, now)
        ticket.resolved_at, ticket.resolution = now, resolution
        ticket.first_response_at = ticket.first_response_at or now
    elif action == "close":
        ticket.closed_at = now
    elif action == "reopen":
        _end_pause(ticket, RESOLVED_PAUSE, now)
        ticket.resolved_at = ticket.closed_at = None
        ticket.reopen_count = (ticket.reopen_count or 0) + 1
    clocks.refresh(ticket, now)
    uow.audit_action(action)
    uow.session.flush()
    if action in ("resolve", "reopen"):       # a resolved ticket is found by the suggestions
        kb_search.ticket_changed(uow.session, ticket)
    uow.emit(TICKET_STATUS_CHANGED, ticket, action=action, previous_status=previous, occurred_at=now)
    if action in ("resolve", "close"):      # the customer's survey link (none if this resolution was answered)
        survey_link = portal_links.survey_link(uow.session, ticket, now)
        uow.emit(TICKET_RESOLVED if action == "resolve" else TICKET_CLOSED, ticket, occurred_at=now,
                 survey_link=survey_link)
    elif action == "reopen":
        uow.emit(TICKET_REOPENED, ticket, previous_status=previous, reason=reason, occurred_at=now)


def _act(uow: UnitOfWork, principal: Principal, ticket_id: str, action: str, data: dict | None) -> dict:
    fields = load(_action_in, data or {})
    with uow:
        ticket = for_write(uow.session, principal, ticket_id)
        now = utcnow()
        move(uow, ticket, action, now, fields["resolution"], fields["reason"])
        return uow.commit(lambda: dump(ticket, now))


def start_ticket(uow, principal, ticket_id, data=None):
    return _act(uow, principal, ticket_id, "start", data)


def wait_on_customer(uow, principal, ticket_id, data=None):
    return _act(uow, principal, ticket_id, "wait", data)


def resume_ticket(uow, principal, ticket_id, data=None):
    return _act(uow, principal, ticket_id, "resume", data)


def resolve_ticket(uow, principal, ticket_id, data=None):
    return _act(uow, principal, ticket_id, "resolve", data)


def close_ticket(uow, principal, ticket_id, data=None):
    return _act(uow, principal, ticket_id, "close", data)


def reopen_ticket(uow, principal, ticket_id, data=None):
    return _act(uow, principal, ticket_id, "reopen", data)


def assign_ticket(uow: UnitOfWork, principal: Principal, ticket_id: str, data: dict | None = None) -> dict:
    """By hand (``assignee_id``) or routed in ``group_id`` (default the ticket's group); a new group
    brings its calendar (the SLA is chosen again). Kept in the history with the rule and inputs."""
    fields = load(_assign, data or {})
    with uow:
        session = uow.session
        ticket = for_write(session, principal, ticket_id)
        if ticket.status not in rules.TRANSITIONS["assign"]:
            rules.transition(ticket.status, "assign")            # InvalidState naming the state
        now = utcnow()
        group = routing.group_or_404(session, fields["group_id"] or ticket.group_id)
        if group is not None and group.id != ticket.group_id:
            ticket.group_id = group.id
            clocks.choose(session, ticket, group)
        routing.assign(uow, ticket, group, fields["assignee_id"], now, principal.user_id, fields["reason"],
                       required=True)
        return uow.commit(lambda: dump(ticket, now))


def record_arrival(uow: UnitOfWork, principal: Principal, ticket_id: str, data: dict | None = None) -> dict:
    """The technician arrived on site: the arrival clock stops (on-site tickets, once)."""
    fields = load(_arrival, data or {})
    with uow:
        ticket = for_write(uow.session, principal, ticket_id)
        now = utcnow()
        if not ticket.onsite or ticket.arrived_at is not None or ticket.status not in rules.OPEN_STATUSES:
            raise InvalidState(
                "Only an open on-site ticket not arrived at yet records an arrival "
                f"(ticket in state '{ticket.status}', onsite {ticket.onsite}).",
                {"action": "arrive", "current_state": ticket.status, "onsite": ticket.onsite,
                 "arrived_at": ticket.arrived_at.isoformat() if ticket.arrived_at else None})
        ticket.arrived_at = min(fields["arrived_at"] or now, now)
        ticket.updated_at = now
        clocks.refresh(ticket, now)
        uow.audit_action("arrive")
        uow.session.flush()
        return uow.commit(lambda: dump(ticket, now))
