"""Orders as billing has heard of their owners (``order_approved``, ``order_owner_changed``).

- ``billing_order_refs``: per order, the newest owner fact heard (its approval, or an owner change)
  and when it happened (``owner_changed_at``: the event's ``occurred_at``), so an older change heard
  after a newer one does not win, and a change heard before its order's approval is not lost.
"""
from __future__ import annotations

import datetime as dt

from sqlalchemy import Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from crm_kit.records.db import UtcDateTime
from services.billing.models.base import Base

__all__ = ["BillingOrderRef"]


class BillingOrderRef(Base):
    """Not audited: the receivables and payments that moved carry their own entries."""
    __tablename__ = "billing_order_refs"
    __audited__ = False

    order_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    owner_id: Mapped[str | None] = mapped_column(String(36))
    department_id: Mapped[str | None] = mapped_column(String(36))
    owner_changed_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    recorded_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)      # last written
    version: Mapped[int] = mapped_column(Integer, default=1)

    __mapper_args__ = {"version_id_col": version}
