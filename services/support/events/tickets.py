"""The events of tickets (exchange ``support.events``).

- ``ticket_opened``          a ticket was opened (its number, customer, channel, category, priority, group)
- ``ticket_assigned``        given to an agent: by routing (``rule`` ``least_loaded`` with its inputs) or
                             by hand (``chosen``); again: a reassignment (``previous_assignee_id``)
- ``ticket_status_changed``  any move of the status machine after the opening (``action``, ``previous_status``)
- ``ticket_resolved``        resolved (``resolution``; ``survey_link``: the customer's survey link)
- ``ticket_closed``          closed (``survey_link``: a new one unless the resolution was answered)
- ``ticket_reopened``        a resolved or closed ticket was reopened (``reason``, ``reopen_count``)

Every payload carries ``id, number, customer_id, contact_id, product_id, order_id, channel, category,
priority, subject, group_id, assignee_id, owner_id, department_id, status, occurred_at``, dumped from
the ticket itself (what it does not hold as keywords).
"""
from __future__ import annotations

from marshmallow import Schema, fields

from crm_kit.runtime.events import EventType

__all__ = ["TicketOpenedPayload", "TicketAssignedPayload", "TicketStatusChangedPayload", "TicketResolvedPayload",
           "TicketClosedPayload", "TicketReopenedPayload", "SurveyLinkPayload", "TICKET_OPENED", "TICKET_ASSIGNED",
           "TICKET_STATUS_CHANGED", "TICKET_RESOLVED", "TICKET_CLOSED", "TICKET_REOPENED"]


def _opt(**kwargs):
    return fields.String(required=True, allow_none=True, **kwargs)


class TicketPayload(Schema):
    id = fields.String(required=True, metadata={"description": "The ticket's id."})
    number = fields.String(required=True, metadata={"description": "TK-<year>-<counter>."})
    customer_id = _opt()
    contact_id = _opt()
    product_id = _opt()
    order_id = _opt()
    channel = fields.String(required=True)
    category = fields.String(required=True)
    priority = fields.String(required=True)
    subject = fields.String(required=True)
    group_id = _opt()
    assignee_id = _opt()
    owner_id = _opt(metadata={"description": "The assignee; the creator while unassigned."})
    department_id = _opt()
    status = fields.String(required=True)
    occurred_at = fields.DateTime(required=True)


class TicketOpenedPayload(TicketPayload):
    onsite = fields.Boolean(required=True, metadata={"description": "Needs on-site service (the arrival clock)."})
    created_by = _opt()
    opened_at = fields.DateTime(required=True)


class TicketAssignedPayload(TicketPayload):
    previous_assignee_id = _opt()
    rule = fields.Dict(required=True, metadata={
        "description": "How the assignee was found and the inputs: rule (least_loaded, chosen, nobody_skilled, "
                       "all_at_capacity, no_agents), inputs (category, product_id, open_tickets, capacity, "
                       "candidates), reason."})


class TicketStatusChangedPayload(TicketPayload):
    action = fields.String(required=True)
    previous_status = fields.String(required=True)


class SurveyLinkPayload(Schema):
    """A signed one-time link for the customer's satisfaction survey (``domain/links.py``)."""
    link_id = fields.String(required=True)
    token = fields.String(required=True, metadata={
        "description": "Sent as `X-Portal-Link` to `POST /api/v1/portal/survey` (good once, until expires_at)."})
    url = fields.String(required=True, metadata={"description": "SUPPORT_PORTAL_URL#<token>, for the customer."})
    expires_at = fields.DateTime(required=True)


def _survey_link():
    # added in issue 14 item 4: optional, so consumers of version 1 read the events as before
    return fields.Nested(SurveyLinkPayload, required=False, allow_none=True, metadata={
        "description": "The customer's survey link (a notifier mails it); null when the resolution was "
                       "answered already."})


class TicketResolvedPayload(TicketPayload):
    resolved_at = fields.DateTime(required=True)
    resolution = _opt()
    survey_link = _survey_link()


class TicketClosedPayload(TicketPayload):
    closed_at = fields.DateTime(required=True)
    survey_link = _survey_link()


class TicketReopenedPayload(TicketPayload):
    previous_status = fields.String(required=True)
    reason = _opt()
    reopen_count = fields.Integer(required=True)


_BASE = {"id": "01933b50-1f00-7a00-8000-000000011001", "number": "TK-2026-000042",
         "customer_id": "01933b50-1f00-7a00-8000-0000000cc001", "contact_id": None, "product_id": None,
         "order_id": None, "channel": "phone", "category": "fault", "priority": "normal",
         "subject": "The printer does not print", "group_id": "01933b50-1f00-7a00-8000-000000012001",
         "assignee_id": "01933b50-1f00-7a00-8000-00000000a005", "owner_id": "01933b50-1f00-7a00-8000-00000000a005",
         "department_id": "01933b50-1f00-7a00-8000-00000000d001", "status": "assigned",
         "occurred_at": "2026-03-02T09:00:00+00:00"}

_SURVEY_LINK = {"link_id": "01933b50-1f00-7a00-8000-000000013001", "token": "eyJhbGciOiJIUzI1NiJ9.e30.c2lnbmF0dXJl",
                "url": "https://support.example.org/portal#eyJhbGciOiJIUzI1NiJ9.e30.c2lnbmF0dXJl",
                "expires_at": "2026-03-17T10:00:00+00:00"}

TICKET_OPENED = EventType(
    "ticket_opened", TicketOpenedPayload, version=1,
    description="A support ticket was opened: its number, customer, channel, category, priority and group.",
    example={**_BASE, "assignee_id": None, "owner_id": "01933b50-1f00-7a00-8000-00000000a001", "status": "new",
             "onsite": False, "created_by": "01933b50-1f00-7a00-8000-00000000a001",
             "opened_at": "2026-03-02T09:00:00+00:00"})
TICKET_ASSIGNED = EventType(
    "ticket_assigned", TicketAssignedPayload, version=1,
    description="A ticket was given to an agent, by routing (the least-loaded skilled agent of its group, with "
                "the inputs) or by hand; again: a reassignment.",
    example={**_BASE, "previous_assignee_id": None, "rule": {
        "rule": "least_loaded", "inputs": {"category": "fault", "product_id": None, "open_tickets": 2,
                                           "capacity": 20, "candidates": {"01933b50-1f00-7a00-8000-00000000a005": 2}},
        "group_id": "01933b50-1f00-7a00-8000-000000012001"}})
TICKET_STATUS_CHANGED = EventType(
    "ticket_status_changed", TicketStatusChangedPayload, version=1,
    description="A ticket's status moved (start, wait on the customer, resume, resolve, close, reopen, assign).",
    example={**_BASE, "status": "in_progress", "action": "start", "previous_status": "assigned"})
TICKET_RESOLVED = EventType(
    "ticket_resolved", TicketResolvedPayload, version=1,
    description="A ticket was resolved, with the resolution.",
    example={**_BASE, "status": "resolved", "resolved_at": "2026-03-03T10:00:00+00:00",
             "resolution": "Replaced the toner", "occurred_at": "2026-03-03T10:00:00+00:00",
             "survey_link": _SURVEY_LINK})
TICKET_CLOSED = EventType(
    "ticket_closed", TicketClosedPayload, version=1,
    description="A resolved ticket was closed (a satisfaction survey is due).",
    example={**_BASE, "status": "closed", "closed_at": "2026-03-04T10:00:00+00:00",
             "occurred_at": "2026-03-04T10:00:00+00:00"})
TICKET_REOPENED = EventType(
    "ticket_reopened", TicketReopenedPayload, version=1,
    description="A resolved (or recently closed) ticket was reopened: back in progress with its assignee.",
    example={**_BASE, "status": "in_progress", "previous_status": "resolved", "reason": "It jams again",
             "reopen_count": 1, "occurred_at": "2026-03-05T10:00:00+00:00"})
