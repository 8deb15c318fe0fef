"""billing_order_refs: the newest owner heard of per order (order_owner_changed, order-tolerant)

Revision ID: a694dea2770f
Revises: 3ad3396803cc
Create Date: 2026-12-03 10:00:00.000000

"""
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

import crm_kit.records.db

# revision identifiers, used by Alembic.
revision: str = 'a694dea2770f'
down_revision: Union[str, Sequence[str], None] = '3ad3396803cc'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table('billing_order_refs',
    sa.Column('order_id', sa.String(length=36), nullable=False),
    sa.Column('owner_id', sa.String(length=36), nullable=True),
    sa.Column('department_id', sa.String(length=36), nullable=True),
    sa.Column('owner_changed_at', crm_kit.records.db.UtcDateTime(timezone=True), nullable=True),
    sa.Column('recorded_at', crm_kit.records.db.UtcDateTime(timezone=True), nullable=True),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('order_id', name=op.f('pk_billing_order_refs'))
    )


def downgrade() -> None:
    """Downgrade schema."""
    op.drop_table('billing_order_refs')
