"""The knowledge base (知识库): articles, and the full-text indexes of articles and of resolved tickets.

- ``kb_articles``: title, body, category (a ticket category), product, ``draft`` or ``published``
  (``published_at``), ``source_ticket_id`` when a ticket's resolution was written up (one article per
  ticket), the author (``owner_id``, ``department_id``, ``created_by``); ``search_rowid`` is its row in
  the SQLite full-text index (null on PostgreSQL, where the index is the ``search_vector`` column).
- ``ARTICLE_SEARCH`` (title weighed above body) and ``TICKET_SEARCH`` (subject above description and
  resolution: the resolved and closed tickets, for the suggestions): ``crm_kit.records.fulltext``,
  FTS5 on SQLite, a ``tsvector`` column with a GIN index on PostgreSQL, kept by the use cases in the
  record's transaction.
"""
from __future__ import annotations

import datetime as dt

from sqlalchemy import Index, Integer, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from crm_kit.records.db import UtcDateTime, utcnow
from crm_kit.records.fulltext import FullTextIndex
from services.support.domain import knowledge as rules
from services.support.models.base import Base
from services.support.models.tickets import Ticket

__all__ = ["KbArticle", "ARTICLE_SEARCH", "TICKET_SEARCH"]


class KbArticle(Base):
    """Audited as entity ``kb_article``."""
    __tablename__ = "kb_articles"
    __audit_entity__ = "kb_article"
    __audit_exclude__ = ("search_rowid",)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    category: Mapped[str | None] = mapped_column(String(20))
    product_id: Mapped[str | None] = mapped_column(String(36))
    status: Mapped[str] = mapped_column(String(10), default=rules.DRAFT)
    source_ticket_id: Mapped[str | None] = mapped_column(String(36))
    owner_id: Mapped[str | None] = mapped_column(String(36))
    department_id: Mapped[str | None] = mapped_column(String(36))
    created_by: Mapped[str | None] = mapped_column(String(36))
    published_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    search_rowid: Mapped[int | None] = mapped_column(Integer)
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow, onupdate=utcnow)

    @property
    def allowed_actions(self) -> list[str]:
        return rules.allowed_actions(self.status)

    __mapper_args__ = {"version_id_col": version}
    __table_args__ = (
        Index("ix_kb_articles_status_id", "status", "id"),
        Index("ix_kb_articles_category_id", "category", "id"),
        Index("ix_kb_articles_product_id_id", "product_id", "id"),
        Index("uq_kb_articles_source_ticket", "source_ticket_id", unique=True,
              postgresql_where=text("source_ticket_id IS NOT NULL"), sqlite_where=text("source_ticket_id IS NOT NULL")),
        Index("uq_kb_articles_search_rowid", "search_rowid", unique=True,
              postgresql_where=text("search_rowid IS NOT NULL"), sqlite_where=text("search_rowid IS NOT NULL")),
        # the search's join from the FTS5 index (kb_search): every column it reads (the filters, the id)
        Index("ix_kb_articles_search_rowid_filters", "search_rowid", "status", "category", "product_id", "id",
              postgresql_where=text("search_rowid IS NOT NULL"), sqlite_where=text("search_rowid IS NOT NULL")),
    )


# on PostgreSQL the articles' vectors in the narrow table kb_articles_search with the filters' columns (0006)
ARTICLE_SEARCH = FullTextIndex(KbArticle.__table__, {"title": "A", "body": "B"},
                               covering=("status", "category", "product_id"))
TICKET_SEARCH = FullTextIndex(Ticket.__table__, {"subject": "A", "description": "B", "resolution": "B"})
