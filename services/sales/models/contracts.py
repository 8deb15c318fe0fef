"""Contracts (合同), the orders they cover, their numbering counter; and the customers sales has
heard of (merges and owner changes from customers' events).

- ``contracts``: a contract with a customer (``customer_id``: customers' id), both signatories and
  signing dates, amount and currency, start / end dates, payment terms, the contract it renews
  (``renews_contract_id``), owner and department (the data scopes), its state
  (``services.sales.domain.contracts``), its void reason, and when its renewal reminder was sent;
- ``contract_orders``: the orders a contract covers (``order_id``: the orders subject's id, no
  foreign key across subjects), audited as the contract's field ``order_ids``;
- ``contract_counters``: the last number given per year (``CT-<year>-<000001>``);
- ``sales_customer_refs``: per customer id, the survivor it was merged into (``customers_merged``)
  and its newest owner change heard of (``customer_owner_changed``), so those events apply whatever
  the order they arrive in (``services.sales.application.customer_events``).
"""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

from sqlalchemy import Date, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from crm_kit.records.customer_refs import CustomerRefColumns
from crm_kit.records.db import Money, UtcDateTime, utcnow
from services.sales.models.base import Base


class Contract(Base):
    """A contract. Audited as ``contract`` (its orders as the field ``order_ids``)."""
    __tablename__ = "contracts"
    __audit_entity__ = "contract"
    __audit_exclude__ = ("expiring_notified_at",)     # the reminder job audits it with its rule
    __audit_lists__ = {"order_ids": ("order_rows", "order_id")}

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    number: Mapped[str] = mapped_column(String(30))
    customer_id: Mapped[str] = mapped_column(String(36))
    name: Mapped[str] = mapped_column(String(200))
    our_signatory_id: Mapped[str | None] = mapped_column(String(36))           # a user
    customer_signatory_contact_id: Mapped[str | None] = mapped_column(String(36))   # a contact of customers'
    customer_signatory_name: Mapped[str | None] = mapped_column(String(200))
    our_signed_on: Mapped[dt.date | None] = mapped_column(Date)
    customer_signed_on: Mapped[dt.date | None] = mapped_column(Date)
    signed_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)          # when it became signed
    amount: Mapped[Decimal] = mapped_column(Money)
    currency: Mapped[str] = mapped_column(String(3), default="CNY")
    start_date: Mapped[dt.date | None] = mapped_column(Date)
    end_date: Mapped[dt.date | None] = mapped_column(Date)
    payment_terms: Mapped[str | None] = mapped_column(Text)
    renews_contract_id: Mapped[str | None] = mapped_column(ForeignKey("contracts.id"))
    owner_id: Mapped[str | None] = mapped_column(String(36))
    department_id: Mapped[str | None] = mapped_column(String(36))
    status: Mapped[str] = mapped_column(String(20), default="draft")
    void_reason: Mapped[str | None] = mapped_column(String(500))
    voided_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    expired_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    expiring_notified_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    notes: Mapped[str | None] = mapped_column(Text)
    created_by: Mapped[str | None] = mapped_column(String(36))
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow, onupdate=utcnow)

    order_rows: Mapped[list["ContractOrder"]] = relationship(cascade="all, delete-orphan",
                                                             order_by="ContractOrder.order_id", lazy="selectin")

    __mapper_args__ = {"version_id_col": version}
    __table_args__ = (
        Index("uq_contracts_number", "number", unique=True),
        Index("ix_contracts_customer_id_id", "customer_id", "id"),
        Index("ix_contracts_owner_id_id", "owner_id", "id"),
        Index("ix_contracts_department_id_id", "department_id", "id"),
        Index("ix_contracts_status_id", "status", "id"),
        Index("ix_contracts_status_end_date", "status", "end_date"),        # the reminder job
        Index("ix_contracts_renews_contract_id", "renews_contract_id"),
    )

    @property
    def order_ids(self) -> list[str]:
        return [row.order_id for row in self.order_rows]

    @order_ids.setter
    def order_ids(self, values) -> None:
        wanted = list(dict.fromkeys(values or ()))
        kept = {row.order_id: row for row in self.order_rows if row.order_id in wanted}
        self.order_rows = [kept.get(order_id) or ContractOrder(order_id=order_id) for order_id in wanted]


class ContractOrder(Base):
    """An order a contract covers. Not audited itself: the contract's entry names its orders."""
    __tablename__ = "contract_orders"
    __audited__ = False

    contract_id: Mapped[str] = mapped_column(ForeignKey("contracts.id", ondelete="CASCADE"), primary_key=True)
    order_id: Mapped[str] = mapped_column(String(36), primary_key=True)

    __table_args__ = (Index("ix_contract_orders_order_id", "order_id"),)


class ContractCounter(Base):
    """The last contract number given in a year."""
    __tablename__ = "contract_counters"
    __audited__ = False

    year: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    last: Mapped[int] = mapped_column(Integer, default=0)


class SalesCustomerRef(CustomerRefColumns, Base):
    """A customer id as sales has heard of it: merged into a survivor (``merged_into``), and its
    newest owner change (who, since when); ``crm_kit.records.customer_refs``."""
    __tablename__ = "sales_customer_refs"
