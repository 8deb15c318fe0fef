"""Products (产品), price lists and their prices.

- ``products``: the catalogue; ``unit_price`` in ``currency`` is the price when no price list
  gives one. ``sku`` is unique; ``name_key`` (``crm_kit.records.text.normalize_name``) is the name's
  case- and space-insensitive key the ``q`` prefix filter reads.
- ``price_lists``: a named list in one currency, active or not, valid from / to (dates, inclusive,
  open when empty);
- ``price_list_prices``: a product's price in a list, itself valid from / to (inclusive, open
  when empty). Which row applies on a date is ``services.sales.domain.pricing``'s rule.
"""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

from sqlalchemy import Boolean, Date, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from crm_kit.records.db import Money, UtcDateTime, utcnow
from services.sales.models.base import Base


class Product(Base):
    """A product of the catalogue. Audited as ``product``."""
    __tablename__ = "products"
    __audit_entity__ = "product"
    __audit_exclude__ = ("name_key",)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    sku: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(200))
    name_key: Mapped[str] = mapped_column(String(200))
    category: Mapped[str | None] = mapped_column(String(100))
    unit: Mapped[str] = mapped_column(String(20), default="unit")
    unit_price: Mapped[Decimal] = mapped_column(Money)
    currency: Mapped[str] = mapped_column(String(3), default="CNY")
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    description: Mapped[str | None] = mapped_column(Text)
    created_by: Mapped[str | None] = mapped_column(String(36))
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow, onupdate=utcnow)

    __mapper_args__ = {"version_id_col": version}
    __table_args__ = (
        Index("uq_products_sku", "sku", unique=True,
              postgresql_ops={"sku": "text_pattern_ops"}),
        Index("ix_products_name_key", "name_key", postgresql_ops={"name_key": "text_pattern_ops"}),
        Index("ix_products_active_id", "active", "id"),
        Index("ix_products_category_id", "category", "id"),
    )


class PriceList(Base):
    """A price list (价目表) in one currency. Audited as ``price_list``."""
    __tablename__ = "price_lists"
    __audit_entity__ = "price_list"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    currency: Mapped[str] = mapped_column(String(3), default="CNY")
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    valid_from: Mapped[dt.date | None] = mapped_column(Date)
    valid_to: Mapped[dt.date | None] = mapped_column(Date)
    description: Mapped[str | None] = mapped_column(Text)
    created_by: Mapped[str | None] = mapped_column(String(36))
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow, onupdate=utcnow)

    __mapper_args__ = {"version_id_col": version}
    __table_args__ = (
        Index("uq_price_lists_name", "name", unique=True),
        Index("ix_price_lists_active_id", "active", "id"),
    )


class PriceListPrice(Base):
    """A product's price in a price list, valid from / to (inclusive; open when empty). Audited on
    its list (``prices``: the whole list before and after a change)."""
    __tablename__ = "price_list_prices"
    __audited__ = False

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    price_list_id: Mapped[str] = mapped_column(ForeignKey("price_lists.id", ondelete="CASCADE"))
    product_id: Mapped[str] = mapped_column(ForeignKey("products.id", ondelete="CASCADE"))
    price: Mapped[Decimal] = mapped_column(Money)
    valid_from: Mapped[dt.date | None] = mapped_column(Date)
    valid_to: Mapped[dt.date | None] = mapped_column(Date)

    __table_args__ = (
        Index("ix_price_list_prices_price_list_id_product_id", "price_list_id", "product_id"),
        Index("ix_price_list_prices_product_id", "product_id"),
    )
