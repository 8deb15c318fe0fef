"""opportunities: pipelines (the default one seeded), opportunity settings, opportunities with their lines,
team and stage history, the kanban's running totals; opportunity_requests become the join of a lead
conversion's two events, and the requests recorded before become opportunities

Data: the default pipeline (``domain.pipelines.DEFAULT_STAGES``, its fixed id) is inserted; every request
``recorded`` before this revision (a conversion that asked for an opportunity) becomes an open opportunity
in the default pipeline's first stage, owned by the lead's owner, with its stage history's first entry and
its place in the running totals; its customer is unknown to sales then (``customer_id`` NULL: the owner
sets it, or customers' ``customer_converted_from_lead`` does should it come). No event is raised for them
(a migration writes no outbox): they were announced by ``lead_converted`` already.

Revision ID: sales0005
Revises: sales0004
Create Date: 2026-12-10 12:00:00.000000

"""
import datetime as dt
import uuid
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

import crm_kit.records.db
from services.sales.models.orders import Quantity

# revision identifiers, used by Alembic.
revision: str = 'sales0005'
down_revision: Union[str, Sequence[str], None] = 'sales0004'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

_money = crm_kit.records.db.Money(precision=18, scale=2)
_time = crm_kit.records.db.UtcDateTime(timezone=True)
DEFAULT_PIPELINE_ID = "00000000-0000-7000-8000-00000000a001"
DEFAULT_STAGES = [
    {"key": "qualification", "name": "Qualification", "probability": 10},
    {"key": "needs_analysis", "name": "Needs analysis", "probability": 30},
    {"key": "proposal", "name": "Proposal", "probability": 50},
    {"key": "negotiation", "name": "Negotiation", "probability": 70},
]


def _where(sql: str) -> dict:
    return {"postgresql_where": sa.text(sql), "sqlite_where": sa.text(sql)}


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table('pipelines',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('department_id', sa.String(length=36), nullable=True),
    sa.Column('kind', sa.String(length=50), nullable=True),
    sa.Column('is_default', sa.Boolean(), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('stages', sa.JSON(), nullable=False),
    sa.Column('created_by', sa.String(length=36), nullable=True),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('created_at', _time, nullable=False),
    sa.Column('updated_at', _time, nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_pipelines'))
    )
    with op.batch_alter_table('pipelines', schema=None) as batch_op:
        batch_op.create_index('uq_pipelines_name', ['name'], unique=True)
        batch_op.create_index('uq_pipelines_department_id', ['department_id'], unique=True,
                              **_where('department_id IS NOT NULL'))
        batch_op.create_index('uq_pipelines_kind', ['kind'], unique=True, **_where('kind IS NOT NULL'))
        batch_op.create_index('uq_pipelines_is_default', ['is_default'], unique=True, **_where('is_default'))

    op.create_table('opportunity_settings',
    sa.Column('id', sa.String(length=20), nullable=False),
    sa.Column('lost_reasons', sa.JSON(), nullable=False),
    sa.Column('updated_by', sa.String(length=36), nullable=True),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('updated_at', _time, nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_opportunity_settings'))
    )

    op.create_table('opportunities',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('customer_id', sa.String(length=36), nullable=True),
    sa.Column('contact_ids', sa.JSON(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('kind', sa.String(length=50), nullable=True),
    sa.Column('source', sa.String(length=20), nullable=True),
    sa.Column('budget', _money, nullable=True),
    sa.Column('amount', _money, nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('price_list_id', sa.String(length=36), nullable=True),
    sa.Column('expected_close_date', sa.Date(), nullable=True),
    sa.Column('decision_date', sa.Date(), nullable=True),
    sa.Column('description', sa.Text(), nullable=True),
    sa.Column('pipeline_id', sa.String(length=36), nullable=False),
    sa.Column('stage', sa.String(length=50), nullable=False),
    sa.Column('probability', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('stage_changed_at', _time, nullable=False),
    sa.Column('closed_at', _time, nullable=True),
    sa.Column('lost_reason', sa.String(length=200), nullable=True),
    sa.Column('owner_id', sa.String(length=36), nullable=True),
    sa.Column('department_id', sa.String(length=36), nullable=True),
    sa.Column('source_lead_id', sa.String(length=36), nullable=True),
    sa.Column('created_by', sa.String(length=36), nullable=True),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('created_at', _time, nullable=False),
    sa.Column('updated_at', _time, nullable=False),
    sa.ForeignKeyConstraint(['pipeline_id'], ['pipelines.id'], name=op.f('fk_opportunities_pipeline_id_pipelines')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_opportunities'))
    )
    with op.batch_alter_table('opportunities', schema=None) as batch_op:
        batch_op.create_index('ix_opportunities_owner_id_id', ['owner_id', 'id'], unique=False)
        batch_op.create_index('ix_opportunities_department_id_id', ['department_id', 'id'], unique=False)
        batch_op.create_index('ix_opportunities_customer_id_status_id', ['customer_id', 'status', 'id'],
                              unique=False)
        batch_op.create_index('ix_opportunities_pipeline_id_stage_id', ['pipeline_id', 'stage', 'id'], unique=False)
        batch_op.create_index('ix_opportunities_status_id', ['status', 'id'], unique=False)
        batch_op.create_index('ix_opportunities_stage_id', ['stage', 'id'], unique=False)
        batch_op.create_index('ix_opportunities_expected_close_date_id', ['expected_close_date', 'id'], unique=False)
        batch_op.create_index('uq_opportunities_source_lead_id', ['source_lead_id'], unique=True,
                              **_where('source_lead_id IS NOT NULL'))

    op.create_table('opportunities_team',
    sa.Column('record_id', sa.String(length=36), nullable=False),
    sa.Column('user_id', sa.String(length=36), nullable=False),
    sa.Column('access', sa.String(length=20), nullable=False),
    sa.Column('granted_by', sa.String(length=36), nullable=True),
    sa.Column('granted_at', _time, nullable=False),
    sa.Column('expires_at', _time, nullable=True),
    sa.CheckConstraint("access IN ('read', 'read_write')", name=op.f('ck_opportunities_team_access')),
    sa.ForeignKeyConstraint(['record_id'], ['opportunities.id'],
                            name=op.f('fk_opportunities_team_record_id_opportunities'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('record_id', 'user_id', name=op.f('pk_opportunities_team'))
    )
    with op.batch_alter_table('opportunities_team', schema=None) as batch_op:
        batch_op.create_index('ix_opportunities_team_user_id', ['user_id'], unique=False)

    op.create_table('opportunity_lines',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('opportunity_id', sa.String(length=36), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('product_id', sa.String(length=36), nullable=False),
    sa.Column('sku', sa.String(length=64), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('unit', sa.String(length=20), nullable=False),
    sa.Column('quantity', Quantity(precision=18, scale=3), nullable=False),
    sa.Column('unit_price', _money, nullable=False),
    sa.Column('discount_percent', _money, nullable=False),
    sa.Column('total', _money, nullable=False),
    sa.Column('price_list_id', sa.String(length=36), nullable=True),
    sa.ForeignKeyConstraint(['opportunity_id'], ['opportunities.id'],
                            name=op.f('fk_opportunity_lines_opportunity_id_opportunities'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_opportunity_lines'))
    )
    with op.batch_alter_table('opportunity_lines', schema=None) as batch_op:
        batch_op.create_index('ix_opportunity_lines_opportunity_id_position', ['opportunity_id', 'position'],
                              unique=False)
        batch_op.create_index('ix_opportunity_lines_product_id', ['product_id'], unique=False)

    op.create_table('opportunity_stage_changes',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('opportunity_id', sa.String(length=36), nullable=False),
    sa.Column('action', sa.String(length=20), nullable=False),
    sa.Column('from_stage', sa.String(length=50), nullable=True),
    sa.Column('to_stage', sa.String(length=50), nullable=False),
    sa.Column('from_status', sa.String(length=20), nullable=True),
    sa.Column('to_status', sa.String(length=20), nullable=False),
    sa.Column('probability', sa.Integer(), nullable=False),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('lost_reason', sa.String(length=200), nullable=True),
    sa.Column('changed_by', sa.String(length=36), nullable=True),
    sa.Column('changed_at', _time, nullable=False),
    sa.ForeignKeyConstraint(['opportunity_id'], ['opportunities.id'],
                            name=op.f('fk_opportunity_stage_changes_opportunity_id_opportunities'),
                            ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_opportunity_stage_changes'))
    )
    with op.batch_alter_table('opportunity_stage_changes', schema=None) as batch_op:
        batch_op.create_index('ix_opportunity_stage_changes_opportunity_id_changed_at',
                              ['opportunity_id', 'changed_at', 'id'], unique=False)
        batch_op.create_index('ix_opportunity_stage_changes_changed_at', ['changed_at'], unique=False)

    op.create_table('opportunity_stage_totals',
    sa.Column('pipeline_id', sa.String(length=36), nullable=False),
    sa.Column('stage', sa.String(length=50), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('owner_id', sa.String(length=36), nullable=False),
    sa.Column('department_id', sa.String(length=36), nullable=False),
    sa.Column('opportunity_count', sa.Integer(), nullable=False),
    sa.Column('amount', _money, nullable=False),
    sa.PrimaryKeyConstraint('pipeline_id', 'stage', 'currency', 'owner_id', 'department_id',
                            name=op.f('pk_opportunity_stage_totals'))
    )
    with op.batch_alter_table('opportunity_stage_totals', schema=None) as batch_op:
        batch_op.create_index('ix_opportunity_stage_totals_owner_id', ['owner_id'], unique=False)
        batch_op.create_index('ix_opportunity_stage_totals_department_id', ['department_id'], unique=False)

    with op.batch_alter_table('opportunity_requests', schema=None) as batch_op:
        batch_op.alter_column('name', existing_type=sa.String(length=200), nullable=True)
        batch_op.alter_column('amount', existing_type=_money, nullable=True)
        batch_op.add_column(sa.Column('customer_id', sa.String(length=36), nullable=True))
        batch_op.add_column(sa.Column('contact_id', sa.String(length=36), nullable=True))
        batch_op.add_column(sa.Column('opportunity_id', sa.String(length=36), nullable=True))

    _seed_and_convert()


def _uuid7() -> str:
    """A time-ordered id (as ``crm_kit.ids.new_id``), without importing the application."""
    ms = int(dt.datetime.now(dt.timezone.utc).timestamp() * 1000)
    raw = bytearray(uuid.uuid4().bytes)
    raw[0:6] = ms.to_bytes(6, "big")
    raw[6] = (raw[6] & 0x0F) | 0x70
    raw[8] = (raw[8] & 0x3F) | 0x80
    return str(uuid.UUID(bytes=bytes(raw)))


def _seed_and_convert() -> None:
    bind = op.get_bind()
    meta = sa.MetaData()
    pipelines = sa.Table('pipelines', meta, sa.Column('id', sa.String), sa.Column('name', sa.String),
                         sa.Column('is_default', sa.Boolean), sa.Column('active', sa.Boolean),
                         sa.Column('stages', sa.JSON), sa.Column('version', sa.Integer),
                         sa.Column('created_at', _time), sa.Column('updated_at', _time))
    requests = sa.Table('opportunity_requests', meta, sa.Column('id', sa.String), sa.Column('lead_id', sa.String),
                        sa.Column('name', sa.String), sa.Column('amount', _money),
                        sa.Column('expected_close_date', sa.Date), sa.Column('lead_owner_id', sa.String),
                        sa.Column('lead_department_id', sa.String), sa.Column('status', sa.String),
                        sa.Column('opportunity_id', sa.String), sa.Column('requested_at', _time))
    opportunities = sa.Table('opportunities', meta, *(sa.Column(n, t) for n, t in (
        ('id', sa.String), ('customer_id', sa.String), ('contact_ids', sa.JSON), ('name', sa.String),
        ('source', sa.String), ('amount', _money), ('currency', sa.String), ('expected_close_date', sa.Date),
        ('pipeline_id', sa.String), ('stage', sa.String), ('probability', sa.Integer), ('status', sa.String),
        ('stage_changed_at', _time), ('owner_id', sa.String), ('department_id', sa.String),
        ('source_lead_id', sa.String), ('version', sa.Integer), ('created_at', _time), ('updated_at', _time))))
    changes = sa.Table('opportunity_stage_changes', meta, *(sa.Column(n, t) for n, t in (
        ('id', sa.String), ('opportunity_id', sa.String), ('action', sa.String), ('to_stage', sa.String),
        ('to_status', sa.String), ('probability', sa.Integer), ('note', sa.Text), ('changed_at', _time))))
    totals = sa.Table('opportunity_stage_totals', meta, *(sa.Column(n, t) for n, t in (
        ('pipeline_id', sa.String), ('stage', sa.String), ('currency', sa.String), ('owner_id', sa.String),
        ('department_id', sa.String), ('opportunity_count', sa.Integer), ('amount', _money))))
    now = dt.datetime.now(dt.timezone.utc)
    bind.execute(pipelines.insert().values(id=DEFAULT_PIPELINE_ID, name="Default", is_default=True, active=True,
                                           stages=DEFAULT_STAGES, version=1, created_at=now, updated_at=now))
    first = DEFAULT_STAGES[0]
    sums: dict = {}
    for row in bind.execute(sa.select(requests).where(requests.c.status == 'recorded')).all():
        ident = _uuid7()
        bind.execute(opportunities.insert().values(
            id=ident, customer_id=None, contact_ids=[], name=row.name, source='lead', amount=row.amount,
            currency='CNY', expected_close_date=row.expected_close_date, pipeline_id=DEFAULT_PIPELINE_ID,
            stage=first["key"], probability=first["probability"], status='open', stage_changed_at=now,
            owner_id=row.lead_owner_id, department_id=row.lead_department_id, source_lead_id=row.lead_id,
            version=1, created_at=row.requested_at or now, updated_at=now))
        bind.execute(changes.insert().values(
            id=_uuid7(), opportunity_id=ident, action='created', to_stage=first["key"], to_status='open',
            probability=first["probability"], note='Created from a lead conversion.', changed_at=now))
        bind.execute(requests.update().where(requests.c.id == row.id).values(status='created', opportunity_id=ident))
        key = (row.lead_owner_id or '', row.lead_department_id or '')
        count, amount = sums.get(key, (0, 0))
        sums[key] = (count + 1, amount + (row.amount or 0))
    for (owner, department), (count, amount) in sorted(sums.items()):
        bind.execute(totals.insert().values(pipeline_id=DEFAULT_PIPELINE_ID, stage=first["key"], currency='CNY',
                                            owner_id=owner, department_id=department, opportunity_count=count,
                                            amount=amount))


def downgrade() -> None:
    """Downgrade schema (the opportunities made from recorded requests go; the requests stay, recorded)."""
    op.execute("UPDATE opportunity_requests SET status = 'recorded', opportunity_id = NULL WHERE status = 'created'")
    op.execute("DELETE FROM opportunity_requests WHERE name IS NULL OR amount IS NULL")
    with op.batch_alter_table('opportunity_requests', schema=None) as batch_op:
        batch_op.drop_column('opportunity_id')
        batch_op.drop_column('contact_id')
        batch_op.drop_column('customer_id')
        batch_op.alter_column('amount', existing_type=_money, nullable=False)
        batch_op.alter_column('name', existing_type=sa.String(length=200), nullable=False)
    op.drop_table('opportunity_stage_totals')
    op.drop_table('opportunity_stage_changes')
    op.drop_table('opportunity_lines')
    op.drop_table('opportunities_team')
    op.drop_table('opportunities')
    op.drop_table('opportunity_settings')
    op.drop_table('pipelines')
