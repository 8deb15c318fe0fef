"""knowledge base: the search's join from the SQLite full-text index to the articles reads one index

The search (``kb_search.search_articles``: ``FullTextIndex.ranked``) joins each match of the FTS5 table
to its article by ``search_rowid`` to apply the filters (published, status, category, product) and to
take the article's id (the ranking's tie-break and the cursor's key): with ``uq_kb_articles_search_rowid``
that was an index seek then a read of the article's row (title and body included) per match; the index
``ix_kb_articles_search_rowid_filters`` holds every column the join reads, so it reads nothing else
(about a third less per match). Only the rows in the full-text index (``search_rowid`` set: SQLite's;
on PostgreSQL the column stays null and the index empty).

Revision ID: 8c4d2a6e1f37
Revises: 5b0e7c3f9d14
Create Date: 2026-12-07 23:45:00.000000
"""
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

revision: str = '8c4d2a6e1f37'
down_revision: Union[str, Sequence[str], None] = '5b0e7c3f9d14'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

_WHERE = 'search_rowid IS NOT NULL'
_COLUMNS = ['search_rowid', 'status', 'category', 'product_id', 'id']


def upgrade() -> None:
    op.create_index('ix_kb_articles_search_rowid_filters', 'kb_articles', _COLUMNS, unique=False,
                    postgresql_where=sa.text(_WHERE), sqlite_where=sa.text(_WHERE))


def downgrade() -> None:
    op.drop_index('ix_kb_articles_search_rowid_filters', table_name='kb_articles',
                  postgresql_where=sa.text(_WHERE), sqlite_where=sa.text(_WHERE))
