"""Opportunities (商机) with their lines, team and stage history; pipelines; the opportunity settings
(lost reasons); and the kanban's running totals.

- ``pipelines``: a pipeline's open stages (JSON, in order; ``domain.pipelines``), one per department
  and one per kind (partial unique keys), exactly one the default;
- ``opportunity_settings``: one row, the configured lost reasons (the model's default until changed);
- ``opportunities``: scoped by owner, department and team (``opportunities_team``); ``amount`` is the
  total of its lines when it has any (server computed); ``closed_at`` when it was won, lost or
  declared invalid (never the ``expected_close_date``);
- ``opportunity_lines``: product, quantity, unit price (priced by ``application.pricing``), discount;
- ``opportunity_stage_changes``: every move (who, when, from, to, note): the funnel reads it;
- ``opportunity_stage_totals`` (Core table, kept by ``application.stage_totals``' flush hook): the
  count and amount of open opportunities per pipeline, stage, currency, owner and department, so the
  kanban reads a few hundred rows, not a million.
"""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

from sqlalchemy import JSON, Boolean, Column, Date, ForeignKey, Index, Integer, String, Table, Text, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from crm_kit.records.db import Money, UtcDateTime, utcnow
from crm_kit.records.teams import attach_team
from services.sales.models.base import Base
from services.sales.models.orders import Quantity  # exact quantities (the orders' type)

SETTINGS_ID = "default"
DEFAULT_LOST_REASONS = ["Price", "Lost to a competitor", "No budget", "No decision", "Other"]


def _partial(name: str, columns, where: str, unique: bool = False) -> Index:
    return Index(name, *columns, unique=unique, postgresql_where=text(where), sqlite_where=text(where))


class Pipeline(Base):
    """A pipeline (销售流程): its open stages ``[{key, name, probability}]`` in order. Audited as
    ``pipeline``."""
    __tablename__ = "pipelines"
    __audit_entity__ = "pipeline"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    department_id: Mapped[str | None] = mapped_column(String(36))
    kind: Mapped[str | None] = mapped_column(String(50))
    is_default: Mapped[bool] = mapped_column(Boolean, default=False)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    stages: Mapped[list] = mapped_column(JSON)
    created_by: Mapped[str | None] = mapped_column(String(36))
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow, onupdate=utcnow)

    __mapper_args__ = {"version_id_col": version}
    __table_args__ = (
        Index("uq_pipelines_name", "name", unique=True),
        _partial("uq_pipelines_department_id", ("department_id",), "department_id IS NOT NULL", unique=True),
        _partial("uq_pipelines_kind", ("kind",), "kind IS NOT NULL", unique=True),
        _partial("uq_pipelines_is_default", ("is_default",), "is_default", unique=True),
    )


class OpportunitySettings(Base):
    """The opportunity settings (one row): ``lost_reasons``, the list a lost opportunity's reason
    comes from. Audited as ``opportunity_settings``."""
    __tablename__ = "opportunity_settings"
    __audit_entity__ = "opportunity_settings"

    id: Mapped[str] = mapped_column(String(20), primary_key=True, default=SETTINGS_ID)
    lost_reasons: Mapped[list] = mapped_column(JSON, default=lambda: list(DEFAULT_LOST_REASONS))
    updated_by: Mapped[str | None] = mapped_column(String(36))
    version: Mapped[int] = mapped_column(Integer, default=1)
    updated_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow, onupdate=utcnow)

    __mapper_args__ = {"version_id_col": version}


class Opportunity(Base):
    """An opportunity (商机). Audited as ``opportunity``; scoped by owner, department and team.
    ``customer_id`` is NULL only for one made from a conversion recorded before the pipeline
    existed whose customer sales has not heard of (its owner sets it)."""
    __tablename__ = "opportunities"
    __audit_entity__ = "opportunity"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    customer_id: Mapped[str | None] = mapped_column(String(36))
    contact_ids: Mapped[list] = mapped_column(JSON, default=list)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str | None] = mapped_column(String(50))
    source: Mapped[str | None] = mapped_column(String(20))
    budget: Mapped[Decimal | None] = mapped_column(Money)
    amount: Mapped[Decimal] = mapped_column(Money, default=Decimal("0.00"))
    currency: Mapped[str] = mapped_column(String(3), default="CNY")
    price_list_id: Mapped[str | None] = mapped_column(String(36))
    expected_close_date: Mapped[dt.date | None] = mapped_column(Date)
    decision_date: Mapped[dt.date | None] = mapped_column(Date)
    description: Mapped[str | None] = mapped_column(Text)
    pipeline_id: Mapped[str] = mapped_column(ForeignKey("pipelines.id"))
    stage: Mapped[str] = mapped_column(String(50))
    probability: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(20), default="open")     # open | won | lost | invalid
    stage_changed_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)
    closed_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    lost_reason: Mapped[str | None] = mapped_column(String(200))
    owner_id: Mapped[str | None] = mapped_column(String(36))
    department_id: Mapped[str | None] = mapped_column(String(36))
    source_lead_id: Mapped[str | None] = mapped_column(String(36))
    created_by: Mapped[str | None] = mapped_column(String(36))
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow, onupdate=utcnow)

    lines: Mapped[list["OpportunityLine"]] = relationship(
        cascade="all, delete-orphan", order_by="OpportunityLine.position")     # (loaded when read: lists have none)

    __mapper_args__ = {"version_id_col": version}
    __table_args__ = (
        Index("ix_opportunities_owner_id_id", "owner_id", "id"),
        Index("ix_opportunities_department_id_id", "department_id", "id"),
        Index("ix_opportunities_customer_id_status_id", "customer_id", "status", "id"),
        Index("ix_opportunities_pipeline_id_stage_id", "pipeline_id", "stage", "id"),
        Index("ix_opportunities_status_id", "status", "id"),
        Index("ix_opportunities_stage_id", "stage", "id"),
        Index("ix_opportunities_expected_close_date_id", "expected_close_date", "id"),
        _partial("uq_opportunities_source_lead_id", ("source_lead_id",), "source_lead_id IS NOT NULL",
                 unique=True),
    )


opportunity_team = attach_team(Opportunity)


class OpportunityLine(Base):
    """A product line of an opportunity (its ``product_id`` is the products subject's: no FK)."""
    __tablename__ = "opportunity_lines"
    __audited__ = False

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    opportunity_id: Mapped[str] = mapped_column(ForeignKey("opportunities.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(Integer)
    product_id: Mapped[str] = mapped_column(String(36))
    sku: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(200))
    unit: Mapped[str] = mapped_column(String(20))
    quantity: Mapped[Decimal] = mapped_column(Quantity)
    unit_price: Mapped[Decimal] = mapped_column(Money)
    discount_percent: Mapped[Decimal] = mapped_column(Money, default=Decimal("0.00"))
    total: Mapped[Decimal] = mapped_column(Money)
    price_list_id: Mapped[str | None] = mapped_column(String(36))

    __table_args__ = (
        Index("ix_opportunity_lines_opportunity_id_position", "opportunity_id", "position"),
        Index("ix_opportunity_lines_product_id", "product_id"),
    )


class OpportunityStageChange(Base):
    """One move of an opportunity (created, a move, a close, a reopen): the stage history."""
    __tablename__ = "opportunity_stage_changes"
    __audited__ = False

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    opportunity_id: Mapped[str] = mapped_column(ForeignKey("opportunities.id", ondelete="CASCADE"))
    action: Mapped[str] = mapped_column(String(20))     # created | forward | backward | won | lost | invalid | reopen
    from_stage: Mapped[str | None] = mapped_column(String(50))
    to_stage: Mapped[str] = mapped_column(String(50))
    from_status: Mapped[str | None] = mapped_column(String(20))
    to_status: Mapped[str] = mapped_column(String(20))
    probability: Mapped[int] = mapped_column(Integer)
    note: Mapped[str | None] = mapped_column(Text)
    lost_reason: Mapped[str | None] = mapped_column(String(200))
    changed_by: Mapped[str | None] = mapped_column(String(36))
    changed_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)

    __table_args__ = (
        Index("ix_opportunity_stage_changes_opportunity_id_changed_at", "opportunity_id", "changed_at", "id"),
        Index("ix_opportunity_stage_changes_changed_at", "changed_at"),
    )


# The kanban's running totals (no owner of its own: '' stands for no owner / no department).
opportunity_stage_totals = Table(
    "opportunity_stage_totals", Base.metadata,
    Column("pipeline_id", String(36), primary_key=True),
    Column("stage", String(50), primary_key=True),
    Column("currency", String(3), primary_key=True),
    Column("owner_id", String(36), primary_key=True),
    Column("department_id", String(36), primary_key=True),
    Column("opportunity_count", Integer, nullable=False),
    Column("amount", Money, nullable=False),
    Index("ix_opportunity_stage_totals_owner_id", "owner_id"),
    Index("ix_opportunity_stage_totals_department_id", "department_id"),
)
