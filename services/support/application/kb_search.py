"""The knowledge base's one search interface (``crm_kit.records.fulltext``: FTS5 with ``bm25`` on
SQLite, a ``tsvector`` with ``ts_rank`` on PostgreSQL, chosen by the session's dialect), over articles
(``ARTICLE_SEARCH``) and resolved tickets (``TICKET_SEARCH``), and what keeps both indexes in the
record's transaction:

- an article is indexed whatever its status (support staff search their drafts too; the readers'
  filter is the use case's), again when its title or body changes, and taken out when deleted; on
  PostgreSQL its status, category and product are copied beside its vector (the search filters on them
  there: ``models.knowledge``), refiled when they change;
- a ticket is indexed when it is resolved (its subject, description and resolution) and stays while
  resolved or closed; a reopened ticket is taken out until it is resolved again.
"""
from __future__ import annotations

from sqlalchemy import select

from crm_kit.records.fulltext import Term, query_terms, search_page
from services.support.domain import knowledge as rules
from services.support.models import ARTICLE_SEARCH, TICKET_SEARCH, KbArticle, Ticket


def dialect(session) -> str:
    return session.get_bind().dialect.name


def articles(session, found: list[Term], mode: str = "all"):
    """``select(KbArticle, rank)`` of **every** article matching the terms (a count; the searches rank at
    most the newest ``RANKED_AT_MOST``: :func:`search_articles`, :func:`best`)."""
    match = ARTICLE_SEARCH.match(dialect(session), found, mode)
    return select(KbArticle, match.rank).select_from(match.from_).where(match.where), match.rank


def tickets(session, found: list[Term], mode: str = "any"):
    """``select(Ticket, rank)`` of every resolved and closed ticket matching the terms (see :func:`articles`)."""
    match = TICKET_SEARCH.match(dialect(session), found, mode)
    return select(Ticket, match.rank).select_from(match.from_).where(match.where), match.rank


def search_articles(session, q: str, *, published_only: bool = True, category=None, product_id=None,
                    status=None, limit: int = 50, cursor: str | None = None):
    """The articles with every word of ``q``, best first: ``([(article, rank)], next_cursor)``.
    (What ``GET /api/v1/kb/articles?q=`` runs; the benchmark measures it.) At most the newest
    ``fulltext.RANKED_AT_MOST`` matching articles (of those the filters let through) are ranked: a
    query of words in most articles ranks the newest of them (``FullTextIndex.ranked``)."""
    found = query_terms(q)
    if not found:
        return [], None
    filters = [KbArticle.status == rules.PUBLISHED] if published_only else []
    filters += [column == value for column, value in ((KbArticle.status, status), (KbArticle.category, category),
                                                      (KbArticle.product_id, product_id)) if value is not None]
    ranked = ARTICLE_SEARCH.ranked(dialect(session), found, "all", filters)
    return search_page(session, ranked, lambda ids: session.scalars(select(KbArticle).where(KbArticle.id.in_(ids))),
                       limit, cursor)


def best(session, index, model, found: list[Term], n: int, filters=(), mode: str = "any"):
    """The ``n`` best ``model`` records matching (any of) the terms and ``filters``: ``[(record, rank)]``,
    ranked as :func:`search_articles` ranks (at most the newest ``RANKED_AT_MOST`` matches)."""
    ranked = index.ranked(dialect(session), found, mode, filters)
    rows, _ = search_page(session, ranked, lambda ids: session.scalars(select(model).where(model.id.in_(ids))),
                          n, None)
    return rows


def article_changed(session, article: KbArticle) -> None:
    """After the article's flush: index what it says now."""
    ARTICLE_SEARCH.put(session, article)


def article_refiled(session, article: KbArticle) -> None:
    """After the article's flush, its words unchanged (published, unpublished, its category or product
    changed): the copies of the search's filters beside its vector (PostgreSQL's narrow table)."""
    ARTICLE_SEARCH.refile(session, article)


def article_deleted(session, article: KbArticle) -> None:
    ARTICLE_SEARCH.remove(session, article)


def ticket_changed(session, ticket: Ticket) -> None:
    """After the ticket's flush (resolved, reopened, or its words changed while resolved): resolved or
    closed -> indexed (again), otherwise not found."""
    if ticket.status in rules.ARTICLE_FROM:
        TICKET_SEARCH.put(session, ticket)
    else:
        TICKET_SEARCH.remove(session, ticket)
