"""Quotes (报价) with their lines, and the quote number counters (one row per year).

A quote is owned (``owner_id``, ``department_id``: the data scopes read them) and comes from an
opportunity (``opportunity_id``; the customer's id as the opportunity has it). Its lines are priced
on the server (``application.pricing.unit_prices``) and keep what they were priced at (sku, name,
unit, price and the list that gave it); its totals follow ``domain.totals``. ``order_id`` is the
draft order an accepted quote became. Percentages are exact decimals (``Money``: two places),
quantities too (orders' ``Quantity``: three places, as an order line's).
"""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

from sqlalchemy import Date, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from crm_kit.records.db import Money, UtcDateTime, utcnow
from services.sales.models.base import Base
from services.sales.models.orders import Quantity  # exact, three places: as order lines


class Quote(Base):
    """A quote. Audited as ``quote`` (its lines as the field ``lines``)."""
    __tablename__ = "quotes"
    __audit_entity__ = "quote"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    number: Mapped[str] = mapped_column(String(20))
    opportunity_id: Mapped[str] = mapped_column(String(36))
    customer_id: Mapped[str] = mapped_column(String(36))
    owner_id: Mapped[str | None] = mapped_column(String(36))
    department_id: Mapped[str | None] = mapped_column(String(36))
    status: Mapped[str] = mapped_column(String(20), default="draft")
    currency: Mapped[str] = mapped_column(String(3), default="CNY")
    price_list_id: Mapped[str | None] = mapped_column(String(36))
    discount_percent: Mapped[Decimal] = mapped_column(Money, default=Decimal("0.00"))
    subtotal: Mapped[Decimal] = mapped_column(Money, default=Decimal("0.00"))
    discount_amount: Mapped[Decimal] = mapped_column(Money, default=Decimal("0.00"))
    total: Mapped[Decimal] = mapped_column(Money, default=Decimal("0.00"))
    valid_until: Mapped[dt.date] = mapped_column(Date)
    note: Mapped[str | None] = mapped_column(Text)
    decline_reason: Mapped[str | None] = mapped_column(Text)
    order_id: Mapped[str | None] = mapped_column(String(36))
    submitted_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    approved_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    closed_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)      # accepted, declined or expired
    created_by: Mapped[str | None] = mapped_column(String(36))
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow, onupdate=utcnow)

    lines: Mapped[list["QuoteLine"]] = relationship(
        back_populates="quote", order_by="QuoteLine.position", cascade="all, delete-orphan", lazy="selectin")

    __mapper_args__ = {"version_id_col": version}
    __table_args__ = (
        Index("uq_quotes_number", "number", unique=True),
        Index("ix_quotes_opportunity_id_id", "opportunity_id", "id"),
        Index("ix_quotes_customer_id_id", "customer_id", "id"),
        Index("ix_quotes_owner_id_id", "owner_id", "id"),
        Index("ix_quotes_department_id_id", "department_id", "id"),
        Index("ix_quotes_status_id", "status", "id"),
        Index("ix_quotes_status_valid_until", "status", "valid_until"),     # the expiry job
    )


class QuoteLine(Base):
    """A line of a quote, as priced (audited with its quote)."""
    __tablename__ = "quote_lines"
    __audited__ = False

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    quote_id: Mapped[str] = mapped_column(ForeignKey("quotes.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(Integer)
    product_id: Mapped[str] = mapped_column(String(36))
    sku: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(200))
    unit: Mapped[str] = mapped_column(String(20))
    quantity: Mapped[Decimal] = mapped_column(Quantity)
    unit_price: Mapped[Decimal] = mapped_column(Money)
    discount_percent: Mapped[Decimal] = mapped_column(Money, default=Decimal("0.00"))
    line_total: Mapped[Decimal] = mapped_column(Money)
    price_list_id: Mapped[str | None] = mapped_column(String(36))

    quote: Mapped[Quote] = relationship(back_populates="lines")

    __table_args__ = (
        Index("ix_quote_lines_quote_id_position", "quote_id", "position"),
        Index("ix_quote_lines_product_id", "product_id"),
    )


class QuoteNumberCounter(Base):
    """The last quote number given in a year (``QT-<year>-<value>``), taken inside the creating
    transaction (the row locked until it commits)."""
    __tablename__ = "quote_number_counters"
    __audited__ = False

    year: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    value: Mapped[int] = mapped_column(Integer, default=0)
