"""work_jobs: long work (imports, exports, bulk actions) run as jobs with progress

Revision ID: kit0004
Revises: kit0003
Create Date: 2026-12-04

A job (``crm_kit.runtime.work_jobs``) is a row of ``work_jobs`` (owner, kind, state, lease), the
file uploaded for it in ``work_job_inputs`` (parts in order), and one ``work_job_batches`` row per
batch done, committed in the same transaction as the batch's writes: a restarted service resumes
after the last committed batch, and the primary key ``(job_id, batch_no)`` refuses a batch applied
twice.
"""
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

import crm_kit.records.db

revision: str = "kit0004"
down_revision: Union[str, Sequence[str], None] = "kit0003"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

_Utc = crm_kit.records.db.UtcDateTime


def upgrade() -> None:
    if sa.inspect(op.get_bind()).has_table("work_jobs"):
        return      # as kit0001 does: tables already there (their version row lost) are left as they are
    op.create_table(
        "work_jobs",
        sa.Column("id", sa.String(length=80), nullable=False),
        sa.Column("kind", sa.String(length=60), nullable=False),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("owner_id", sa.String(length=36), nullable=False),
        sa.Column("principal", sa.JSON(), nullable=False),
        sa.Column("params", sa.JSON(), nullable=False),
        sa.Column("input_parts", sa.Integer(), nullable=True),
        sa.Column("total", sa.Integer(), nullable=True),
        sa.Column("summary", sa.JSON(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("cancel_requested", sa.Integer(), nullable=False),
        sa.Column("claimed_by", sa.String(length=200), nullable=True),
        sa.Column("claimed_until", _Utc(timezone=True), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("created_at", _Utc(timezone=True), nullable=False),
        sa.Column("started_at", _Utc(timezone=True), nullable=True),
        sa.Column("finished_at", _Utc(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_work_jobs")),
    )
    op.create_index("ix_work_jobs_owner_id_created_at", "work_jobs", ["owner_id", "created_at"], unique=False)
    op.create_index("ix_work_jobs_state_created_at", "work_jobs", ["state", "created_at"], unique=False)
    op.create_table(
        "work_job_inputs",
        sa.Column("job_id", sa.String(length=80), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("job_id", "seq", name=op.f("pk_work_job_inputs")),
    )
    op.create_table(
        "work_job_batches",
        sa.Column("job_id", sa.String(length=80), nullable=False),
        sa.Column("batch_no", sa.Integer(), nullable=False),
        sa.Column("rows", sa.Integer(), nullable=False),
        sa.Column("counts", sa.JSON(), nullable=False),
        sa.Column("errors", sa.JSON(), nullable=False),
        sa.Column("report", sa.JSON(), nullable=True),
        sa.Column("output", sa.Text(), nullable=True),
        sa.Column("resume", sa.JSON(), nullable=True),
        sa.Column("committed_at", _Utc(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("job_id", "batch_no", name=op.f("pk_work_job_batches")),
    )


def downgrade() -> None:
    op.drop_table("work_job_batches")
    op.drop_table("work_job_inputs")
    op.drop_index("ix_work_jobs_state_created_at", table_name="work_jobs")
    op.drop_index("ix_work_jobs_owner_id_created_at", table_name="work_jobs")
    op.drop_table("work_jobs")
