"""Customers as billing has heard of them (``customers_merged``, ``customer_owner_changed``)."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from crm_kit.records.db import UtcDateTime
from services.billing.models.base import Base

__all__ = ["BillingCustomerRef"]


class BillingCustomerRef(Base):
    """A customer id as billing has heard of it: merged into a survivor (``merged_into``), and its
    newest owner change (who, since when). Read first and written with every change that concerns
    it, so two handlers of one customer meet at this row (its version) and the later is retried.
    Not audited: the records that moved carry their own entries."""
    __tablename__ = "billing_customer_refs"
    __audited__ = False

    customer_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    merged_into: Mapped[str | None] = mapped_column(String(36))
    owner_id: Mapped[str | None] = mapped_column(String(36))
    department_id: Mapped[str | None] = mapped_column(String(36))
    owner_changed_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    recorded_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    version: Mapped[int] = mapped_column(Integer, default=1)

    __mapper_args__ = {"version_id_col": version}
