"""The knowledge base's use cases, on SQLite and on PostgreSQL (the full-text index differs by dialect:
FTS5 with bm25, a tsvector with ts_rank): articles written, found by Chinese and English words, ranked,
paged; drafts seen by support staff only; publish / unpublish (409 naming the state) and its event;
edits and deletes keeping the index; a ticket's suggestions (similar resolved tickets in scope, matching
published articles) and its resolution written up once."""
from __future__ import annotations

import pytest

from crm_kit.context import Principal
from crm_kit.errors import Duplicate, Forbidden, InvalidState, NotFound, ValidationFailed
from crm_kit.records import fulltext
from services.support.application import actions, groups, knowledge, suggestions, tickets
from services.support.models import Base

ADMIN = Principal("admin-1", "admin")
AGENT = Principal("a1", "member", "d9", ("d9",))
READER = Principal("rep-1", "member", "d1", ("d1",))


@pytest.fixture(params=["sqlite", "postgresql"])
def kb(request, make_db):
    db = make_db(Base, "support", backend=request.param)
    db.group_id = groups.create_support_group(db.uow(), ADMIN, {"name": "L1", "department_id": "d9",
                                                                "members": [{"user_id": "a1"}]})["id"]
    return db


def _article(db, title, body, principal=AGENT, publish=True, **fields):
    article = knowledge.create_article(db.uow(), principal, {"title": title, "body": body, **fields})
    if publish:
        article = knowledge.publish_article(db.uow(), principal, article["id"])
    return article


def _search(db, q, principal=READER, **query):
    return knowledge.list_articles(db.uow(), principal, {"q": q, **query})


def _titles(page):
    return [a["title"] for a in page["items"]]


def test_a_chinese_query_finds_a_chinese_article_and_ranks_the_title_first(kb):
    _article(kb, "打印机卡纸怎么办", "先关闭电源，打开后盖，取出卡住的纸张。")
    _article(kb, "网络连接失败", "检查路由器，重启打印机的无线模块。")
    _article(kb, "Printer offline", "Restart the print spooler; 打印 queue.")
    _article(kb, "发票抬头修改", "在财务系统中修改。")
    assert _titles(_search(kb, "卡纸")) == ["打印机卡纸怎么办"]
    # the title's match outranks the body's
    assert _titles(_search(kb, "打印机"))[:2] == ["打印机卡纸怎么办", "网络连接失败"]
    found = _titles(_search(kb, "打印"))
    assert found[0] == "打印机卡纸怎么办" and set(found) == {"打印机卡纸怎么办", "Printer offline", "网络连接失败"}
    assert _titles(_search(kb, "PRINTER")) == ["Printer offline"]
    assert _titles(_search(kb, "网")) == ["网络连接失败"]         # one character: a prefix
    assert _titles(_search(kb, "路由器 重启")) == ["网络连接失败"]   # every word
    assert _search(kb, "卡纸 router")["items"] == []
    assert _search(kb, "!!!") == {"items": [], "next_cursor": None}
    found = _search(kb, "卡纸")["items"][0]
    assert found["rank"] > 0 and found["status"] == "published"


def test_search_pages_best_first_with_a_keyset_cursor(kb):
    for i in range(7):
        _article(kb, f"退款 {i}", "退款 " * (i + 1) + "流程")
    seen, cursor = [], None
    while True:
        page = _search(kb, "退款", limit=3, **({"cursor": cursor} if cursor else {}))
        seen += page["items"]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert len(seen) == 7 and len({a["id"] for a in seen}) == 7
    ranks = [a["rank"] for a in seen]
    assert ranks == sorted(ranks, reverse=True)
    with pytest.raises(ValidationFailed):
        _search(kb, "退款", cursor="bm90LWEtY3Vyc29y")


def test_a_query_matching_more_articles_than_are_ranked_ranks_the_newest_of_those_the_reader_may_see(
        kb, monkeypatch):
    monkeypatch.setattr(fulltext, "RANKED_AT_MOST", 3)
    best = _article(kb, "退款 退款 退款", "退款 退款 退款 退款")          # the best match, and the oldest
    newer = [_article(kb, f"退款 {i}", "流程")["id"] for i in range(4)]
    _article(kb, "退款 退款 草稿", "退款 退款", publish=False)             # the newest: a draft
    page = _search(kb, "退款", limit=2)
    seen = page["items"] + _search(kb, "退款", limit=2, cursor=page["next_cursor"])["items"]
    # the three newest published ones (the reader's filter before the cap), best first, paged
    assert sorted(a["id"] for a in seen) == sorted(newer[1:])
    assert [a["rank"] for a in seen] == sorted((a["rank"] for a in seen), reverse=True)
    monkeypatch.setattr(fulltext, "RANKED_AT_MOST", 100)                 # below the cap: every match ranked
    assert [a["id"] for a in _search(kb, "退款")["items"]][0] == best["id"]


def test_drafts_are_support_staffs_and_writing_is_theirs(kb):
    draft = _article(kb, "内部草稿 draft", "只给客服看", publish=False)
    assert _titles(_search(kb, "草稿", principal=AGENT)) == ["内部草稿 draft"]
    assert _search(kb, "草稿")["items"] == []
    assert knowledge.list_articles(kb.uow(), READER)["items"] == []
    with pytest.raises(NotFound):
        knowledge.get_article(kb.uow(), READER, draft["id"])
    with pytest.raises(Forbidden):
        knowledge.list_articles(kb.uow(), READER, {"status": "draft"})
    with pytest.raises(Forbidden):
        knowledge.create_article(kb.uow(), READER, {"title": "x", "body": "y"})
    published = knowledge.publish_article(kb.uow(), ADMIN, draft["id"])
    assert knowledge.get_article(kb.uow(), READER, draft["id"])["status"] == "published"
    with pytest.raises(Forbidden):
        knowledge.update_article(kb.uow(), READER, draft["id"], {"title": "mine"})
    with pytest.raises(InvalidState) as err:
        knowledge.publish_article(kb.uow(), AGENT, draft["id"])
    assert (err.value.public_extra()["current_state"], err.value.public_extra()["allowed_actions"]) == (
        "published", ["unpublish"])
    [event] = [row.body["payload"] for row in kb.outbox("kb_article_published")]
    assert (event["id"], event["title"]) == (draft["id"], "内部草稿 draft")
    back = knowledge.unpublish_article(kb.uow(), AGENT, draft["id"], published["version"])
    assert back["status"] == "draft" and back["published_at"] is None and back["allowed_actions"] == ["publish"]


def test_edits_and_deletes_keep_the_index(kb):
    article = _article(kb, "更换硒鼓", "拆下旧硒鼓")
    knowledge.update_article(kb.uow(), AGENT, article["id"], {"title": "更换墨盒"}, article["version"])
    assert _search(kb, "硒鼓")["items"][0]["title"] == "更换墨盒"       # still in its body
    assert _titles(_search(kb, "墨盒")) == ["更换墨盒"]
    knowledge.update_article(kb.uow(), AGENT, article["id"], {"body": "装上新墨盒"})
    assert _search(kb, "硒鼓")["items"] == []
    knowledge.delete_article(kb.uow(), AGENT, article["id"])
    assert _search(kb, "墨盒")["items"] == []


def _resolved(db, subject, description, resolution, **fields):
    ticket = tickets.create_ticket(db.uow(), AGENT, {"subject": subject, "description": description,
                                                     "channel": "phone", "category": "fault",
                                                     "group_id": db.group_id, **fields})
    return actions.resolve_ticket(db.uow(), ADMIN, ticket["id"], {"resolution": resolution})


def test_a_new_ticket_is_offered_similar_resolved_tickets_and_matching_articles(kb):
    old = _resolved(kb, "打印机卡纸", "每次打印都卡纸", "更换搓纸轮")
    _resolved(kb, "发票开错了", "抬头不对", "红冲后重开", category="complaint")
    elsewhere = tickets.create_ticket(kb.uow(), ADMIN, {"subject": "打印机卡纸 again", "channel": "phone",
                                                         "category": "fault", "assignee_id": "other-agent"})
    actions.resolve_ticket(kb.uow(), ADMIN, elsewhere["id"], {"resolution": "cleaned"})     # not the agent's
    _article(kb, "卡纸处理指南", "打开后盖取出纸张")
    _article(kb, "卡纸 草稿", "未发布", publish=False)
    new = tickets.create_ticket(kb.uow(), AGENT, {"subject": "打印机又卡纸了", "channel": "web", "category": "fault",
                                                  "group_id": kb.group_id})
    found = suggestions.ticket_suggestions(kb.uow(), AGENT, new["id"])
    assert [t["id"] for t in found["tickets"]] == [old["id"]]
    assert found["tickets"][0]["resolution"] == "更换搓纸轮"
    assert [a["title"] for a in found["articles"]] == ["卡纸处理指南"]
    assert "卡纸" in found["terms"]
    everyone = suggestions.ticket_suggestions(kb.uow(), ADMIN, new["id"])
    assert {t["id"] for t in everyone["tickets"]} == {old["id"], elsewhere["id"]}
    # a reopened ticket is not offered until resolved again
    actions.reopen_ticket(kb.uow(), ADMIN, old["id"], {"reason": "again"})
    assert suggestions.ticket_suggestions(kb.uow(), AGENT, new["id"])["tickets"] == []
    actions.resolve_ticket(kb.uow(), ADMIN, old["id"], {"resolution": "更换搓纸轮和分离垫"})
    assert suggestions.ticket_suggestions(kb.uow(), AGENT, new["id"])["tickets"][0]["id"] == old["id"]
    with pytest.raises(NotFound):
        suggestions.ticket_suggestions(kb.uow(), READER, new["id"])


def test_a_resolution_becomes_a_draft_article_once(kb):
    ticket = _resolved(kb, "无法登录", "提示密码错误", "重置密码并清除缓存", product_id="p1")
    article = suggestions.article_from_ticket(kb.uow(), AGENT, ticket["id"])
    assert (article["status"], article["title"], article["category"], article["product_id"],
            article["source_ticket_id"]) == ("draft", "无法登录", "fault", "p1", ticket["id"])
    assert "提示密码错误" in article["body"] and "重置密码并清除缓存" in article["body"]
    assert _titles(_search(kb, "重置密码", principal=AGENT)) == ["无法登录"]
    with pytest.raises(Duplicate) as err:
        suggestions.article_from_ticket(kb.uow(), AGENT, ticket["id"])
    assert article["id"] in str(err.value)
    open_ticket = tickets.create_ticket(kb.uow(), AGENT, {"subject": "x", "channel": "phone", "category": "fault"})
    with pytest.raises(InvalidState):
        suggestions.article_from_ticket(kb.uow(), AGENT, open_ticket["id"])
    bare = tickets.create_ticket(kb.uow(), AGENT, {"subject": "y", "channel": "phone", "category": "fault",
                                                   "group_id": kb.group_id})
    actions.resolve_ticket(kb.uow(), AGENT, bare["id"])
    with pytest.raises(InvalidState):
        suggestions.article_from_ticket(kb.uow(), AGENT, bare["id"], {"title": "own title"})
    with pytest.raises(NotFound):
        suggestions.article_from_ticket(kb.uow(), READER, ticket["id"])


def test_the_migration_builds_the_full_text_indexes_and_indexes_tickets_resolved_before(tmp_path):
    """0004 on a database with a ticket resolved before it: the FTS5 tables exist, the ticket is found."""
    from sqlalchemy import create_engine, text

    from crm_kit.ops.migrations import upgrade
    from crm_kit.records.fulltext import query_terms
    from services.support.application import kb_search
    url = f"sqlite:///{tmp_path / 'support.db'}"
    upgrade("support", url, "a99cb8b381fc")                   # 0002: tickets, no knowledge base yet
    engine = create_engine(url)
    with engine.begin() as c:
        c.execute(text(
            "INSERT INTO tickets (id, number, channel, category, priority, onsite, subject, status, opened_at, "
            "resolution, reopen_count, version, created_at, updated_at) VALUES ('t1', 'TK-2026-000001', 'phone', "
            "'fault', 'normal', 0, '打印机卡纸', 'resolved', '2026-01-01', '更换搓纸轮', 0, 1, '2026-01-01', "
            "'2026-01-01')"))
    upgrade("support", url)
    from sqlalchemy.orm import Session
    with Session(engine) as session:
        tables = {r[0] for r in session.execute(text("SELECT name FROM sqlite_master WHERE type = 'table'"))}
        assert {"kb_articles", "kb_articles_fts", "tickets_fts"} <= tables
        stmt, _rank = kb_search.tickets(session, query_terms("卡纸"))
        assert [t.id for t, _ in session.execute(stmt).all()] == ["t1"]
    engine.dispose()
