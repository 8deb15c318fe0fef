"""the kit's tables: outbox, processed_events, audit_log

Revision ID: kit0001
Revises:
Create Date: 2026-12-01

Every service's first revision depends on this one (``depends_on = 'kit0001'``), so the kit's
tables are defined once, here, for every database. A database built before the kit had its own
branch already has them (each service's first revision used to create them): they are left as
they are.
"""
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

import crm_kit.records.db

revision: str = "kit0001"
down_revision: Union[str, Sequence[str], None] = None
branch_labels: Union[str, Sequence[str], None] = ("kit",)
depends_on: Union[str, Sequence[str], None] = None


def _exists(name: str) -> bool:
    return sa.inspect(op.get_bind()).has_table(name)


def upgrade() -> None:
    if not _exists("outbox"):
        op.create_table(
            "outbox",
            sa.Column("id", sa.String(length=36), nullable=False),
            sa.Column("event_type", sa.String(length=100), nullable=False),
            sa.Column("exchange", sa.String(length=100), nullable=False),
            sa.Column("body", sa.JSON(), nullable=False),
            sa.Column("headers", sa.JSON(), nullable=False),
            sa.Column("created_at", crm_kit.records.db.UtcDateTime(timezone=True), nullable=False),
            sa.Column("published_at", crm_kit.records.db.UtcDateTime(timezone=True), nullable=True),
            sa.Column("attempts", sa.Integer(), nullable=False),
            sa.Column("last_error", sa.Text(), nullable=True),
            sa.Column("claimed_until", crm_kit.records.db.UtcDateTime(timezone=True), nullable=True),
            sa.PrimaryKeyConstraint("id", name=op.f("pk_outbox")),
        )
        op.create_index("ix_outbox_unpublished", "outbox", ["published_at", "created_at"], unique=False)
    if not _exists("processed_events"):
        op.create_table(
            "processed_events",
            sa.Column("handler", sa.String(length=200), nullable=False),
            sa.Column("event_id", sa.String(length=36), nullable=False),
            sa.Column("processed_at", crm_kit.records.db.UtcDateTime(timezone=True), nullable=False),
            sa.PrimaryKeyConstraint("handler", "event_id", name=op.f("pk_processed_events")),
        )
    if not _exists("audit_log"):
        op.create_table(
            "audit_log",
            sa.Column("id", sa.String(length=36), nullable=False),
            sa.Column("entity", sa.String(length=100), nullable=False),
            sa.Column("entity_id", sa.String(length=36), nullable=False),
            sa.Column("action", sa.String(length=50), nullable=False),
            sa.Column("actor_id", sa.String(length=36), nullable=True),
            sa.Column("request_id", sa.String(length=100), nullable=True),
            sa.Column("at", crm_kit.records.db.UtcDateTime(timezone=True), nullable=False),
            sa.Column("changes", sa.JSON(), nullable=False),
            sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_log")),
        )
        op.create_index("ix_audit_log_entity_entity_id_id", "audit_log", ["entity", "entity_id", "id"],
                        unique=False)


def downgrade() -> None:
    op.drop_index("ix_audit_log_entity_entity_id_id", table_name="audit_log")
    op.drop_table("audit_log")
    op.drop_table("processed_events")
    op.drop_index("ix_outbox_unpublished", table_name="outbox")
    op.drop_table("outbox")
