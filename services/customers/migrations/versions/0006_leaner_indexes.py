"""leaner indexes on customers: every insert and every non-HOT update writes each of them

- ``ix_customers_name_key`` (``text_pattern_ops``: the name prefix filter, the duplicate key) and
  ``ix_customers_name_key_id`` (the name sort) become one: on PostgreSQL ``name_key`` takes the
  collation ``"C"`` (byte order: the normalised name's code points, as SQLite's BINARY compares), so the
  plain ``(name_key, id)`` index serves ``LIKE 'prefix%'`` (a range of that order), ``name_key = ANY(..)``
  and the keyset ``ORDER BY name_key, id``. (Equality is the same in every deterministic collation.)
- ``ix_customers_deal_status_id``: a filter on two values (prospect | deal) that no sort orders by;
  the page's own order (the primary key, or the chosen sort's index) filtered reads as few rows.
- ``ix_customers_owner_since``: no query reads it (recycling's candidates count from
  ``coalesce(owner_since, created_at)`` along the primary key).

Revision ID: 3a8d5e2c7b90
Revises: 9e3d6b2f4a17
Create Date: 2026-12-02 17:20:00.000000

"""
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = '3a8d5e2c7b90'
down_revision: Union[str, Sequence[str], None] = '9e3d6b2f4a17'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Upgrade schema."""
    postgresql = op.get_bind().dialect.name == 'postgresql'
    op.drop_index('ix_customers_name_key', table_name='customers')
    op.drop_index('ix_customers_deal_status_id', table_name='customers')
    op.drop_index('ix_customers_owner_since', table_name='customers',
                  postgresql_where=sa.text('owner_id IS NOT NULL'), sqlite_where=sa.text('owner_id IS NOT NULL'))
    if postgresql:   # (SQLite compares text as bytes already: its index stays as it is)
        op.drop_index('ix_customers_name_key_id', table_name='customers')
        op.alter_column('customers', 'name_key', existing_type=sa.String(length=200), existing_nullable=False,
                        type_=sa.String(length=200, collation='C'))
        op.create_index('ix_customers_name_key_id', 'customers', ['name_key', 'id'], unique=False)


def downgrade() -> None:
    """Downgrade schema."""
    postgresql = op.get_bind().dialect.name == 'postgresql'
    if postgresql:
        op.drop_index('ix_customers_name_key_id', table_name='customers')
        op.alter_column('customers', 'name_key', existing_type=sa.String(length=200, collation='C'),
                        existing_nullable=False, type_=sa.String(length=200))
        op.create_index('ix_customers_name_key_id', 'customers', ['name_key', 'id'], unique=False)
    op.create_index('ix_customers_owner_since', 'customers', ['owner_since'], unique=False,
                    postgresql_where=sa.text('owner_id IS NOT NULL'), sqlite_where=sa.text('owner_id IS NOT NULL'))
    op.create_index('ix_customers_deal_status_id', 'customers', ['deal_status', 'id'], unique=False)
    op.create_index('ix_customers_name_key', 'customers', ['name_key'], unique=False,
                    postgresql_ops={'name_key': 'text_pattern_ops'})
