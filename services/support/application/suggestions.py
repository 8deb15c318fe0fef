"""What may answer a ticket (常见问题: a repeated problem finds its earlier answer), and a resolution
written up as an article.

- ``ticket_suggestions``: the ticket's words (its subject's first, then its description's, at most
  ``SUGGESTION_TERMS``) searched for, any of them, among the resolved and closed tickets the caller
  may read (the ticket itself left out) and the published articles; of the best ``CANDIDATES`` of
  each, those of the ticket's category and product first, then by rank, ``SUGGESTIONS`` of each;
- ``article_from_ticket``: a resolved or closed ticket's resolution becomes a draft article (its
  subject the title, its problem and resolution the body, its category and product), once per
  ticket (409 naming the article written already). Support staff who may change the ticket.
"""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from crm_kit.context import Principal
from crm_kit.errors import Duplicate
from crm_kit.records.db import utcnow
from crm_kit.records.fulltext import query_terms
from crm_kit.records.schemas import load
from crm_kit.records.scopes import scope_clause
from crm_kit.runtime.uow import UnitOfWork
from services.support.application import kb_search, knowledge
from services.support.application.access import for_read, for_write, read_clause
from services.support.domain import knowledge as rules
from services.support.models import ARTICLE_SEARCH, TICKET_SEARCH, KbArticle, Ticket
from services.support.schemas.knowledge import ArticleFromTicket, TicketSuggestionsOut

CANDIDATES = 20
_from_ticket, _suggestions = ArticleFromTicket(), TicketSuggestionsOut()


def _closeness(ticket: Ticket, record, rank) -> tuple:
    same = (record.category is not None and record.category == ticket.category,
            record.product_id is not None and record.product_id == ticket.product_id)
    return (sum(same), float(rank))


def ticket_suggestions(uow: UnitOfWork, principal: Principal, ticket_id: str) -> dict:
    with uow:
        session = uow.session
        ticket = for_read(session, principal, ticket_id)
        found = query_terms(rules.suggestion_text(ticket.subject, ticket.description), rules.SUGGESTION_TERMS)
        similar, articles = [], []
        if found:
            similar = kb_search.best(session, TICKET_SEARCH, Ticket, found, CANDIDATES, [
                Ticket.id != ticket.id, Ticket.status.in_(rules.ARTICLE_FROM),
                scope_clause(Ticket, principal, read_clause(principal))])
            articles = kb_search.best(session, ARTICLE_SEARCH, KbArticle, found, CANDIDATES,
                                      [KbArticle.status == rules.PUBLISHED])
        best = lambda rows: sorted(rows, key=lambda row: _closeness(ticket, *row), reverse=True)[:rules.SUGGESTIONS]  # noqa: E731
        return _suggestions.dump({
            "ticket_id": ticket.id, "terms": [t.text for t in found],
            "tickets": [{**_ticket_fields(t), "rank": float(r)} for t, r in best(similar)],
            "articles": [{"id": a.id, "title": a.title, "category": a.category, "product_id": a.product_id,
                          "rank": float(r)} for a, r in best(articles)]})


def _ticket_fields(t: Ticket) -> dict:
    return {"id": t.id, "number": t.number, "subject": t.subject, "category": t.category,
            "product_id": t.product_id, "status": t.status, "resolution": t.resolution, "resolved_at": t.resolved_at}


def article_from_ticket(uow: UnitOfWork, principal: Principal, ticket_id: str, data: dict | None = None) -> dict:
    fields = load(_from_ticket, data or {})
    with uow:
        session = uow.session
        ticket = for_write(session, principal, ticket_id)
        knowledge.staff_only(session, principal, "write")
        written = session.scalars(select(KbArticle.id).where(KbArticle.source_ticket_id == ticket.id)).first()
        if written is not None:
            raise Duplicate(f"Ticket {ticket.number} was written up already as article {written}.",
                            {"existing_id": written, "field": "source_ticket_id"})
        draft = rules.article_from_ticket(subject=ticket.subject, description=ticket.description,
                                          resolution=ticket.resolution, status=ticket.status,
                                          category=ticket.category, product_id=ticket.product_id)
        draft.pop("status")
        draft.update({k: v for k, v in fields.items() if v is not None})
        uow.audit_action("create")
        try:
            article = knowledge.new_article(session, principal, draft, utcnow(), source_ticket_id=ticket.id)
        except IntegrityError:        # written up meanwhile by someone else (unique source_ticket_id)
            raise Duplicate(f"Ticket {ticket.number} was written up already.",
                            {"field": "source_ticket_id"}) from None
        return uow.commit(lambda: knowledge.dump(article))
