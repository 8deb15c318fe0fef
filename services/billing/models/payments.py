"""Payments (回款) under finance review, refunds (credit entries) and the numbering counters.

- ``payments``: numbered (``PAY-2026-000123``), against a receivable (its order and customer copied)
  and optionally one of its instalments; amount (in the receivable's currency), when it was paid,
  method, payer, an attachment reference (a receipt's id or URL in a document store: billing keeps
  no files), the reviewer asked, who decided and when, the rejection reason; owner and department
  are the receivable's (the data scopes); once confirmed its fields never change: a refund
  reverses it (``status`` ``reversed``, ``refund_id``);
- ``refunds``: one per reversed payment: numbered (``RF-2026-000007``), its amount, reason, reviewer
  (the finance user who made it), when;
- ``number_counters``: the last number taken per prefix and year (``domain.numbering``).
"""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

from sqlalchemy import ForeignKey, Index, Integer, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from crm_kit.records.db import Money, UtcDateTime, utcnow
from services.billing.domain import payments as rules
from services.billing.models.base import Base

__all__ = ["Payment", "Refund", "NumberCounter"]


class Payment(Base):
    """Audited as entity ``payment``; scoped by owner and department (and finance)."""
    __tablename__ = "payments"
    __audit_entity__ = "payment"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    number: Mapped[str] = mapped_column(String(30), unique=True)
    receivable_id: Mapped[str] = mapped_column(ForeignKey("receivables.id"))
    order_id: Mapped[str] = mapped_column(String(36))
    customer_id: Mapped[str] = mapped_column(String(36))
    instalment_id: Mapped[str | None] = mapped_column(String(36))
    owner_id: Mapped[str | None] = mapped_column(String(36))
    department_id: Mapped[str | None] = mapped_column(String(36))
    amount: Mapped[Decimal] = mapped_column(Money)
    currency: Mapped[str] = mapped_column(String(3))
    paid_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    method: Mapped[str] = mapped_column(String(20))
    payer: Mapped[str | None] = mapped_column(String(200))
    attachment_ref: Mapped[str | None] = mapped_column(String(500))
    notes: Mapped[str | None] = mapped_column(Text)
    reviewer_id: Mapped[str | None] = mapped_column(String(36))        # who is asked to review it
    status: Mapped[str] = mapped_column(String(20), default=rules.PENDING_REVIEW)
    submitted_by: Mapped[str | None] = mapped_column(String(36))
    reviewed_by: Mapped[str | None] = mapped_column(String(36))        # who decided
    reviewed_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    rejected_reason: Mapped[str | None] = mapped_column(Text)
    refund_id: Mapped[str | None] = mapped_column(String(36))
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow, onupdate=utcnow)

    refund: Mapped["Refund | None"] = relationship(uselist=False, lazy="selectin", viewonly=True)

    @property
    def allowed_actions(self) -> list[str]:
        return rules.allowed_actions(self.status)

    __mapper_args__ = {"version_id_col": version}
    __table_args__ = (
        Index("ix_payments_receivable_id_id", "receivable_id", "id"),
        Index("ix_payments_order_id_id", "order_id", "id"),
        Index("ix_payments_customer_id_id", "customer_id", "id"),
        Index("ix_payments_owner_id_id", "owner_id", "id"),
        Index("ix_payments_department_id_id", "department_id", "id"),
        Index("ix_payments_status_id", "status", "id"),
        Index("ix_payments_reviewer_id_id", "reviewer_id", "id", postgresql_where=text("status = 'pending_review'"),
              sqlite_where=text("status = 'pending_review'")),
    )


class Refund(Base):
    """A credit entry reversing a confirmed payment (audited as entity ``refund``)."""
    __tablename__ = "refunds"
    __audit_entity__ = "refund"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    number: Mapped[str] = mapped_column(String(30), unique=True)
    payment_id: Mapped[str] = mapped_column(ForeignKey("payments.id"), unique=True)
    receivable_id: Mapped[str] = mapped_column(String(36))
    amount: Mapped[Decimal] = mapped_column(Money)
    currency: Mapped[str] = mapped_column(String(3))
    reason: Mapped[str] = mapped_column(Text)
    reviewer_id: Mapped[str | None] = mapped_column(String(36))
    refunded_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)

    __table_args__ = (Index("ix_refunds_receivable_id", "receivable_id"),)


class NumberCounter(Base):
    """The last value taken of a numbering rule's counter (``domain.numbering``), per prefix and year."""
    __tablename__ = "number_counters"
    __audited__ = False

    prefix: Mapped[str] = mapped_column(String(8), primary_key=True)
    year: Mapped[int] = mapped_column(Integer, primary_key=True)
    last_value: Mapped[int] = mapped_column(Integer, default=0)
