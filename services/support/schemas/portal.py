"""What customers send and see through signed links (the portal), and the links staff hand out."""
from __future__ import annotations

from marshmallow import Schema, fields, validate

from crm_kit.records.schemas import InputSchema
from services.support.domain import links
from services.support.domain import tickets as rules
from services.support.schemas.common import ident, text

MAX_TTL_SECONDS = int(links.MAX_TTL.total_seconds())


def _expires_in():
    return fields.Integer(load_default=None, allow_none=True, validate=validate.Range(min=1, max=MAX_TTL_SECONDS),
                          metadata={"description": f"Seconds the link lives (default "
                                                   f"{links.DEFAULT_TTL.days} days, at most {links.MAX_TTL.days})."})


class TicketLinkCreate(InputSchema):
    """A link for the ticket's customer: ``reply`` (to reply; it also reads the ticket) or ``survey``
    (the satisfaction survey: a resolved or closed ticket only)."""
    purpose = fields.String(required=True, validate=validate.OneOf(("reply", "survey")))
    expires_in = _expires_in()


class PortalLinkCreate(InputSchema):
    """A link a customer opens one ticket with (channel ``portal``), for ``customer_id`` (and its
    ``contact_id``), routed in ``group_id`` (none: it waits unassigned)."""
    customer_id = ident(required=True)
    contact_id = ident(load_default=None, allow_none=True)
    group_id = ident(load_default=None, allow_none=True)
    expires_in = _expires_in()


class PortalLinkOut(Schema):
    """A signed one-time link: give the customer ``url`` (or ``token``, sent back as ``X-Portal-Link``)."""
    link_id = fields.String()
    purpose = fields.String(metadata={"description": ", ".join(links.PURPOSES)})
    token = fields.String()
    url = fields.String()
    expires_at = fields.DateTime()


class PortalReply(InputSchema):
    """The customer's reply (a public comment by their contact)."""
    body = text(20000, required=True)


class PortalTicketOpen(InputSchema):
    """What a customer says opening a ticket (channel ``portal``; priority normal)."""
    subject = text(200, required=True)
    description = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=20000))
    category = fields.String(required=True, validate=validate.OneOf(rules.CATEGORIES))
    product_id = ident(load_default=None, allow_none=True)
    order_id = ident(load_default=None, allow_none=True)


class SurveySubmit(InputSchema):
    """The satisfaction survey: ``csat`` 1 (very unhappy) to 5, a comment, and ``nps``: how likely,
    0 to 10, the customer recommends us."""
    csat = fields.Integer(required=True, strict=True, validate=validate.Range(min=1, max=5))
    nps = fields.Integer(load_default=None, allow_none=True, strict=True, validate=validate.Range(min=0, max=10))
    comment = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=5000))


class PortalComment(Schema):
    id = fields.String()
    author = fields.String(metadata={"description": "agent, contact or customer"})
    body = fields.String()
    created_at = fields.DateTime()


class PortalTicket(Schema):
    """The ticket as its customer sees it: no internal notes, no staff ids."""
    id = fields.String()
    number = fields.String()
    subject = fields.String()
    description = fields.String(allow_none=True)
    category = fields.String()
    status = fields.String()
    opened_at = fields.DateTime()
    resolved_at = fields.DateTime(allow_none=True)
    closed_at = fields.DateTime(allow_none=True)
    resolution = fields.String(allow_none=True)
    comments = fields.List(fields.Nested(PortalComment), metadata={
        "description": "The public comments, oldest first (the latest 200)."})
    survey_answered = fields.Boolean(metadata={"description": "This resolution's survey was answered."})


class PortalReplyResult(Schema):
    comment = fields.Nested(PortalComment)
    ticket = fields.Nested(PortalTicket)
    reply_link = fields.Nested(PortalLinkOut, metadata={"description": "The next reply's link (this one is used)."})


class PortalTicketOpened(Schema):
    ticket = fields.Nested(PortalTicket)
    reply_link = fields.Nested(PortalLinkOut, metadata={"description": "A link to follow and reply to it."})


class SurveyOut(Schema):
    id = fields.String()
    ticket_id = fields.String()
    resolution_round = fields.Integer()
    csat = fields.Integer()
    nps = fields.Integer(allow_none=True)
    comment = fields.String(allow_none=True)
    submitted_at = fields.DateTime()
