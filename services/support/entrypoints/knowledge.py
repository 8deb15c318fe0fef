"""The entrypoints of the knowledge base: articles (write, read, list and search, publish, unpublish,
delete), a ticket's suggestions and its resolution written up (thin: each hands the unit of work and
the caller to ``application``)."""
from __future__ import annotations

from crm_kit.runtime.entrypoints import rpc
from services.support.application import knowledge, suggestions


class KnowledgeEntrypoints:
    """(``SupportService`` derives from it: its methods are the service's entrypoints.)"""

    @rpc
    def create_kb_article(self, data):
        return knowledge.create_article(self.db, self.principal, data)

    @rpc
    def get_kb_article(self, article_id):
        return knowledge.get_article(self.db, self.principal, article_id)

    @rpc
    def list_kb_articles(self, query=None):
        return knowledge.list_articles(self.db, self.principal, query)

    @rpc
    def update_kb_article(self, article_id, data, expected_version=None):
        return knowledge.update_article(self.db, self.principal, article_id, data, expected_version)

    @rpc
    def publish_kb_article(self, article_id, expected_version=None):
        return knowledge.publish_article(self.db, self.principal, article_id, expected_version)

    @rpc
    def unpublish_kb_article(self, article_id, expected_version=None):
        return knowledge.unpublish_article(self.db, self.principal, article_id, expected_version)

    @rpc
    def delete_kb_article(self, article_id, expected_version=None):
        return knowledge.delete_article(self.db, self.principal, article_id, expected_version)

    @rpc
    def ticket_suggestions(self, ticket_id):
        return suggestions.ticket_suggestions(self.db, self.principal, ticket_id)

    @rpc
    def article_from_ticket(self, ticket_id, data=None):
        return suggestions.article_from_ticket(self.db, self.principal, ticket_id, data)
