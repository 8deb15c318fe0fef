"""The knowledge base's articles (知识库): written, read, listed and searched, published and unpublished,
deleted; every change indexed in the same transaction (``kb_search``).

Who (``access.is_staff``): support staff (administrators and the members of any support group) write
articles, publish them and read the drafts; everyone signed in reads the published ones. A draft is
404 to anyone else; a published article they may read but not change is 403.

Listed newest first, or with ``q`` the best matches first (every word, ``kb_search.search_articles``),
keyset-paginated either way. ``publish`` raises ``kb_article_published``.
"""
from __future__ import annotations

from sqlalchemy import select

from crm_kit.context import Principal
from crm_kit.errors import Forbidden, NotFound
from crm_kit.ids import new_id
from crm_kit.records.db import utcnow
from crm_kit.records.pagination import paginate
from crm_kit.records.schemas import load
from crm_kit.records.versioning import check_version
from crm_kit.runtime.uow import UnitOfWork
from services.support.application import kb_search
from services.support.application.access import is_staff
from services.support.domain import knowledge as rules
from services.support.events.knowledge import KB_ARTICLE_PUBLISHED
from services.support.models import KbArticle
from services.support.schemas.knowledge import KbArticleCreate, KbArticleListQuery, KbArticleOut, KbArticleUpdate

SUBJECT = "kb_article"
_create, _update, _out, _query = KbArticleCreate(), KbArticleUpdate(), KbArticleOut(), KbArticleListQuery()


def dump(article: KbArticle, rank: float | None = None) -> dict:
    out = _out.dump(article)
    out["rank"] = rank
    return out


def staff_only(session, principal: Principal, action: str) -> None:
    if not is_staff(session, principal):
        raise Forbidden(f"Only support staff (a support group's members, administrators) may {action} articles.",
                        {"action": action, "resource": SUBJECT})


def _for_read(session, principal: Principal, article_id: str) -> KbArticle:
    article = session.get(KbArticle, article_id)
    if article is None or (article.status != rules.PUBLISHED and not is_staff(session, principal)):
        raise NotFound(f"Article {article_id} not found.", {"resource": SUBJECT, "id": article_id})
    return article


def _for_write(session, principal: Principal, article_id: str, action: str) -> KbArticle:
    article = _for_read(session, principal, article_id)
    staff_only(session, principal, action)
    return article


def new_article(session, principal: Principal, fields: dict, now, source_ticket_id: str | None = None) -> KbArticle:
    """A draft, flushed and indexed (the use case commits)."""
    article = KbArticle(id=new_id(), **fields, status=rules.DRAFT, source_ticket_id=source_ticket_id,
                        owner_id=principal.user_id, department_id=principal.department_id,
                        created_by=principal.user_id, version=1, created_at=now, updated_at=now)
    session.add(article)
    session.flush()
    kb_search.article_changed(session, article)
    return article


def create_article(uow: UnitOfWork, principal: Principal, data: dict) -> dict:
    fields = load(_create, data)
    with uow:
        staff_only(uow.session, principal, "write")
        uow.audit_action("create")
        article = new_article(uow.session, principal, fields, utcnow())
        return uow.commit(lambda: dump(article))


def get_article(uow: UnitOfWork, principal: Principal, article_id: str) -> dict:
    with uow:
        return dump(_for_read(uow.session, principal, article_id))


def update_article(uow: UnitOfWork, principal: Principal, article_id: str, data: dict, expected_version=None) -> dict:
    fields = load(_update, data, partial=True)
    with uow:
        session = uow.session
        article = _for_write(session, principal, article_id, "change")
        check_version(article, expected_version, SUBJECT)
        reindex = any(k in fields and fields[k] != getattr(article, k) for k in ("title", "body"))
        for name, value in fields.items():
            setattr(article, name, value)
        article.updated_at = utcnow()
        uow.audit_action("update")
        session.flush()
        if reindex:
            kb_search.article_changed(session, article)
        else:
            kb_search.article_refiled(session, article)
        return uow.commit(lambda: dump(article))


def _move(uow: UnitOfWork, principal: Principal, article_id: str, action: str, expected_version=None) -> dict:
    with uow:
        session = uow.session
        article = _for_write(session, principal, article_id, action)
        check_version(article, expected_version, SUBJECT)
        now = utcnow()
        article.status = rules.transition(article.status, action)
        article.published_at = now if action == "publish" else None
        article.updated_at = now
        uow.audit_action(action)
        session.flush()
        kb_search.article_refiled(session, article)
        if action == "publish":
            uow.emit(KB_ARTICLE_PUBLISHED, article, occurred_at=now)
        return uow.commit(lambda: dump(article))


def publish_article(uow: UnitOfWork, principal: Principal, article_id: str, expected_version=None) -> dict:
    """A draft becomes seen by everyone (``kb_article_published``)."""
    return _move(uow, principal, article_id, "publish", expected_version)


def unpublish_article(uow: UnitOfWork, principal: Principal, article_id: str, expected_version=None) -> dict:
    """Back to a draft: support staff only see it."""
    return _move(uow, principal, article_id, "unpublish", expected_version)


def delete_article(uow: UnitOfWork, principal: Principal, article_id: str, expected_version=None) -> None:
    with uow:
        session = uow.session
        article = _for_write(session, principal, article_id, "delete")
        check_version(article, expected_version, SUBJECT)
        kb_search.article_deleted(session, article)
        uow.audit_action("delete")
        session.delete(article)
        session.flush()
        return uow.commit(None)


def list_articles(uow: UnitOfWork, principal: Principal, query: dict | None = None) -> dict:
    """Published articles (support staff: drafts too), newest first; with ``q``: best matches first."""
    query = load(_query, query or {})
    with uow:
        session = uow.session
        staff = is_staff(session, principal)
        if query["status"] == rules.DRAFT and not staff:
            raise Forbidden("Only support staff may list draft articles.", {"action": "list_drafts",
                                                                           "resource": SUBJECT})
        if query["q"] is not None:
            rows, next_cursor = kb_search.search_articles(
                session, query["q"], published_only=not staff, status=query["status"], category=query["category"],
                product_id=query["product_id"], limit=query["limit"], cursor=query["cursor"])
            return {"items": [dump(a, float(r)) for a, r in rows], "next_cursor": next_cursor}
        stmt = select(KbArticle)
        if not staff:
            stmt = stmt.where(KbArticle.status == rules.PUBLISHED)
        for name in ("status", "category", "product_id"):
            if query[name] is not None:
                stmt = stmt.where(getattr(KbArticle, name) == query[name])
        rows, next_cursor = paginate(session, stmt, KbArticle.id, query["limit"], query["cursor"])
        return {"items": [dump(a) for a in rows], "next_cursor": next_cursor}
