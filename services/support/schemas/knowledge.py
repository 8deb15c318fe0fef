"""The knowledge base (知识库): an article as every RPC returns it, creating and updating it, its list's
filters and search (``q``), a ticket's suggestions, and a ticket's resolution written up."""
from __future__ import annotations

from marshmallow import Schema, fields, validate

from crm_kit.records.schemas import InputSchema, ListQuery, page_of, partial_of
from services.support.domain import knowledge as rules
from services.support.domain import tickets as ticket_rules
from services.support.schemas.common import ident, text


class KbArticleCreate(InputSchema):
    """Write an article (a draft: ``publish`` makes it seen by everyone)."""
    title = text(rules.TITLE_MAX, required=True)
    body = text(50000, required=True)
    category = fields.String(load_default=None, allow_none=True, validate=validate.OneOf(ticket_rules.CATEGORIES),
                             metadata={"description": "a ticket category: fault, complaint, consultation, suggestion"})
    product_id = ident(load_default=None, allow_none=True)


KbArticleUpdate = partial_of(KbArticleCreate, "KbArticleUpdate",
                             doc="Change an article's fields (not its status: publish, unpublish); a published "
                                 "article is found by its new words at once.")


class KbArticleOut(Schema):
    """An article; ``rank`` (a search's answer only): how well it matches, higher first."""
    id = fields.String()
    title = fields.String()
    body = fields.String()
    category = fields.String(allow_none=True)
    product_id = fields.String(allow_none=True)
    status = fields.String(metadata={"description": ", ".join(rules.STATUSES)})
    allowed_actions = fields.List(fields.String())
    source_ticket_id = fields.String(allow_none=True)
    owner_id = fields.String(allow_none=True)
    department_id = fields.String(allow_none=True)
    created_by = fields.String(allow_none=True)
    published_at = fields.DateTime(allow_none=True)
    rank = fields.Float(allow_none=True, dump_only=True)
    version = fields.Integer()
    created_at = fields.DateTime()
    updated_at = fields.DateTime()


KbArticleList = page_of(KbArticleOut)


class KbArticleListQuery(ListQuery):
    """Filters of the articles list (published ones; support staff also drafts): newest first, or with
    ``q`` the best matches first (full text over title and body, Chinese and English)."""
    q = fields.String(load_default=None, validate=[validate.Length(min=1, max=200)],
                      metadata={"description": "words to find (every one of them), best matches first"})
    status = fields.String(load_default=None, validate=validate.OneOf(rules.STATUSES),
                           metadata={"description": "draft: support staff only"})
    category = fields.String(load_default=None, validate=validate.OneOf(ticket_rules.CATEGORIES))
    product_id = ident(load_default=None)


class ArticleFromTicket(InputSchema):
    """A resolved ticket's resolution written up as a draft article; the title and body default to
    the ticket's subject and its problem and resolution."""
    title = text(rules.TITLE_MAX, load_default=None, allow_none=True)
    body = text(50000, load_default=None, allow_none=True)


class _SuggestedTicket(Schema):
    id = fields.String()
    number = fields.String()
    subject = fields.String()
    category = fields.String()
    product_id = fields.String(allow_none=True)
    status = fields.String()
    resolution = fields.String(allow_none=True)
    resolved_at = fields.DateTime(allow_none=True)
    rank = fields.Float()


class _SuggestedArticle(Schema):
    id = fields.String()
    title = fields.String()
    category = fields.String(allow_none=True)
    product_id = fields.String(allow_none=True)
    rank = fields.Float()


class TicketSuggestionsOut(Schema):
    """What may answer a ticket: similar resolved tickets (in the caller's scope) and matching
    published articles, best first (any of the ticket's words; the same category and product first)."""
    ticket_id = fields.String()
    terms = fields.List(fields.String(), metadata={"description": "the words searched for"})
    tickets = fields.List(fields.Nested(_SuggestedTicket))
    articles = fields.List(fields.Nested(_SuggestedArticle))
