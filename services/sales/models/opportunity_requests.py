"""The opportunities lead conversions ask for: one row per converted lead, where the two events
that make the opportunity meet (leads' ``lead_converted``: what was asked; customers'
``customer_converted_from_lead``: the customer it became), whichever comes first."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

from sqlalchemy import Date, String
from sqlalchemy.orm import Mapped, mapped_column

from crm_kit.records.db import Money, UtcDateTime, utcnow
from services.sales.models.base import Base

# status: recorded (asked; waiting for the customer) | awaiting_lead (the customer is known, the
# conversion not yet) | created (``opportunity_id``) | not_asked (the conversion asked for none)
REQUEST_STATUSES = ("recorded", "awaiting_lead", "created", "not_asked")


class OpportunityRequest(Base):
    """A converted lead as sales heard of it. ``name`` and ``amount`` are NULL until the conversion
    arrives (``awaiting_lead``) and when it asked for no opportunity; ``customer_id`` NULL until the
    customer's answer arrives. Rows recorded before the pipeline existed became opportunities in
    revision ``sales0005`` (``created``)."""
    __tablename__ = "opportunity_requests"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    lead_id: Mapped[str] = mapped_column(String(36), unique=True)
    name: Mapped[str | None] = mapped_column(String(200))
    amount: Mapped[Decimal | None] = mapped_column(Money)
    expected_close_date: Mapped[dt.date | None] = mapped_column(Date)
    lead_owner_id: Mapped[str | None] = mapped_column(String(36))  # the lead's owner at conversion
    lead_department_id: Mapped[str | None] = mapped_column(String(36))
    customer_id: Mapped[str | None] = mapped_column(String(36))
    contact_id: Mapped[str | None] = mapped_column(String(36))
    opportunity_id: Mapped[str | None] = mapped_column(String(36))
    status: Mapped[str] = mapped_column(String(20), default="recorded")
    requested_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)
