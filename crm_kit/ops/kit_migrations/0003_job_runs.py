"""job_runs: the runs of a service's periodic jobs, one per job and scheduled period

Revision ID: kit0003
Revises: kit0002
Create Date: 2026-12-02

A periodic job (``crm_kit.runtime.jobs``) runs once per period across every replica of its service:
the replica that inserts the period's row (the unique ``(job, period_start)``) runs it, under a
lease (``claimed_until``) that another replica may take over once it expires. The row keeps the
run's ``as_of``, its outcome and its error; runs an operator asked for (``run_job``) have no period.
"""
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

import crm_kit.records.db

revision: str = "kit0003"
down_revision: Union[str, Sequence[str], None] = "kit0002"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    if sa.inspect(op.get_bind()).has_table("job_runs"):
        return      # as kit0001 does: a table already there (its version row lost) is left as it is
    op.create_table(
        "job_runs",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("job", sa.String(length=100), nullable=False),
        sa.Column("period_start", crm_kit.records.db.UtcDateTime(timezone=True), nullable=True),
        sa.Column("trigger", sa.String(length=20), nullable=False),
        sa.Column("as_of", crm_kit.records.db.UtcDateTime(timezone=True), nullable=False),
        sa.Column("claimed_by", sa.String(length=200), nullable=False),
        sa.Column("claimed_until", crm_kit.records.db.UtcDateTime(timezone=True), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("started_at", crm_kit.records.db.UtcDateTime(timezone=True), nullable=False),
        sa.Column("finished_at", crm_kit.records.db.UtcDateTime(timezone=True), nullable=True),
        sa.Column("outcome", sa.String(length=20), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("result", sa.JSON(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_job_runs")),
        sa.UniqueConstraint("job", "period_start", name=op.f("uq_job_runs_job_period_start")),
    )
    op.create_index("ix_job_runs_job_started_at", "job_runs", ["job", "started_at"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_job_runs_job_started_at", table_name="job_runs")
    op.drop_table("job_runs")
