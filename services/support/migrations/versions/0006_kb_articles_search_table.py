"""knowledge base: on PostgreSQL, the articles' full-text vectors in a narrow table of their own

The search (``kb_search.search_articles``: ``FullTextIndex.ranked``) reads each match's row to apply the
filters (published, status, category, product) and to take the newest: with the vector a column of
``kb_articles`` that was a row of the article (its body, its vector) per match, 10,000 of them for a
common word, out of a table larger than PostgreSQL's buffers. ``kb_articles_search`` holds the vector
beside the id and the filters' columns only (``ARTICLE_SEARCH``'s ``covering``), with the GIN index
``ix_kb_articles_search_vector``; the application keeps it in the article's transaction. Backfilled from
``kb_articles.search_vector``, which goes (with its index). SQLite: nothing (its FTS5 table is apart already).

Revision ID: 3e9b7d51c0a8
Revises: 8c4d2a6e1f37
Create Date: 2026-12-08 00:45:00.000000
"""
from typing import Sequence, Union

from alembic import op

revision: str = '3e9b7d51c0a8'
down_revision: Union[str, Sequence[str], None] = '8c4d2a6e1f37'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

_COVERING = 'status, category, product_id'


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name != 'postgresql':
        return
    op.execute('CREATE TABLE kb_articles_search (id VARCHAR(36) NOT NULL, status VARCHAR(10), category VARCHAR(20), '
               'product_id VARCHAR(36), search_vector TSVECTOR, CONSTRAINT pk_kb_articles_search PRIMARY KEY (id))')
    op.execute(f'INSERT INTO kb_articles_search (id, {_COVERING}, search_vector) '
               f'SELECT id, {_COVERING}, search_vector FROM kb_articles WHERE search_vector IS NOT NULL')
    op.execute('DROP INDEX IF EXISTS ix_kb_articles_search_vector')
    op.execute('ALTER TABLE kb_articles DROP COLUMN IF EXISTS search_vector')
    op.execute('CREATE INDEX ix_kb_articles_search_vector ON kb_articles_search USING gin (search_vector)')
    op.execute('ANALYZE kb_articles_search')


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name != 'postgresql':
        return
    op.execute('ALTER TABLE kb_articles ADD COLUMN search_vector tsvector')
    op.execute('UPDATE kb_articles a SET search_vector = s.search_vector FROM kb_articles_search s WHERE s.id = a.id')
    op.execute('DROP TABLE kb_articles_search')
    op.execute('CREATE INDEX ix_kb_articles_search_vector ON kb_articles USING gin (search_vector)')
