"""records and lists: (column, id) indexes for the customer and contact list sorts; the name prefix index

``ix_customers_name_key`` is built again with ``text_pattern_ops`` on PostgreSQL, as the model declares
(0001 built it with the default operator class, which a ``LIKE 'prefix%'`` cannot use unless the
database's collation is C): the name prefix filter of the customer list reads it. On PostgreSQL
``ix_customers_latitude_longitude`` (the radius filter's bounding box) also covers the columns the data
scope reads (``INCLUDE (id, owner_id, department_id, pool_id)``): an index-only scan, no heap visit per
candidate.

Revision ID: 7c4f2a91e0b5
Revises: 5b1e0c9d7a31
Create Date: 2026-12-02 03:40:00.000000

"""
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = '7c4f2a91e0b5'
down_revision: Union[str, Sequence[str], None] = '5b1e0c9d7a31'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Upgrade schema."""
    op.drop_index('ix_customers_name_key', table_name='customers')
    op.create_index('ix_customers_name_key', 'customers', ['name_key'], unique=False,
                    postgresql_ops={'name_key': 'text_pattern_ops'})
    op.drop_index('ix_customers_latitude_longitude', table_name='customers')
    op.create_index('ix_customers_latitude_longitude', 'customers', ['latitude', 'longitude'], unique=False,
                    postgresql_where=sa.text('latitude IS NOT NULL'), sqlite_where=sa.text('latitude IS NOT NULL'),
                    postgresql_include=['id', 'owner_id', 'department_id', 'pool_id'])
    with op.batch_alter_table('customers', schema=None) as batch_op:
        batch_op.create_index('ix_customers_created_at_id', ['created_at', 'id'], unique=False)
        batch_op.create_index('ix_customers_name_key_id', ['name_key', 'id'], unique=False)
    with op.batch_alter_table('contacts', schema=None) as batch_op:
        batch_op.create_index('ix_contacts_created_at_id', ['created_at', 'id'], unique=False)
        batch_op.create_index('ix_contacts_updated_at_id', ['updated_at', 'id'], unique=False)
        batch_op.create_index('ix_contacts_name_id', ['name', 'id'], unique=False)


def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table('contacts', schema=None) as batch_op:
        batch_op.drop_index('ix_contacts_name_id')
        batch_op.drop_index('ix_contacts_updated_at_id')
        batch_op.drop_index('ix_contacts_created_at_id')
    with op.batch_alter_table('customers', schema=None) as batch_op:
        batch_op.drop_index('ix_customers_name_key_id')
        batch_op.drop_index('ix_customers_created_at_id')
    op.drop_index('ix_customers_name_key', table_name='customers')
    op.create_index('ix_customers_name_key', 'customers', ['name_key'], unique=False)
    op.drop_index('ix_customers_latitude_longitude', table_name='customers')
    op.create_index('ix_customers_latitude_longitude', 'customers', ['latitude', 'longitude'], unique=False,
                    postgresql_where=sa.text('latitude IS NOT NULL'), sqlite_where=sa.text('latitude IS NOT NULL'))
