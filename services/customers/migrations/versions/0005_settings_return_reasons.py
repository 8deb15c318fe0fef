"""settings: the platform's return reasons (``customer_settings.return_reasons``)

A return to a pool without reasons of its own gives one of these (empty: any reason).

Revision ID: 9e3d6b2f4a17
Revises: 7c4f2a91e0b5
Create Date: 2026-12-02 03:40:00.000000

"""
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = '9e3d6b2f4a17'
down_revision: Union[str, Sequence[str], None] = '7c4f2a91e0b5'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Upgrade schema."""
    with op.batch_alter_table('customer_settings', schema=None) as batch_op:
        batch_op.add_column(sa.Column('return_reasons', sa.JSON(), nullable=False, server_default=sa.text("'[]'")))


def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table('customer_settings', schema=None) as batch_op:
        batch_op.drop_column('return_reasons')
