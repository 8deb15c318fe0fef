"""approvals: the approval engine's flows (with their steps) and requests (with their resolved steps,
approvers, people copied and decisions); at most one pending request per subject (a partial unique index)

Revision ID: sales0004
Revises: sales0003
Create Date: 2026-12-10 10:00:00.000000

"""
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

import crm_kit.records.db

# revision identifiers, used by Alembic.
revision: str = 'sales0004'
down_revision: Union[str, Sequence[str], None] = 'sales0003'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table('approval_flows',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('description', sa.Text(), nullable=True),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('priority', sa.Integer(), nullable=False),
    sa.Column('subject_kind', sa.String(length=20), nullable=True),
    sa.Column('kind', sa.String(length=50), nullable=True),
    sa.Column('currency', sa.String(length=3), nullable=True),
    sa.Column('min_amount', crm_kit.records.db.Money(precision=18, scale=2), nullable=True),
    sa.Column('max_amount', crm_kit.records.db.Money(precision=18, scale=2), nullable=True),
    sa.Column('min_discount_percent', crm_kit.records.db.Money(precision=18, scale=2), nullable=True),
    sa.Column('department_ids', sa.JSON(), nullable=False),
    sa.Column('restart', sa.String(length=20), nullable=False),
    sa.Column('fallback_approver_id', sa.String(length=36), nullable=True),
    sa.Column('cc_user_ids', sa.JSON(), nullable=False),
    sa.Column('created_by', sa.String(length=36), nullable=True),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('created_at', crm_kit.records.db.UtcDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', crm_kit.records.db.UtcDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_approval_flows'))
    )
    op.create_index('uq_approval_flows_name', 'approval_flows', ['name'], unique=True)
    op.create_table('approval_requests',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('subject_kind', sa.String(length=20), nullable=False),
    sa.Column('subject_id', sa.String(length=36), nullable=False),
    sa.Column('round', sa.Integer(), nullable=False),
    sa.Column('flow_id', sa.String(length=36), nullable=True),
    sa.Column('flow_version', sa.Integer(), nullable=True),
    sa.Column('flow_name', sa.String(length=200), nullable=False),
    sa.Column('restart', sa.String(length=20), nullable=False),
    sa.Column('previous_request_id', sa.String(length=36), nullable=True),
    sa.Column('submitted_by', sa.String(length=36), nullable=False),
    sa.Column('owner_id', sa.String(length=36), nullable=True),
    sa.Column('department_id', sa.String(length=36), nullable=True),
    sa.Column('amount', crm_kit.records.db.Money(precision=18, scale=2), nullable=True),
    sa.Column('discount_percent', crm_kit.records.db.Money(precision=18, scale=2), nullable=True),
    sa.Column('currency', sa.String(length=3), nullable=True),
    sa.Column('kind', sa.String(length=50), nullable=True),
    sa.Column('state', sa.String(length=20), nullable=False),
    sa.Column('current_position', sa.Integer(), nullable=True),
    sa.Column('submitted_at', crm_kit.records.db.UtcDateTime(timezone=True), nullable=False),
    sa.Column('decided_at', crm_kit.records.db.UtcDateTime(timezone=True), nullable=True),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_approval_requests'))
    )
    op.create_index('ix_approval_requests_submitted_by_id', 'approval_requests', ['submitted_by', 'id'], unique=False)
    op.create_index('uq_approval_requests_pending_subject', 'approval_requests', ['subject_kind', 'subject_id'], unique=True, postgresql_where=sa.text("state = 'pending'"), sqlite_where=sa.text("state = 'pending'"))
    op.create_index('uq_approval_requests_subject_kind_subject_id_round', 'approval_requests', ['subject_kind', 'subject_id', 'round'], unique=True)
    op.create_table('approval_decisions',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('request_id', sa.String(length=36), nullable=False),
    sa.Column('position', sa.Integer(), nullable=True),
    sa.Column('user_id', sa.String(length=36), nullable=True),
    sa.Column('decision', sa.String(length=10), nullable=False),
    sa.Column('comment', sa.Text(), nullable=True),
    sa.Column('decided_at', crm_kit.records.db.UtcDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['request_id'], ['approval_requests.id'], name=op.f('fk_approval_decisions_request_id_approval_requests'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_approval_decisions'))
    )
    op.create_index('ix_approval_decisions_request_id_id', 'approval_decisions', ['request_id', 'id'], unique=False)
    op.create_table('approval_flow_steps',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('flow_id', sa.String(length=36), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=True),
    sa.Column('approver', sa.String(length=20), nullable=False),
    sa.Column('mode', sa.String(length=10), nullable=False),
    sa.Column('user_ids', sa.JSON(), nullable=False),
    sa.Column('role', sa.String(length=20), nullable=True),
    sa.Column('levels', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['flow_id'], ['approval_flows.id'], name=op.f('fk_approval_flow_steps_flow_id_approval_flows'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_approval_flow_steps'))
    )
    op.create_index('uq_approval_flow_steps_flow_id_position', 'approval_flow_steps', ['flow_id', 'position'], unique=True)
    op.create_table('approval_request_cc',
    sa.Column('request_id', sa.String(length=36), nullable=False),
    sa.Column('user_id', sa.String(length=36), nullable=False),
    sa.ForeignKeyConstraint(['request_id'], ['approval_requests.id'], name=op.f('fk_approval_request_cc_request_id_approval_requests'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('request_id', 'user_id', name=op.f('pk_approval_request_cc'))
    )
    op.create_index('ix_approval_request_cc_user_id_request_id', 'approval_request_cc', ['user_id', 'request_id'], unique=False)
    op.create_table('approval_request_steps',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('request_id', sa.String(length=36), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('mode', sa.String(length=10), nullable=False),
    sa.Column('source', sa.String(length=20), nullable=False),
    sa.Column('state', sa.String(length=20), nullable=False),
    sa.Column('carried_from_request_id', sa.String(length=36), nullable=True),
    sa.Column('decided_at', crm_kit.records.db.UtcDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['request_id'], ['approval_requests.id'], name=op.f('fk_approval_request_steps_request_id_approval_requests'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_approval_request_steps'))
    )
    op.create_index('uq_approval_request_steps_request_id_position', 'approval_request_steps', ['request_id', 'position'], unique=True)
    op.create_table('approval_step_approvers',
    sa.Column('step_id', sa.String(length=36), nullable=False),
    sa.Column('user_id', sa.String(length=36), nullable=False),
    sa.Column('request_id', sa.String(length=36), nullable=False),
    sa.Column('decision', sa.String(length=10), nullable=True),
    sa.ForeignKeyConstraint(['request_id'], ['approval_requests.id'], name=op.f('fk_approval_step_approvers_request_id_approval_requests'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['step_id'], ['approval_request_steps.id'], name=op.f('fk_approval_step_approvers_step_id_approval_request_steps'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('step_id', 'user_id', name=op.f('pk_approval_step_approvers'))
    )
    op.create_index('ix_approval_step_approvers_user_id_request_id', 'approval_step_approvers', ['user_id', 'request_id'], unique=False)


def downgrade() -> None:
    """Downgrade schema."""
    op.drop_index('ix_approval_step_approvers_user_id_request_id', table_name='approval_step_approvers')
    op.drop_table('approval_step_approvers')
    op.drop_index('uq_approval_request_steps_request_id_position', table_name='approval_request_steps')
    op.drop_table('approval_request_steps')
    op.drop_index('ix_approval_request_cc_user_id_request_id', table_name='approval_request_cc')
    op.drop_table('approval_request_cc')
    op.drop_index('uq_approval_flow_steps_flow_id_position', table_name='approval_flow_steps')
    op.drop_table('approval_flow_steps')
    op.drop_index('ix_approval_decisions_request_id_id', table_name='approval_decisions')
    op.drop_table('approval_decisions')
    op.drop_index('uq_approval_requests_subject_kind_subject_id_round', table_name='approval_requests')
    op.drop_index('uq_approval_requests_pending_subject', table_name='approval_requests', postgresql_where=sa.text("state = 'pending'"), sqlite_where=sa.text("state = 'pending'"))
    op.drop_index('ix_approval_requests_submitted_by_id', table_name='approval_requests')
    op.drop_table('approval_requests')
    op.drop_index('uq_approval_flows_name', table_name='approval_flows')
    op.drop_table('approval_flows')
