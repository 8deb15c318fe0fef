"""Receivables (应收) and their payment plans' instalments (回款计划).

- ``receivables``: one per approved order (``order_id`` unique: a redelivered ``order_approved``
  finds it): the order's number, customer, owner and department (copied from the event: the data
  scopes read them), currency and amount; the figures the ledger derives (``domain.ledger``: paid,
  pending, outstanding -- kept here for lists and filters, written only from a ``Book``); the due
  date (the payment terms', or the plan's last instalment's) and the terms' own; the status and
  its times (overdue, settled, written off with the reason and who, closed with the reason);
- ``instalments``: the instalments of every plan a receivable had (``plan_revision``: the live
  plan is the receivable's ``plan_revision``; those of an older one are ``void``), each with its
  number, amount, due date, reminder days, share of the paid amount and status, and the timers'
  marks (``overdue_at``, ``reminded_at``).
"""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

from sqlalchemy import Date, ForeignKey, Index, Integer, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from crm_kit.records.db import Money, UtcDateTime, utcnow
from services.billing.domain import receivables as rules
from services.billing.models.base import Base

__all__ = ["Receivable", "Instalment"]


def _partial(name: str, columns: tuple[str, ...], where: str) -> Index:
    return Index(name, *columns, postgresql_where=text(where), sqlite_where=text(where))


class Receivable(Base):
    """Audited as entity ``receivable``; scoped by owner and department (and finance: ``domain.review``)."""
    __tablename__ = "receivables"
    __audit_entity__ = "receivable"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    order_id: Mapped[str] = mapped_column(String(36), unique=True)
    order_number: Mapped[str] = mapped_column(String(30))
    contract_id: Mapped[str | None] = mapped_column(String(36))
    customer_id: Mapped[str] = mapped_column(String(36))
    owner_id: Mapped[str | None] = mapped_column(String(36))
    department_id: Mapped[str | None] = mapped_column(String(36))
    currency: Mapped[str] = mapped_column(String(3))
    amount: Mapped[Decimal] = mapped_column(Money)
    paid_amount: Mapped[Decimal] = mapped_column(Money, default=Decimal("0.00"))
    pending_amount: Mapped[Decimal] = mapped_column(Money, default=Decimal("0.00"))
    outstanding_amount: Mapped[Decimal] = mapped_column(Money)
    payment_terms: Mapped[str | None] = mapped_column(Text)
    terms_due_date: Mapped[dt.date | None] = mapped_column(Date)      # the order's terms
    due_date: Mapped[dt.date | None] = mapped_column(Date)            # the terms', or the plan's last
    plan_revision: Mapped[int] = mapped_column(Integer, default=0)    # 0: no plan
    status: Mapped[str] = mapped_column(String(20), default=rules.OPEN)
    opened_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)        # the order's approval
    overdue_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    settled_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    written_off_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    written_off_by: Mapped[str | None] = mapped_column(String(36))
    written_off_reason: Mapped[str | None] = mapped_column(Text)
    closed_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    closed_reason: Mapped[str | None] = mapped_column(Text)
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow, onupdate=utcnow)

    instalments: Mapped[list["Instalment"]] = relationship(
        cascade="all, delete-orphan", order_by="(Instalment.plan_revision, Instalment.number)", lazy="selectin")

    @property
    def plan(self) -> list["Instalment"]:
        """The live plan's instalments, by number."""
        return [i for i in self.instalments if i.plan_revision == self.plan_revision and self.plan_revision]

    @property
    def allowed_actions(self) -> list[str]:
        return rules.allowed_actions(self.status, self.paid_amount or Decimal(0))

    __mapper_args__ = {"version_id_col": version}
    __table_args__ = (
        Index("ix_receivables_customer_id_id", "customer_id", "id"),
        Index("ix_receivables_owner_id_id", "owner_id", "id"),
        Index("ix_receivables_department_id_id", "department_id", "id"),
        Index("ix_receivables_status_id", "status", "id"),
        Index("ix_receivables_due_date_id", "due_date", "id"),
        _partial("ix_receivables_contract_id", ("contract_id",), "contract_id IS NOT NULL"),
        # the overdue timer: open or partly paid ones not marked yet
        _partial("ix_receivables_overdue_candidates", ("due_date", "id"),
                 "status IN ('open', 'partially_paid') AND overdue_at IS NULL"),
    )


class Instalment(Base):
    """One instalment of a receivable's plan (audited as entity ``instalment``)."""
    __tablename__ = "instalments"
    __audit_entity__ = "instalment"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    receivable_id: Mapped[str] = mapped_column(ForeignKey("receivables.id", ondelete="CASCADE"))
    plan_revision: Mapped[int] = mapped_column(Integer)
    number: Mapped[int] = mapped_column(Integer)
    amount: Mapped[Decimal] = mapped_column(Money)
    paid_amount: Mapped[Decimal] = mapped_column(Money, default=Decimal("0.00"))
    due_date: Mapped[dt.date] = mapped_column(Date)
    remind_days_before: Mapped[int] = mapped_column(Integer, default=3)
    status: Mapped[str] = mapped_column(String(20), default="pending")
    overdue_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    reminded_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)

    @property
    def outstanding_amount(self) -> Decimal:
        return max(self.amount - (self.paid_amount or Decimal(0)), Decimal("0.00"))

    __table_args__ = (
        UniqueConstraint("receivable_id", "plan_revision", "number", name="uq_instalments_plan_number"),
        # the timers: instalments still to be paid (overdue, reminders)
        _partial("ix_instalments_open_due", ("due_date", "id"), "status IN ('pending', 'partly_paid')"),
    )
