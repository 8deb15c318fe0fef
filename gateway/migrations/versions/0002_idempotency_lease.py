"""idempotency_records.lease_until: how long a first attempt holds its Idempotency-Key

A record stays pending (``status`` NULL) while its first attempt runs; before this column, an
attempt that ended in an error or whose process died left it pending for 24 hours, and every
retry with the same key answered 409. Now the attempt holds the key until ``lease_until``
(longer than the RPC deadline, ``gateway/idempotency.py``); after that a retry takes it over.
Records written before this revision are either answered (their lease does not matter) or
stuck: NULL counts as expired, so those keys are free again.

Revision ID: 3f6b9d2c41e7
Revises: 80a74da8f332
"""
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

import crm_kit.records.db

revision: str = "3f6b9d2c41e7"
down_revision: Union[str, Sequence[str], None] = "80a74da8f332"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    with op.batch_alter_table("idempotency_records", schema=None) as batch_op:
        batch_op.add_column(sa.Column("lease_until", crm_kit.records.db.UtcDateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("idempotency_records", schema=None) as batch_op:
        batch_op.drop_column("lease_until")
