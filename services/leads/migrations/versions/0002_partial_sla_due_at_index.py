"""The SLA index holds only leads with a first-response target.

Most leads have none (no pool, or a pool without a target): the breach filter asks for a
target (``sla_due_at IS NOT NULL``), so the index need not hold the others, and an import or
a create without one no longer writes to it.

Revision ID: 5d1e0c2a7b44
Revises: cb8cfe3c828c
"""
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

revision: str = "5d1e0c2a7b44"
down_revision: Union[str, Sequence[str], None] = "cb8cfe3c828c"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

_WHERE = "sla_due_at IS NOT NULL"


def upgrade() -> None:
    with op.batch_alter_table("leads", schema=None) as batch_op:
        batch_op.drop_index("ix_leads_sla_due_at")
        batch_op.create_index("ix_leads_sla_due_at", ["sla_due_at"], unique=False,
                              postgresql_where=sa.text(_WHERE), sqlite_where=sa.text(_WHERE))


def downgrade() -> None:
    with op.batch_alter_table("leads", schema=None) as batch_op:
        batch_op.drop_index("ix_leads_sla_due_at", postgresql_where=sa.text(_WHERE), sqlite_where=sa.text(_WHERE))
        batch_op.create_index("ix_leads_sla_due_at", ["sla_due_at"], unique=False)
