"""The kit's full-text search (crm_kit/records/fulltext.py): terms cut the same for every backend
(CJK bigrams, words, NFKC and case folding), the query expressions of each backend, the keyset cursor
of a ranked page, and the ranking each dialect chooses (bm25 on SQLite, ts_rank on PostgreSQL)."""
from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite

from crm_kit.errors import ValidationFailed
from crm_kit.records.fulltext import Term, fts5_expression, query_terms, ranked_page, terms, tsquery_expression
from crm_kit.records.pagination import encode_cursor
from services.support.models import ARTICLE_SEARCH


@pytest.mark.parametrize("text, expected", [
    ("打印机卡纸", ["打印", "印机", "机卡", "卡纸"]),                   # CJK runs: overlapping bigrams
    ("网", ["网"]),                                                 # a lone character is its own term
    ("Printer JAM", ["printer", "jam"]),                            # case folded
    ("ＷｉＦｉ　路由器", ["wifi", "路由", "由器"]),                       # full-width: NFKC
    ("WiFi网络E1001", ["wifi", "网络", "e1001"]),                    # scripts split, letters with digits kept
    ("error_code: 0x1F; v2.5", ["error", "code", "0x1f", "v2", "5"]),  # _ and punctuation split
    ("", []), (None, []),
    ("カード 한국어", ["カー", "ード", "한국", "국어"]),                    # kana and Hangul too
])
def test_terms(text, expected):
    assert terms(text) == expected


def test_query_terms_are_distinct_capped_and_a_lone_cjk_character_is_a_prefix():
    assert query_terms("网 网络 网络 a") == [Term("网", True), Term("网络"), Term("a")]
    assert len(query_terms(" ".join(f"w{i}" for i in range(100)))) == 32
    assert query_terms("打印机", limit=1) == [Term("打印")]
    assert query_terms("!!! ...") == []


@pytest.mark.parametrize("mode, fts5, tsquery", [
    ("all", '"网"* AND "打印" AND "jam"', "'网':* & '打印' & 'jam'"),
    ("any", '"网"* OR "打印" OR "jam"', "'网':* | '打印' | 'jam'"),
])
def test_each_backend_gets_its_expression(mode, fts5, tsquery):
    found = [Term("网", True), Term("打印"), Term("jam")]
    assert fts5_expression(found, mode) == fts5
    assert tsquery_expression(found, mode) == tsquery


def _sql(stmt, dialect) -> str:
    return str(stmt.compile(dialect=dialect))


def test_the_dialect_chooses_the_index_and_the_ranking():
    found = query_terms("打印机 jam")
    lite = _sql(ARTICLE_SEARCH.matching("sqlite", found), sqlite.dialect())
    assert "kb_articles_fts MATCH" in lite and "-bm25(kb_articles_fts, 1.0, 0.4)" in lite
    assert "kb_articles_fts.rowid = kb_articles.search_rowid" in lite or \
        "kb_articles.search_rowid = kb_articles_fts.rowid" in lite
    pg = _sql(ARTICLE_SEARCH.matching("postgresql", found), postgresql.dialect())
    # the articles' vectors in their narrow table (covering the search's filters)
    assert "ts_rank(kb_articles_search.search_vector, to_tsquery('simple'" in pg
    assert "kb_articles_search.search_vector @@ to_tsquery('simple'" in pg and "bm25" not in pg
    assert "JOIN kb_articles_search ON kb_articles_search.id = kb_articles.id" in pg
    with pytest.raises(ValueError):
        ARTICLE_SEARCH.matching("sqlite", [])
    with pytest.raises(ValueError):
        ARTICLE_SEARCH.matching("sqlite", found, "some")


def test_the_ranked_matches_are_the_newest_at_most_and_ranked_by_the_dialects_ranking():
    found = query_terms("打印机 jam")
    published = ARTICLE_SEARCH.table.c.status == "published"
    lite = _sql(ARTICLE_SEARCH.ranked("sqlite", found, "all", [published], cap=500), sqlite.dialect())
    assert "-bm25(kb_articles_fts, 1.0, 0.4) AS rank" in lite and "kb_articles.status = " in lite
    assert "ORDER BY kb_articles_fts.rowid DESC" in lite and "LIMIT " in lite
    pg = _sql(select(ranked := ARTICLE_SEARCH.ranked("postgresql", found, "all", [published])), postgresql.dialect())
    # the newest matches first, from the narrow table, its copy of the filter's column: among the newest
    # 2 * cap records if the cap is reached there, otherwise among every match in byte order; then ranked
    assert "kb_articles." not in pg and "kb_articles_search.status = " in pg and "bm25" not in pg
    assert "ORDER BY kb_articles_search.id DESC" in pg and 'ORDER BY kb_articles_search.id COLLATE "C" DESC' in pg
    assert "AS MATERIALIZED" in pg and "ctid = any(CASE WHEN" in pg
    assert pg.index("kb_articles_search.search_vector @@") < pg.index("ts_rank(kb_articles_search.search_vector")
    assert list(ranked.c.keys()) == ["id", "rank"]
    with pytest.raises(ValueError, match="not covered"):
        ARTICLE_SEARCH.ranked("postgresql", found, "all", [ARTICLE_SEARCH.table.c.owner_id == "u1"])


@pytest.mark.parametrize("state", [{"after": "x"}, {"after": "x", "rank": "1"}, {"after": "x", "rank": True},
                                   {"after": "x", "rank": None}])
def test_a_ranked_cursor_without_a_rank_is_invalid(state):
    cursor = encode_cursor(**{"last_id": state.pop("after")}, **state)
    with pytest.raises(ValidationFailed) as err:
        ranked_page(None, None, None, None, 10, cursor)
    assert err.value.errors == {"cursor": ["Invalid cursor."]}
