"""The public pools (公海): what a pool holds, who works it (members) and who runs it (admins), and
its rules. A customer is in a pool when ``customers.pool_id`` names it (and it has no owner)."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import JSON, Boolean, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from crm_kit.records.db import UtcDateTime, utcnow
from services.customers.models.base import Base


class CustomerPool(Base):
    """A public pool and its rules. Audited as ``customer_pool``.

    - claim limits: ``max_held`` (customers of this pool a member may hold at once),
      ``max_claims_per_day``, ``reclaim_cooldown_days`` (before a previous owner may claim it
      back), ``protection_days`` (a customer newly put in the pool cannot be claimed meanwhile);
    - ``recycle_rules``: a list, one per customer level (``level`` ``A``/``B``/``C``, or ``null``
      for any level), each ``{"level", "no_follow_up_days", "no_opportunity_days", "no_deal_days",
      "exempt_deals", "exempt_open_opportunities", "warning_days"}`` (``domain``);
      ``recycle_department_ids``: whose customers it recycles (their owner's department; empty:
      everyone's), ``priority`` orders pools that would take the same customer;
    - ``hidden_fields``: fields masked for pool members until they claim the customer;
    - ``return_reasons``: the reasons an owner may give when returning a customer here.
    """
    __tablename__ = "customer_pools"
    __audit_entity__ = "customer_pool"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str | None] = mapped_column(Text)
    claiming_enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    max_held: Mapped[int | None] = mapped_column(Integer)
    max_claims_per_day: Mapped[int | None] = mapped_column(Integer)
    reclaim_cooldown_days: Mapped[int] = mapped_column(Integer, default=0)
    protection_days: Mapped[int] = mapped_column(Integer, default=0)
    recycle_enabled: Mapped[bool] = mapped_column(Boolean, default=False)
    recycle_rules: Mapped[list] = mapped_column(JSON, default=list)
    recycle_department_ids: Mapped[list] = mapped_column(JSON, default=list)
    priority: Mapped[int] = mapped_column(Integer, default=0)
    hidden_fields: Mapped[list] = mapped_column(JSON, default=list)
    return_reasons: Mapped[list] = mapped_column(JSON, default=list)
    created_by: Mapped[str | None] = mapped_column(String(36))
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow, onupdate=utcnow)

    __mapper_args__ = {"version_id_col": version}
    __table_args__ = (Index("uq_customer_pools_name", "name", unique=True),)


class CustomerPoolUser(Base):
    """A pool's admins and members (one row per user and role), with the user's department."""
    __tablename__ = "customer_pool_users"
    __audited__ = False        # the pool's own audit entry names its members

    pool_id: Mapped[str] = mapped_column(ForeignKey("customer_pools.id", ondelete="CASCADE"), primary_key=True)
    user_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    role: Mapped[str] = mapped_column(String(10), primary_key=True)     # admin | member
    department_id: Mapped[str | None] = mapped_column(String(36))

    __table_args__ = (Index("ix_customer_pool_users_user_id_role", "user_id", "role"),)
