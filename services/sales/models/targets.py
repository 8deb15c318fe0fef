"""Sales targets and the facts their attainment is made of.

- ``sales_targets``: a target for a period (``year``, ``month`` null for the whole year; ``period``
  ``2026`` / ``2026-03``), a scope (``company`` / ``department`` / ``user``: ``scope_key``), a
  metric (``order_amount`` / ``collected_amount``) and a currency, unique on those four. ``owner_id``
  is the person of a personal target and ``department_id`` the department of a department's target
  or of the person (the data scopes read them);
- ``target_collections``: the payments collected, one row per payment, kept from billing's events
  (newest fact first: ``occurred_at``) -- the collected amount of the targets. Billing publishes no
  payment event yet: the table and its use case (``record_collection``) are ready for it.

Order amounts come from sales' own ``orders`` table (approved orders), not from a copy.
"""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

from sqlalchemy import Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from crm_kit.records.db import Money, UtcDateTime, utcnow
from services.sales.models.base import Base


class SalesTarget(Base):
    """A sales target. Audited as ``sales_target``."""
    __tablename__ = "sales_targets"
    __audit_entity__ = "sales_target"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    year: Mapped[int] = mapped_column(Integer)
    month: Mapped[int | None] = mapped_column(Integer)
    period: Mapped[str] = mapped_column(String(7))
    scope: Mapped[str] = mapped_column(String(20))
    scope_key: Mapped[str] = mapped_column(String(60))
    owner_id: Mapped[str | None] = mapped_column(String(36))          # the person (scope user)
    department_id: Mapped[str | None] = mapped_column(String(36))
    metric: Mapped[str] = mapped_column(String(20))
    currency: Mapped[str] = mapped_column(String(3), default="CNY")
    amount: Mapped[Decimal] = mapped_column(Money)
    note: Mapped[str | None] = mapped_column(Text)
    created_by: Mapped[str | None] = mapped_column(String(36))
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow, onupdate=utcnow)

    __mapper_args__ = {"version_id_col": version}
    __table_args__ = (
        Index("uq_sales_targets_period_scope_metric_currency", "period", "scope_key", "metric", "currency",
              unique=True),
        Index("ix_sales_targets_year_month_id", "year", "month", "id"),
        Index("ix_sales_targets_owner_id_id", "owner_id", "id"),
        Index("ix_sales_targets_department_id_id", "department_id", "id"),
    )


class TargetCollection(Base):
    """A payment collected (from billing's events): who it counts for, how much, when. Not audited:
    a copy of another context's fact."""
    __tablename__ = "target_collections"
    __audited__ = False

    payment_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    order_id: Mapped[str | None] = mapped_column(String(36))
    customer_id: Mapped[str | None] = mapped_column(String(36))
    owner_id: Mapped[str | None] = mapped_column(String(36))
    department_id: Mapped[str | None] = mapped_column(String(36))
    amount: Mapped[Decimal] = mapped_column(Money)
    currency: Mapped[str] = mapped_column(String(3))
    status: Mapped[str] = mapped_column(String(20))            # confirmed | reversed
    collected_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    occurred_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)

    __table_args__ = (
        Index("ix_target_collections_collected_at", "collected_at"),
        Index("ix_target_collections_owner_id_collected_at", "owner_id", "collected_at"),
        Index("ix_target_collections_department_id_collected_at", "department_id", "collected_at"),
        Index("ix_target_collections_customer_id", "customer_id"),
    )
