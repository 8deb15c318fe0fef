"""Orders (销售订单), their lines and team, and the numbering counters (``SO-2026-000123``).

- ``orders``: the order: customer, optional opportunity / contract / quote (ids of other subjects,
  no foreign keys), owner and department (the data scopes), currency and price list, the totals
  computed on the server (``domain.totals``), payment terms and due date, the state machine's
  status and times (``domain.orders``), fulfilment (promised, shipped, delivered, late notice),
  ``paid_amount`` (nothing fills it yet: billing's payment events will; an approved order is
  cancelled only while it is 0), the payment plan prepared on it (``payment_plan``, JSON, as
  written: ``domain.payment_plans``), and the order it was copied from;
- ``order_lines``: one priced product per line (the price as the product or its list gave it at
  order time; sku, name and unit kept as they were);
- ``orders_team``: users the order is shared with (seed 004: 我参与的);
- ``number_counters``: the last number taken per prefix and year (``domain.numbering``).
"""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

from sqlalchemy import JSON, Date, ForeignKey, Index, Integer, Numeric, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column, relationship
from sqlalchemy.types import TypeDecorator

from crm_kit.records.db import Money, UtcDateTime, utcnow
from crm_kit.records.teams import attach_team
from services.sales.domain import orders as rules
from services.sales.domain import payment_plans
from services.sales.models.base import Base

__all__ = ["Order", "OrderLine", "NumberCounter", "orders_team"]


class Quantity(TypeDecorator):
    """An exact quantity: NUMERIC(18,3) on PostgreSQL, canonical text on SQLite (a float there)."""
    impl = Numeric(18, 3)
    cache_ok = True

    def load_dialect_impl(self, dialect):
        if dialect.name == "sqlite":
            return dialect.type_descriptor(String(32))
        return dialect.type_descriptor(Numeric(18, 3, asdecimal=True))

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        value = Decimal(value).quantize(Decimal("0.001"))
        return str(value) if dialect.name == "sqlite" else value

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        return Decimal(value).quantize(Decimal("0.001"))


def _partial(name: str, columns: tuple[str, ...], where: str) -> Index:
    return Index(name, *columns, postgresql_where=text(where), sqlite_where=text(where))


class Order(Base):
    """A sales order. Audited as entity ``order``; scoped by owner, department and team."""
    __tablename__ = "orders"
    __audit_entity__ = "order"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    number: Mapped[str] = mapped_column(String(30), unique=True)
    customer_id: Mapped[str] = mapped_column(String(36))
    opportunity_id: Mapped[str | None] = mapped_column(String(36))
    contract_id: Mapped[str | None] = mapped_column(String(36))
    quote_id: Mapped[str | None] = mapped_column(String(36))
    owner_id: Mapped[str | None] = mapped_column(String(36))
    department_id: Mapped[str | None] = mapped_column(String(36))
    # -- money (domain.totals: computed here, never taken from the client) -----------------------
    currency: Mapped[str] = mapped_column(String(3), default="CNY")
    price_list_id: Mapped[str | None] = mapped_column(String(36))
    discount_percent: Mapped[Decimal] = mapped_column(Money, default=Decimal("0.00"))
    subtotal: Mapped[Decimal] = mapped_column(Money, default=Decimal("0.00"))
    discount_amount: Mapped[Decimal] = mapped_column(Money, default=Decimal("0.00"))
    total: Mapped[Decimal] = mapped_column(Money, default=Decimal("0.00"))
    paid_amount: Mapped[Decimal] = mapped_column(Money, default=Decimal("0.00"))   # billing's events (later)
    payment_terms: Mapped[str | None] = mapped_column(Text)
    due_days: Mapped[int | None] = mapped_column(Integer)           # payment due N days after approval
    due_date: Mapped[dt.date | None] = mapped_column(Date)          # set on approval
    payment_plan: Mapped[list | None] = mapped_column(JSON)         # domain.payment_plans.normalized
    notes: Mapped[str | None] = mapped_column(Text)
    # -- the state machine (domain.orders) --------------------------------------------------------
    status: Mapped[str] = mapped_column(String(20), default="draft")
    submitted_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    approved_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    rejected_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    rejected_reason: Mapped[str | None] = mapped_column(Text)
    cancelled_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    cancelled_reason: Mapped[str | None] = mapped_column(Text)
    # -- fulfilment ---------------------------------------------------------------------------------
    promised_date: Mapped[dt.date | None] = mapped_column(Date)
    shipped_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    delivered_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    late_notified_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    # -- where it came from -------------------------------------------------------------------------
    copied_from_id: Mapped[str | None] = mapped_column(String(36))
    created_by: Mapped[str | None] = mapped_column(String(36))
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow, onupdate=utcnow)

    lines: Mapped[list["OrderLine"]] = relationship(cascade="all, delete-orphan", order_by="OrderLine.position",
                                                    lazy="selectin")
    __audit_lists__ = {"lines": ("lines", "summary")}   # audited as the order's field "lines"

    @property
    def fulfilment(self) -> str | None:
        """An approved order's phase: to_ship, shipped, delivered (``domain.orders``)."""
        return rules.phase(self.status, self.shipped_at, self.delivered_at)

    @property
    def allowed_actions(self) -> list[str]:
        return rules.allowed_actions(self.status, self.shipped_at, self.delivered_at, self.paid_amount)

    @property
    def payment_plan_status(self) -> str | None:
        """``prepared`` (draft, pending), ``live`` (approved), ``void`` (rejected, cancelled); None: no plan."""
        return payment_plans.status_of(self.status, self.payment_plan)

    @property
    def payment_plan_instalments(self) -> list[dict] | None:
        """The plan resolved: amounts of the current total, due dates once approved (``order_approved``)."""
        approved_on = self.approved_at.astimezone(dt.timezone.utc).date() if self.approved_at else None
        return payment_plans.resolved(self.payment_plan, self.total, approved_on)

    __mapper_args__ = {"version_id_col": version}
    __table_args__ = (
        Index("ix_orders_customer_id_id", "customer_id", "id"),
        Index("ix_orders_owner_id_id", "owner_id", "id"),
        Index("ix_orders_department_id_id", "department_id", "id"),
        Index("ix_orders_status_id", "status", "id"),
        Index("ix_orders_created_at_id", "created_at", "id"),
        _partial("ix_orders_opportunity_id", ("opportunity_id",), "opportunity_id IS NOT NULL"),
        _partial("ix_orders_contract_id", ("contract_id",), "contract_id IS NOT NULL"),
        _partial("ix_orders_quote_id", ("quote_id",), "quote_id IS NOT NULL"),
        # "to ship": approved, not shipped; the late-delivery timer: approved, promised, not delivered
        _partial("ix_orders_to_ship", ("id",), "status = 'approved' AND shipped_at IS NULL"),
        _partial("ix_orders_late_candidates", ("promised_date", "id"),
                 "status = 'approved' AND delivered_at IS NULL AND late_notified_at IS NULL"),
    )


class OrderLine(Base):
    """One line of an order (audited with its order, as the order's field ``lines``)."""
    __tablename__ = "order_lines"
    __audited__ = False

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    order_id: Mapped[str] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(Integer)
    product_id: Mapped[str] = mapped_column(String(36))
    sku: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(200))
    unit: Mapped[str] = mapped_column(String(20))
    quantity: Mapped[Decimal] = mapped_column(Quantity)
    unit_price: Mapped[Decimal] = mapped_column(Money)
    discount_percent: Mapped[Decimal] = mapped_column(Money, default=Decimal("0.00"))
    line_total: Mapped[Decimal] = mapped_column(Money)
    price_list_id: Mapped[str | None] = mapped_column(String(36))   # the list that gave the price

    @property
    def summary(self) -> str:
        """The line in one text (the order's audit entry lists its lines so)."""
        return f"{self.sku} x {self.quantity} @ {self.unit_price} -{self.discount_percent}% = {self.line_total}"

    __table_args__ = (
        Index("ix_order_lines_order_id_position", "order_id", "position"),
        Index("ix_order_lines_product_id", "product_id"),
    )


class NumberCounter(Base):
    """The last value taken of a numbering rule's counter (``domain.numbering``), per prefix and year."""
    __tablename__ = "number_counters"
    __audited__ = False

    prefix: Mapped[str] = mapped_column(String(8), primary_key=True)
    year: Mapped[int] = mapped_column(Integer, primary_key=True)
    last_value: Mapped[int] = mapped_column(Integer, default=0)


orders_team = attach_team(Order)
