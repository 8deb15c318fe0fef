"""The knowledge base's rules (知识库, issue 14 item 5), kept as data and plain functions.

- An article is a ``draft`` (seen by support staff only) or ``published`` (seen by everyone signed
  in); ``publish`` and ``unpublish`` move it (:func:`transition`: 409 naming the state otherwise).
- A resolved (or closed) ticket with a resolution becomes a draft article (:func:`article_from_ticket`):
  its subject the title, the problem and its resolution the body, its category and product kept.
- The suggestions for a ticket search with its subject's terms first, then its description's
  (:func:`suggestion_text`), any of them matching (ranked), at most ``SUGGESTION_TERMS``.
"""
from __future__ import annotations

from crm_kit.errors import InvalidState
from services.support.domain import tickets as ticket_rules

DRAFT, PUBLISHED = "draft", "published"
STATUSES = (DRAFT, PUBLISHED)
TRANSITIONS: dict[str, dict[str, str]] = {
    "publish": {DRAFT: PUBLISHED},
    "unpublish": {PUBLISHED: DRAFT},
}
# a ticket's resolution may become an article once it is resolved
ARTICLE_FROM = (ticket_rules.RESOLVED, ticket_rules.CLOSED)
SUGGESTION_TERMS = 16          # terms of a ticket's text searched for its suggestions
SUGGESTIONS = 5                # of each kind (similar resolved tickets, articles)
TITLE_MAX = 200


def allowed_actions(status: str) -> list[str]:
    return [action for action, moves in TRANSITIONS.items() if status in moves]


def transition(status: str, action: str) -> str:
    moves = TRANSITIONS[action]
    if status not in moves:
        raise InvalidState(f"Cannot {action} an article in state '{status}'.",
                           {"action": action, "current_state": status, "allowed_actions": allowed_actions(status)})
    return moves[status]


def article_from_ticket(*, subject: str, description: str | None, resolution: str | None, status: str,
                        category: str | None, product_id: str | None) -> dict:
    """The draft article a ticket's resolution becomes (``InvalidState`` unless resolved with one)."""
    if status not in ARTICLE_FROM:
        raise InvalidState(f"Cannot write up a ticket in state '{status}': only a resolved or closed ticket's "
                           "resolution becomes an article.", {"action": "article", "current_state": status})
    if not (resolution or "").strip():
        raise InvalidState("The ticket was resolved without a resolution: there is nothing to write up.",
                           {"action": "article", "current_state": status})
    parts = [f"问题 / Problem:\n{description.strip()}" if (description or "").strip() else None,
             f"解决方法 / Resolution:\n{resolution.strip()}"]
    return {"title": subject[:TITLE_MAX], "body": "\n\n".join(p for p in parts if p),
            "category": category, "product_id": product_id, "status": DRAFT}


def suggestion_text(subject: str | None, description: str | None) -> str:
    """What a ticket's suggestions search with: the subject first (its terms are kept first)."""
    return "\n".join(p for p in (subject, description) if p)
