"""knowledge base: articles, and the full-text indexes of articles and resolved tickets

Revision ID: 5b0e7c3f9d14
Revises: f2867bb19cdd
Create Date: 2026-12-04 03:00:00.000000

(Written beside 0003 (surveys, portal, quality): chained after it when both land.)
"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa
import crm_kit.records.db
from crm_kit.records.fulltext import FullTextIndex


# revision identifiers, used by Alembic.
revision: str = '5b0e7c3f9d14'
down_revision: Union[str, Sequence[str], None] = 'f2867bb19cdd'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

# The indexes as the models declare them then (models/knowledge.py), on tables as this revision sees them.
_meta = sa.MetaData()
_ARTICLES = FullTextIndex(sa.Table('kb_articles', _meta, sa.Column('id', sa.String(36)),
                                   sa.Column('search_rowid', sa.Integer)), {'title': 'A', 'body': 'B'})
_TICKETS = FullTextIndex(sa.Table('tickets', _meta, sa.Column('id', sa.String(36)),
                                  sa.Column('search_rowid', sa.Integer)),
                         {'subject': 'A', 'description': 'B', 'resolution': 'B'})


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table('kb_articles',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('category', sa.String(length=20), nullable=True),
    sa.Column('product_id', sa.String(length=36), nullable=True),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('source_ticket_id', sa.String(length=36), nullable=True),
    sa.Column('owner_id', sa.String(length=36), nullable=True),
    sa.Column('department_id', sa.String(length=36), nullable=True),
    sa.Column('created_by', sa.String(length=36), nullable=True),
    sa.Column('published_at', crm_kit.records.db.UtcDateTime(timezone=True), nullable=True),
    sa.Column('search_rowid', sa.Integer(), nullable=True),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('created_at', crm_kit.records.db.UtcDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', crm_kit.records.db.UtcDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_kb_articles'))
    )
    with op.batch_alter_table('kb_articles', schema=None) as batch_op:
        batch_op.create_index('ix_kb_articles_category_id', ['category', 'id'], unique=False)
        batch_op.create_index('ix_kb_articles_product_id_id', ['product_id', 'id'], unique=False)
        batch_op.create_index('ix_kb_articles_status_id', ['status', 'id'], unique=False)
        batch_op.create_index('uq_kb_articles_search_rowid', ['search_rowid'], unique=True, postgresql_where=sa.text('search_rowid IS NOT NULL'), sqlite_where=sa.text('search_rowid IS NOT NULL'))
        batch_op.create_index('uq_kb_articles_source_ticket', ['source_ticket_id'], unique=True, postgresql_where=sa.text('source_ticket_id IS NOT NULL'), sqlite_where=sa.text('source_ticket_id IS NOT NULL'))

    with op.batch_alter_table('tickets', schema=None) as batch_op:
        batch_op.add_column(sa.Column('search_rowid', sa.Integer(), nullable=True))
        batch_op.create_index('uq_tickets_search_rowid', ['search_rowid'], unique=True, postgresql_where=sa.text('search_rowid IS NOT NULL'), sqlite_where=sa.text('search_rowid IS NOT NULL'))

    # what only one dialect has: FTS5 tables on SQLite, tsvector columns with GIN indexes on PostgreSQL
    bind = op.get_bind()
    _ARTICLES.create(bind)
    _TICKETS.create(bind)
    # the tickets resolved before: found by the suggestions too
    tickets = sa.table('tickets', sa.column('id'), sa.column('status'), sa.column('subject'),
                       sa.column('description'), sa.column('resolution'))
    for row in bind.execute(sa.select(tickets).where(tickets.c.status.in_(('resolved', 'closed')))).all():
        _TICKETS.put_row(bind, row.id, None, {'subject': row.subject, 'description': row.description,
                                              'resolution': row.resolution})


def downgrade() -> None:
    """Downgrade schema."""
    bind = op.get_bind()
    _TICKETS.drop(bind)
    _ARTICLES.drop(bind)
    with op.batch_alter_table('tickets', schema=None) as batch_op:
        batch_op.drop_index('uq_tickets_search_rowid', postgresql_where=sa.text('search_rowid IS NOT NULL'), sqlite_where=sa.text('search_rowid IS NOT NULL'))
        batch_op.drop_column('search_rowid')

    with op.batch_alter_table('kb_articles', schema=None) as batch_op:
        batch_op.drop_index('uq_kb_articles_source_ticket', postgresql_where=sa.text('source_ticket_id IS NOT NULL'), sqlite_where=sa.text('source_ticket_id IS NOT NULL'))
        batch_op.drop_index('uq_kb_articles_search_rowid', postgresql_where=sa.text('search_rowid IS NOT NULL'), sqlite_where=sa.text('search_rowid IS NOT NULL'))
        batch_op.drop_index('ix_kb_articles_status_id')
        batch_op.drop_index('ix_kb_articles_product_id_id')
        batch_op.drop_index('ix_kb_articles_category_id')

    op.drop_table('kb_articles')
