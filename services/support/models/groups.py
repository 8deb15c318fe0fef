"""Support groups, their agents and calendars, and the SLA policies.

- ``support_groups``: a named queue of tickets (``name`` unique), the department its tickets are
  counted in (managers of that department see them), and its business calendar (JSON in the shape
  of ``BusinessCalendar.describe()``: ``tz``, ``week``, ``holidays``, ``workdays``,
  ``workday_periods``; null: the default, Asia/Shanghai Monday to Friday 09:00-18:00);
- ``support_group_members``: who works a group (``role`` ``agent`` or ``lead``), with the skills
  routing reads (categories, products: JSON lists, empty = every one), capacity (open tickets),
  whether they take tickets now (``active``) and when they were last given one (round robin);
- ``sla_policies``: per priority (and optionally a customer level) the business minutes allowed
  for the first response, the resolution and the on-site arrival, and the warning fraction.
"""
from __future__ import annotations

import datetime as dt

from sqlalchemy import JSON, Boolean, Float, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from crm_kit.records.db import UtcDateTime, utcnow
from services.support.models.base import Base

__all__ = ["SupportGroup", "SupportGroupMember", "SlaPolicy"]


class SupportGroup(Base):
    """Audited as entity ``support_group``."""
    __tablename__ = "support_groups"
    __audit_entity__ = "support_group"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    department_id: Mapped[str | None] = mapped_column(String(36))
    calendar: Mapped[dict | None] = mapped_column(JSON)
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow, onupdate=utcnow)

    members: Mapped[list["SupportGroupMember"]] = relationship(
        cascade="all, delete-orphan", order_by="SupportGroupMember.user_id", lazy="selectin")

    __mapper_args__ = {"version_id_col": version}


class SupportGroupMember(Base):
    """An agent (or lead) of a group; audited as entity ``support_group_member``."""
    __tablename__ = "support_group_members"
    __audit_entity__ = "support_group_member"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    group_id: Mapped[str] = mapped_column(ForeignKey("support_groups.id", ondelete="CASCADE"))
    user_id: Mapped[str] = mapped_column(String(36))
    role: Mapped[str] = mapped_column(String(10), default="agent")
    categories: Mapped[list] = mapped_column(JSON, default=list)
    products: Mapped[list] = mapped_column(JSON, default=list)
    capacity: Mapped[int] = mapped_column(Integer, default=20)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    last_assigned_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)

    __table_args__ = (
        UniqueConstraint("group_id", "user_id", name="uq_support_group_members_user"),
        Index("ix_support_group_members_user_id", "user_id", "group_id"),
    )


class SlaPolicy(Base):
    """Audited as entity ``sla_policy``; one per priority and customer level (null: any level)."""
    __tablename__ = "sla_policies"
    __audit_entity__ = "sla_policy"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    priority: Mapped[str] = mapped_column(String(10))
    customer_level: Mapped[str | None] = mapped_column(String(10))
    first_response_minutes: Mapped[int | None] = mapped_column(Integer)
    resolution_minutes: Mapped[int | None] = mapped_column(Integer)
    arrival_minutes: Mapped[int | None] = mapped_column(Integer)
    warn_fraction: Mapped[float] = mapped_column(Float, default=0.8)
    updated_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow, onupdate=utcnow)

    __table_args__ = (UniqueConstraint("priority", "customer_level", name="uq_sla_policies_priority_level"),)
