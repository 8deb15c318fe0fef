"""Invoices (发票): requested against a receivable (or one of its confirmed payments), reviewed by
finance, issued with a number and an issue date, voided (红冲) with a reason.

- ``invoices``: the receivable (its order, customer, owner and department copied: the data scopes
  read them), the payment when one is named; what the buyer asked for (kind, title, tax id, buyer
  kind, address and bank account for a special VAT invoice); the gross ``amount`` (tax included) in
  the receivable's currency, the rate (percent, as text: ``"13"``) and the tax and net the server
  derived (``domain.invoices.tax_of``); the status and who did what when (requested, reviewed,
  rejected with the reason, issued with ``number`` and ``issue_date``, voided with the reason).
"""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

from sqlalchemy import Date, ForeignKey, Index, Integer, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from crm_kit.records.db import Money, UtcDateTime, utcnow
from services.billing.domain import invoices as rules
from services.billing.models.base import Base

__all__ = ["Invoice"]


class Invoice(Base):
    """Audited as entity ``invoice``; scoped by owner and department (and finance)."""
    __tablename__ = "invoices"
    __audit_entity__ = "invoice"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    number: Mapped[str | None] = mapped_column(String(30), unique=True)      # once issued
    receivable_id: Mapped[str] = mapped_column(ForeignKey("receivables.id"))
    payment_id: Mapped[str | None] = mapped_column(ForeignKey("payments.id"))
    order_id: Mapped[str] = mapped_column(String(36))
    order_number: Mapped[str] = mapped_column(String(30))
    customer_id: Mapped[str] = mapped_column(String(36))
    owner_id: Mapped[str | None] = mapped_column(String(36))
    department_id: Mapped[str | None] = mapped_column(String(36))
    kind: Mapped[str] = mapped_column(String(20))
    title: Mapped[str] = mapped_column(String(200))
    tax_id: Mapped[str | None] = mapped_column(String(30))
    buyer_kind: Mapped[str] = mapped_column(String(10), default="company")
    buyer_address: Mapped[str | None] = mapped_column(String(300))
    buyer_bank_account: Mapped[str | None] = mapped_column(String(200))
    currency: Mapped[str] = mapped_column(String(3))
    amount: Mapped[Decimal] = mapped_column(Money)                      # gross: tax included
    tax_rate: Mapped[str] = mapped_column(String(6))                    # percent: "13"
    tax_amount: Mapped[Decimal] = mapped_column(Money)
    net_amount: Mapped[Decimal] = mapped_column(Money)
    notes: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(20), default=rules.REQUESTED)
    requested_by: Mapped[str | None] = mapped_column(String(36))
    reviewed_by: Mapped[str | None] = mapped_column(String(36))
    reviewed_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    rejected_reason: Mapped[str | None] = mapped_column(Text)
    issued_by: Mapped[str | None] = mapped_column(String(36))
    issued_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    issue_date: Mapped[dt.date | None] = mapped_column(Date)
    voided_by: Mapped[str | None] = mapped_column(String(36))
    voided_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    void_reason: Mapped[str | None] = mapped_column(Text)
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow, onupdate=utcnow)

    @property
    def allowed_actions(self) -> list[str]:
        return rules.allowed_actions(self.status)

    __mapper_args__ = {"version_id_col": version}
    __table_args__ = (
        Index("ix_invoices_receivable_id_id", "receivable_id", "id"),
        Index("ix_invoices_order_id_id", "order_id", "id"),
        Index("ix_invoices_customer_id_id", "customer_id", "id"),
        Index("ix_invoices_owner_id_id", "owner_id", "id"),
        Index("ix_invoices_department_id_id", "department_id", "id"),
        Index("ix_invoices_status_id", "status", "id"),
        Index("ix_invoices_payment_id", "payment_id", postgresql_where=text("payment_id IS NOT NULL"),
              sqlite_where=text("payment_id IS NOT NULL")),
    )
