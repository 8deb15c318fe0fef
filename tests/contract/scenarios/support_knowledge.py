"""Scenarios of the support service's knowledge base: a ticket's resolution written up as a draft
article and published (``kb_article_published``)."""
from __future__ import annotations

from services.support.application import actions, knowledge, suggestions, tickets
from tests.contract.support import ADMIN, Producing


def written_up_and_published(dbs):
    db = dbs("support")
    ticket = tickets.create_ticket(db.uow(), ADMIN, {
        "subject": "打印机卡纸", "description": "每次打印都卡纸", "channel": "phone", "category": "fault",
        "assignee_id": "01933b50-1f00-7a00-8000-00000000a005"})
    actions.resolve_ticket(db.uow(), ADMIN, ticket["id"], {"resolution": "更换搓纸轮"})
    article = suggestions.article_from_ticket(db.uow(), ADMIN, ticket["id"])
    knowledge.publish_article(db.uow(), ADMIN, article["id"])


PRODUCERS = [
    Producing("support", written_up_and_published, frozenset({
        "ticket_opened", "ticket_assigned", "ticket_status_changed", "ticket_resolved", "kb_article_published"})),
]
CONSUMERS: dict = {}
