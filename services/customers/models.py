"""Customers' tables (its own database)."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

from sqlalchemy import JSON, Boolean, Date, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from crm_kit.records.db import Money, UtcDateTime, make_base, utcnow
from crm_kit.records.teams import attach_team

Base = make_base()


class Customer(Base):
    """Audited as entity ``customer``; scoped by owner, department and team."""
    __tablename__ = "customers"
    __audit_entity__ = "customer"
    __audit_exclude__ = ("name_key",)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    name_key: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(20), default="company")
    industry: Mapped[str | None] = mapped_column(String(100))
    size: Mapped[str | None] = mapped_column(String(50))
    level: Mapped[str | None] = mapped_column(String(1))
    region: Mapped[str | None] = mapped_column(String(100))
    address: Mapped[str | None] = mapped_column(Text)
    tags: Mapped[list] = mapped_column(JSON, default=list)
    owner_id: Mapped[str | None] = mapped_column(String(36))
    department_id: Mapped[str | None] = mapped_column(String(36))
    pool_id: Mapped[str | None] = mapped_column(String(36))
    deal_status: Mapped[str] = mapped_column(String(20), default="prospect")
    follow_stage: Mapped[str | None] = mapped_column(String(50))
    claim_count: Mapped[int] = mapped_column(Integer, default=0)
    last_followed_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    source_lead_id: Mapped[str | None] = mapped_column(String(36), unique=True)
    source_campaign_id: Mapped[str | None] = mapped_column(String(36))
    opportunity_total: Mapped[Decimal] = mapped_column(Money, default=Decimal("0.00"))
    order_total: Mapped[Decimal] = mapped_column(Money, default=Decimal("0.00"))
    paid_total: Mapped[Decimal] = mapped_column(Money, default=Decimal("0.00"))
    created_by: Mapped[str | None] = mapped_column(String(36))
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow, onupdate=utcnow)

    contacts: Mapped[list["Contact"]] = relationship(back_populates="customer", order_by="Contact.id")

    __mapper_args__ = {"version_id_col": version}
    __table_args__ = (
        Index("ix_customers_name_key", "name_key"),
        Index("ix_customers_owner_id_id", "owner_id", "id"),
        Index("ix_customers_department_id_id", "department_id", "id"),
    )


class Contact(Base):
    """Audited as entity ``contact``. A contact is visible and writable exactly when its
    customer is (``__scope_parent__``); its owner/department are copies for reporting."""
    __tablename__ = "contacts"
    __audit_entity__ = "contact"
    __audit_exclude__ = ("phone_key",)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    customer_id: Mapped[str] = mapped_column(ForeignKey("customers.id"))
    name: Mapped[str] = mapped_column(String(200))
    title: Mapped[str | None] = mapped_column(String(100))
    phone: Mapped[str | None] = mapped_column(String(40))
    phone_key: Mapped[str | None] = mapped_column(String(40))
    email: Mapped[str | None] = mapped_column(String(254))
    birthday: Mapped[dt.date | None] = mapped_column(Date)
    is_primary: Mapped[bool] = mapped_column(Boolean, default=False)
    owner_id: Mapped[str | None] = mapped_column(String(36))
    department_id: Mapped[str | None] = mapped_column(String(36))
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow, onupdate=utcnow)

    customer: Mapped[Customer] = relationship(back_populates="contacts")

    __mapper_args__ = {"version_id_col": version}
    __table_args__ = (
        Index("ix_contacts_customer_id", "customer_id"),
        Index("ix_contacts_phone_key", "phone_key"),
    )


# Users the customer is shared with (read / read_write); contacts inherit it.
customer_team = attach_team(Customer)
Contact.__scope_parent__ = (Contact.customer_id, Customer)
