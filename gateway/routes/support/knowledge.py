"""The support service's routes for the knowledge base (知识库): articles (written by support staff,
drafts seen by them only, the published ones by everyone), full-text search (``?q=``), a ticket's
suggestions (similar resolved tickets, matching articles) and its resolution written up as an article."""
from __future__ import annotations

from gateway.routes.model import Route, body, crud, version

ARTICLES = "/api/v1/kb/articles"
ARTICLE = f"{ARTICLES}/<article_id>"
TICKET = "/api/v1/tickets/<ticket_id>"

ROUTES = (
    *crud("support", ARTICLES, "article_id", "support", "kb_article", "kb_articles", "KbArticle", delete=True),
    Route("POST", f"{ARTICLE}/publish", "support", "publish_kb_article",
          "Publish an article (everyone reads it; If-Match: version)", "support", (version(),),
          response="support.KbArticle",
          description="Support staff. Raises `kb_article_published`. 409 `invalid-state` unless a draft."),
    Route("POST", f"{ARTICLE}/unpublish", "support", "unpublish_kb_article",
          "Take an article back to a draft (support staff only read it; If-Match: version)", "support",
          (version(),), response="support.KbArticle"),
    Route("GET", f"{TICKET}/suggestions", "support", "ticket_suggestions",
          "What may answer the ticket: similar resolved tickets and matching published articles", "support",
          response="support.TicketSuggestions", description=(
              "The ticket's words (subject first, then description; Chinese cut in bigrams) searched for, any "
              "of them, in the resolved and closed tickets the caller may read and in the published articles; "
              "of the best matches, those of the ticket's category and product first, then by rank (bm25 on "
              "SQLite, ts_rank on PostgreSQL).")),
    Route("POST", f"{TICKET}/article", "support", "article_from_ticket",
          "Write the ticket's resolution up as a draft article", "support", (body(),), status=201,
          location="/api/v1/kb/articles/{id}", request="support.ArticleFromTicket", response="support.KbArticle",
          description=("A resolved or closed ticket with a resolution (409 `invalid-state` otherwise), once per "
                       "ticket (409 `duplicate` naming the article). The title and body default to the ticket's "
                       "subject, problem and resolution; its category and product are kept. Support staff who "
                       "may change the ticket.")),
)
