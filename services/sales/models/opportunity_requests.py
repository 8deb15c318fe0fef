"""The opportunities asked for by lead conversions before the pipeline existed."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

from sqlalchemy import Date, String
from sqlalchemy.orm import Mapped, mapped_column

from crm_kit.records.db import Money, UtcDateTime, utcnow
from services.sales.models.base import Base


class OpportunityRequest(Base):
    """An opportunity asked for when a lead was converted. Sales records every request
    now, so none is lost before the opportunity pipeline exists; the sales issue turns
    them into opportunities (and ``status`` then says which)."""
    __tablename__ = "opportunity_requests"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    lead_id: Mapped[str] = mapped_column(String(36), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    amount: Mapped[Decimal] = mapped_column(Money)
    expected_close_date: Mapped[dt.date | None] = mapped_column(Date)
    lead_owner_id: Mapped[str | None] = mapped_column(String(36))  # the lead's owner at conversion
    lead_department_id: Mapped[str | None] = mapped_column(String(36))
    status: Mapped[str] = mapped_column(String(20), default="recorded")
    requested_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)
