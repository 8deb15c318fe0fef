"""Leads remembers which customer a merged one went into.

``customer_references.merged_into`` (customers' ``customers_merged``): the survivor a merged
customer went into, so that a conversion answer naming the merged id that arrives after the merge
records the survivor on the lead (and the survivor's deletion leaves it without one).

Revision ID: 9b4e2f6a1c03
Revises: 2fc75d107e1f
"""
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

revision: str = "9b4e2f6a1c03"
down_revision: Union[str, Sequence[str], None] = "2fc75d107e1f"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    with op.batch_alter_table("customer_references", schema=None) as batch_op:
        batch_op.add_column(sa.Column("merged_into", sa.String(length=36), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("customer_references", schema=None) as batch_op:
        batch_op.drop_column("merged_into")
