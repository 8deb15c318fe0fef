"""Leads remembers the customers and contacts its leads point at, and which were deleted.

``customer_references`` (one row per customer or contact id: recorded by a conversion, deleted
by customers' ``customer_deleted`` / ``contact_deleted``) lets a conversion recorded after its
customer was deleted leave the lead without it; ``ix_leads_customer_id`` / ``ix_leads_contact_id``
(partial: most leads point at nothing) find the leads a deletion leaves.

Revision ID: 7a3c91d0e5f2
Revises: 5d1e0c2a7b44
"""
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

import crm_kit.records.db

revision: str = "7a3c91d0e5f2"
down_revision: Union[str, Sequence[str], None] = "5d1e0c2a7b44"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

_CUSTOMER, _CONTACT = "customer_id IS NOT NULL", "contact_id IS NOT NULL"


def upgrade() -> None:
    op.create_table(
        "customer_references",
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("ref_id", sa.String(length=36), nullable=False),
        sa.Column("recorded_at", crm_kit.records.db.UtcDateTime(timezone=True), nullable=True),
        sa.Column("deleted_at", crm_kit.records.db.UtcDateTime(timezone=True), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("kind", "ref_id", name=op.f("pk_customer_references")),
    )
    with op.batch_alter_table("leads", schema=None) as batch_op:
        batch_op.create_index("ix_leads_customer_id", ["customer_id"], unique=False,
                              postgresql_where=sa.text(_CUSTOMER), sqlite_where=sa.text(_CUSTOMER))
        batch_op.create_index("ix_leads_contact_id", ["contact_id"], unique=False,
                              postgresql_where=sa.text(_CONTACT), sqlite_where=sa.text(_CONTACT))


def downgrade() -> None:
    with op.batch_alter_table("leads", schema=None) as batch_op:
        batch_op.drop_index("ix_leads_contact_id", postgresql_where=sa.text(_CONTACT), sqlite_where=sa.text(_CONTACT))
        batch_op.drop_index("ix_leads_customer_id", postgresql_where=sa.text(_CUSTOMER),
                            sqlite_where=sa.text(_CUSTOMER))
    op.drop_table("customer_references")
