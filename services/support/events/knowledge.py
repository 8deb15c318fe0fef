"""The events of the knowledge base (exchange ``support.events``).

- ``kb_article_published``  an article was published: everyone signed in reads it, and the ticket
                            suggestions offer it (``source_ticket_id``: the ticket it was written from)

Dumped from the article itself (``occurred_at`` as a keyword).
"""
from __future__ import annotations

from marshmallow import Schema, fields

from crm_kit.runtime.events import EventType

__all__ = ["KbArticlePublishedPayload", "KB_ARTICLE_PUBLISHED"]


class KbArticlePublishedPayload(Schema):
    id = fields.String(required=True, metadata={"description": "The article's id."})
    title = fields.String(required=True)
    category = fields.String(required=True, allow_none=True)
    product_id = fields.String(required=True, allow_none=True)
    source_ticket_id = fields.String(required=True, allow_none=True,
                                     metadata={"description": "The ticket whose resolution it was written from."})
    owner_id = fields.String(required=True, allow_none=True)
    department_id = fields.String(required=True, allow_none=True)
    published_at = fields.DateTime(required=True)
    occurred_at = fields.DateTime(required=True)


KB_ARTICLE_PUBLISHED = EventType(
    "kb_article_published", KbArticlePublishedPayload, version=1,
    description="A knowledge-base article was published (seen by everyone, offered by the ticket suggestions).",
    example={"id": "01933b50-1f00-7a00-8000-00000000ab01", "title": "打印机卡纸: 更换搓纸轮",
             "category": "fault", "product_id": "01933b50-1f00-7a00-8000-00000000f001",
             "source_ticket_id": "01933b50-1f00-7a00-8000-000000011001",
             "owner_id": "01933b50-1f00-7a00-8000-00000000a005",
             "department_id": "01933b50-1f00-7a00-8000-00000000d001",
             "published_at": "2026-03-05T04:00:00+00:00", "occurred_at": "2026-03-05T04:00:00+00:00"})
