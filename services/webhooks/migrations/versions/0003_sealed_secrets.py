"""signing secrets sealed at rest

The columns ``secret`` and ``previous_secret`` become text holding the value sealed with the keys
of ``WEBHOOKS_SEALING_KEYS`` (``crm_kit.records.sealed``); the secrets stored as they were
(``whsec_...``) are sealed here. Downgrade opens them again.

Revision ID: 7c2d4e9a1b30
Revises: 25131d5f0153
Create Date: 2026-12-08 00:25:00

"""
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

from crm_kit.records.sealed import open_sealed, seal

revision: str = '7c2d4e9a1b30'
down_revision: Union[str, Sequence[str], None] = '25131d5f0153'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

KEYS = "WEBHOOKS_SEALING_KEYS"
PLAIN = "whsec_"
COLUMNS = ("secret", "previous_secret")


def _rewrite(change) -> None:
    bind = op.get_bind()
    table = sa.table("webhook_subscriptions", sa.column("id"), *(sa.column(c) for c in COLUMNS))
    for row in bind.execute(sa.select(table)).all():
        values = {c: change(getattr(row, c)) for c in COLUMNS if getattr(row, c) is not None}
        values = {c: v for c, v in values.items() if v != getattr(row, c)}
        if values:
            bind.execute(table.update().where(table.c.id == row.id).values(**values))


def upgrade() -> None:
    with op.batch_alter_table("webhook_subscriptions") as batch_op:
        batch_op.alter_column("secret", type_=sa.Text(), existing_type=sa.String(100), existing_nullable=False)
        batch_op.alter_column("previous_secret", type_=sa.Text(), existing_type=sa.String(100),
                              existing_nullable=True)
    _rewrite(lambda value: seal(KEYS, value) if value.startswith(PLAIN) else value)


def downgrade() -> None:
    _rewrite(lambda value: value if value.startswith(PLAIN) else open_sealed(KEYS, value))
    with op.batch_alter_table("webhook_subscriptions") as batch_op:
        batch_op.alter_column("secret", type_=sa.String(100), existing_type=sa.Text(), existing_nullable=False)
        batch_op.alter_column("previous_secret", type_=sa.String(100), existing_type=sa.Text(),
                              existing_nullable=True)
