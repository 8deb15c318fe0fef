"""A ticket (工单): how every RPC returns it (with its SLA clocks), creating and updating it, its
list's filters, its actions, and its comments."""
from __future__ import annotations

from marshmallow import Schema, fields, validate

from crm_kit.records.schemas import InputSchema, ListQuery, page_of, partial_of
from services.support.domain import tickets as rules
from services.support.schemas.common import ident, text, when


class TicketCreate(InputSchema):
    """Open a ticket. ``assignee_id``: given to that agent (else routed within ``group_id``: the
    least-loaded skilled agent; no group: it waits unassigned)."""
    subject = text(200, required=True)
    description = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=20000))
    channel = fields.String(required=True, validate=validate.OneOf(rules.CHANNELS))
    category = fields.String(required=True, validate=validate.OneOf(rules.CATEGORIES))
    priority = fields.String(load_default="normal", validate=validate.OneOf(rules.PRIORITIES))
    onsite = fields.Boolean(load_default=False, metadata={"description": "Needs on-site service (arrival clock)."})
    customer_id = ident(load_default=None, allow_none=True)
    customer_level = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=10),
                                   metadata={"description": "The customer's level (A/B/C): a policy may be per level."})
    contact_id = ident(load_default=None, allow_none=True)
    product_id = ident(load_default=None, allow_none=True)
    order_id = ident(load_default=None, allow_none=True)
    group_id = ident(load_default=None, allow_none=True)
    assignee_id = ident(load_default=None, allow_none=True)


TicketUpdate = partial_of(TicketCreate, "TicketUpdate", exclude=("assignee_id", "group_id", "onsite"),
                          doc="Change a ticket's fields (not its assignee or group: assign; not its status: "
                              "the actions). A new priority or customer level chooses its SLA policy again.")


class TicketOut(Schema):
    """A ticket, with ``sla``: its policy and each clock's state (running, warning, breached, paused,
    met, missed), due time and business time remaining, as of now."""
    id = fields.String()
    number = fields.String()
    subject = fields.String()
    description = fields.String(allow_none=True)
    channel = fields.String()
    category = fields.String()
    priority = fields.String()
    onsite = fields.Boolean()
    customer_id = fields.String(allow_none=True)
    customer_level = fields.String(allow_none=True)
    contact_id = fields.String(allow_none=True)
    product_id = fields.String(allow_none=True)
    order_id = fields.String(allow_none=True)
    group_id = fields.String(allow_none=True)
    assignee_id = fields.String(allow_none=True)
    owner_id = fields.String(allow_none=True)
    department_id = fields.String(allow_none=True)
    created_by = fields.String(allow_none=True)
    status = fields.String(metadata={"description": ", ".join(rules.STATUSES)})
    allowed_actions = fields.List(fields.String())
    opened_at = fields.DateTime()
    assigned_at = fields.DateTime(allow_none=True)
    first_response_at = fields.DateTime(allow_none=True)
    arrived_at = fields.DateTime(allow_none=True)
    resolved_at = fields.DateTime(allow_none=True)
    closed_at = fields.DateTime(allow_none=True)
    resolution = fields.String(allow_none=True)
    reopen_count = fields.Integer()
    next_sla_check_at = fields.DateTime(allow_none=True)
    sla = fields.Dict(dump_only=True, metadata={
        "description": "policy, as_of, calendar_tz, clocks: [{clock, state, target_minutes, due_at, warn_at, "
                       "elapsed_seconds, remaining_seconds, warned, breach_flagged}], next_check_at."})
    version = fields.Integer()
    created_at = fields.DateTime()
    updated_at = fields.DateTime()


TicketList = page_of(TicketOut)


class TicketListQuery(ListQuery):
    """Filters of the tickets list (in scope, newest first)."""
    status = fields.String(load_default=None, validate=validate.OneOf(rules.STATUSES))
    priority = fields.String(load_default=None, validate=validate.OneOf(rules.PRIORITIES))
    customer_id = ident(load_default=None)
    group_id = ident(load_default=None)
    assignee_id = ident(load_default=None)


class TicketAssign(InputSchema):
    """Give the ticket to ``assignee_id``, or (none given) route it within ``group_id`` (default its
    group): the least-loaded skilled agent. ``reason`` goes into the history."""
    assignee_id = ident(load_default=None, allow_none=True)
    group_id = ident(load_default=None, allow_none=True)
    reason = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=1000))


class TicketActionIn(InputSchema):
    """An action's optional words: the resolution (resolve), the reason (reopen, wait...)."""
    resolution = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=20000))
    reason = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=1000))


class ArrivalRecord(InputSchema):
    """The technician arrived on site (the arrival clock stops); default now."""
    arrived_at = when(load_default=None, allow_none=True)


class CommentCreate(InputSchema):
    """A reply to the customer (``public``: the first one stops the first-response clock) or an
    internal note (default)."""
    body = text(20000, required=True)
    public = fields.Boolean(load_default=False)


class CommentOut(Schema):
    id = fields.String()
    ticket_id = fields.String()
    author_id = fields.String(allow_none=True)
    public = fields.Boolean()
    body = fields.String()
    created_at = fields.DateTime()


CommentList = page_of(CommentOut)
