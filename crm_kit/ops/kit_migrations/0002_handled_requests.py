"""handled_requests: the RPC requests a service carried out, with their answers

Revision ID: kit0002
Revises: kit0001
Create Date: 2026-12-01

A writing RPC records its request key and its reply in the same transaction as its effect
(``crm_kit.runtime.uow``), so that a redelivered request (the service died between commit and ack) or a
client's retry under the same Idempotency-Key is answered with the first reply, not applied again.
"""
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

import crm_kit.records.db

revision: str = "kit0002"
down_revision: Union[str, Sequence[str], None] = "kit0001"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_table(
        "handled_requests",
        sa.Column("request_key", sa.String(length=100), nullable=False),
        sa.Column("method", sa.String(length=100), nullable=False),
        sa.Column("reply", sa.JSON(), nullable=True),
        sa.Column("handled_at", crm_kit.records.db.UtcDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("request_key", name=op.f("pk_handled_requests")),
    )
    op.create_index("ix_handled_requests_handled_at", "handled_requests", ["handled_at"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_handled_requests_handled_at", table_name="handled_requests")
    op.drop_table("handled_requests")
