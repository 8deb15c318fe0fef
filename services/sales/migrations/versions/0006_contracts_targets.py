"""contracts and targets: contracts, the orders they cover, their numbering counter; the customers
sales has heard of (merges, owner changes); sales targets and the collection facts of their attainment

Revision ID: sales0006
Revises: sales0005
Create Date: 2026-12-02 17:30:00.000000

"""
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

import crm_kit.records.db

# revision identifiers, used by Alembic.
revision: str = 'sales0006'
down_revision: Union[str, Sequence[str], None] = 'sales0005'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table('contract_counters',
    sa.Column('year', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('last', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('year', name=op.f('pk_contract_counters'))
    )
    op.create_table('contracts',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('number', sa.String(length=30), nullable=False),
    sa.Column('customer_id', sa.String(length=36), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('our_signatory_id', sa.String(length=36), nullable=True),
    sa.Column('customer_signatory_contact_id', sa.String(length=36), nullable=True),
    sa.Column('customer_signatory_name', sa.String(length=200), nullable=True),
    sa.Column('our_signed_on', sa.Date(), nullable=True),
    sa.Column('customer_signed_on', sa.Date(), nullable=True),
    sa.Column('signed_at', crm_kit.records.db.UtcDateTime(timezone=True), nullable=True),
    sa.Column('amount', crm_kit.records.db.Money(precision=18, scale=2), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('start_date', sa.Date(), nullable=True),
    sa.Column('end_date', sa.Date(), nullable=True),
    sa.Column('payment_terms', sa.Text(), nullable=True),
    sa.Column('renews_contract_id', sa.String(length=36), nullable=True),
    sa.Column('owner_id', sa.String(length=36), nullable=True),
    sa.Column('department_id', sa.String(length=36), nullable=True),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('void_reason', sa.String(length=500), nullable=True),
    sa.Column('voided_at', crm_kit.records.db.UtcDateTime(timezone=True), nullable=True),
    sa.Column('expired_at', crm_kit.records.db.UtcDateTime(timezone=True), nullable=True),
    sa.Column('expiring_notified_at', crm_kit.records.db.UtcDateTime(timezone=True), nullable=True),
    sa.Column('notes', sa.Text(), nullable=True),
    sa.Column('created_by', sa.String(length=36), nullable=True),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('created_at', crm_kit.records.db.UtcDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', crm_kit.records.db.UtcDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['renews_contract_id'], ['contracts.id'], name=op.f('fk_contracts_renews_contract_id_contracts')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_contracts'))
    )
    op.create_index('ix_contracts_customer_id_id', 'contracts', ['customer_id', 'id'], unique=False)
    op.create_index('ix_contracts_department_id_id', 'contracts', ['department_id', 'id'], unique=False)
    op.create_index('ix_contracts_owner_id_id', 'contracts', ['owner_id', 'id'], unique=False)
    op.create_index('ix_contracts_renews_contract_id', 'contracts', ['renews_contract_id'], unique=False)
    op.create_index('ix_contracts_status_end_date', 'contracts', ['status', 'end_date'], unique=False)
    op.create_index('ix_contracts_status_id', 'contracts', ['status', 'id'], unique=False)
    op.create_index('uq_contracts_number', 'contracts', ['number'], unique=True)
    op.create_table('sales_customer_refs',
    sa.Column('customer_id', sa.String(length=36), nullable=False),
    sa.Column('merged_into', sa.String(length=36), nullable=True),
    sa.Column('owner_id', sa.String(length=36), nullable=True),
    sa.Column('department_id', sa.String(length=36), nullable=True),
    sa.Column('owner_changed_at', crm_kit.records.db.UtcDateTime(timezone=True), nullable=True),
    sa.Column('recorded_at', crm_kit.records.db.UtcDateTime(timezone=True), nullable=True),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('customer_id', name=op.f('pk_sales_customer_refs'))
    )
    op.create_table('sales_targets',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('month', sa.Integer(), nullable=True),
    sa.Column('period', sa.String(length=7), nullable=False),
    sa.Column('scope', sa.String(length=20), nullable=False),
    sa.Column('scope_key', sa.String(length=60), nullable=False),
    sa.Column('owner_id', sa.String(length=36), nullable=True),
    sa.Column('department_id', sa.String(length=36), nullable=True),
    sa.Column('metric', sa.String(length=20), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('amount', crm_kit.records.db.Money(precision=18, scale=2), nullable=False),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('created_by', sa.String(length=36), nullable=True),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('created_at', crm_kit.records.db.UtcDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', crm_kit.records.db.UtcDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sales_targets'))
    )
    op.create_index('ix_sales_targets_department_id_id', 'sales_targets', ['department_id', 'id'], unique=False)
    op.create_index('ix_sales_targets_owner_id_id', 'sales_targets', ['owner_id', 'id'], unique=False)
    op.create_index('ix_sales_targets_year_month_id', 'sales_targets', ['year', 'month', 'id'], unique=False)
    op.create_index('uq_sales_targets_period_scope_metric_currency', 'sales_targets', ['period', 'scope_key', 'metric', 'currency'], unique=True)
    op.create_table('target_collections',
    sa.Column('payment_id', sa.String(length=36), nullable=False),
    sa.Column('order_id', sa.String(length=36), nullable=True),
    sa.Column('customer_id', sa.String(length=36), nullable=True),
    sa.Column('owner_id', sa.String(length=36), nullable=True),
    sa.Column('department_id', sa.String(length=36), nullable=True),
    sa.Column('amount', crm_kit.records.db.Money(precision=18, scale=2), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('collected_at', crm_kit.records.db.UtcDateTime(timezone=True), nullable=False),
    sa.Column('occurred_at', crm_kit.records.db.UtcDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('payment_id', name=op.f('pk_target_collections'))
    )
    op.create_index('ix_target_collections_collected_at', 'target_collections', ['collected_at'], unique=False)
    op.create_index('ix_target_collections_customer_id', 'target_collections', ['customer_id'], unique=False)
    op.create_index('ix_target_collections_department_id_collected_at', 'target_collections', ['department_id', 'collected_at'], unique=False)
    op.create_index('ix_target_collections_owner_id_collected_at', 'target_collections', ['owner_id', 'collected_at'], unique=False)
    op.create_table('contract_orders',
    sa.Column('contract_id', sa.String(length=36), nullable=False),
    sa.Column('order_id', sa.String(length=36), nullable=False),
    sa.ForeignKeyConstraint(['contract_id'], ['contracts.id'], name=op.f('fk_contract_orders_contract_id_contracts'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('contract_id', 'order_id', name=op.f('pk_contract_orders'))
    )
    op.create_index('ix_contract_orders_order_id', 'contract_orders', ['order_id'], unique=False)


def downgrade() -> None:
    """Downgrade schema."""
    op.drop_index('ix_contract_orders_order_id', table_name='contract_orders')
    op.drop_table('contract_orders')
    op.drop_index('ix_target_collections_owner_id_collected_at', table_name='target_collections')
    op.drop_index('ix_target_collections_department_id_collected_at', table_name='target_collections')
    op.drop_index('ix_target_collections_customer_id', table_name='target_collections')
    op.drop_index('ix_target_collections_collected_at', table_name='target_collections')
    op.drop_table('target_collections')
    op.drop_index('uq_sales_targets_period_scope_metric_currency', table_name='sales_targets')
    op.drop_index('ix_sales_targets_year_month_id', table_name='sales_targets')
    op.drop_index('ix_sales_targets_owner_id_id', table_name='sales_targets')
    op.drop_index('ix_sales_targets_department_id_id', table_name='sales_targets')
    op.drop_table('sales_targets')
    op.drop_table('sales_customer_refs')
    op.drop_index('uq_contracts_number', table_name='contracts')
    op.drop_index('ix_contracts_status_id', table_name='contracts')
    op.drop_index('ix_contracts_status_end_date', table_name='contracts')
    op.drop_index('ix_contracts_renews_contract_id', table_name='contracts')
    op.drop_index('ix_contracts_owner_id_id', table_name='contracts')
    op.drop_index('ix_contracts_department_id_id', table_name='contracts')
    op.drop_index('ix_contracts_customer_id_id', table_name='contracts')
    op.drop_table('contracts')
    op.drop_table('contract_counters')
