"""business entries: when each record was first heard of (opened_at)

Revision ID: 5b1e0c9d7a31
Revises: d6ae2b7345f8
Create Date: 2026-12-02 02:00:00.000000

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa
import crm_kit.records.db

# revision identifiers, used by Alembic.
revision: str = '5b1e0c9d7a31'
down_revision: Union[str, Sequence[str], None] = 'd6ae2b7345f8'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Upgrade schema."""
    with op.batch_alter_table('customer_business', schema=None) as batch_op:
        batch_op.add_column(sa.Column('opened_at', crm_kit.records.db.UtcDateTime(timezone=True), nullable=True))


def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table('customer_business', schema=None) as batch_op:
        batch_op.drop_column('opened_at')
