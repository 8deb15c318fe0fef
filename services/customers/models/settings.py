"""The customer settings of the platform (one row): holding caps, the deal triggers, return reasons."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import JSON, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from crm_kit.records.db import UtcDateTime, utcnow
from services.customers.models.base import Base

SETTINGS_ID = "default"


class CustomerSettings(Base):
    """``holding_caps``: how many customers a user may hold across the platform, a list of
    ``{"department_id" | "role" | neither (the default), "max_held", "max_locked", "count_deals"}``
    (the most specific applies: department, then role, then the default); enforced on claim,
    assign, transfer and lead conversion alike. ``deal_triggers``: what makes a customer a deal
    customer (``opportunity_won``, ``order_approved``, ``contract_signed``; seed 004).
    ``return_reasons``: the platform's list of reasons an owner returns a customer for, where the
    pool has no list of its own (empty: any reason). Audited as ``customer_settings``."""
    __tablename__ = "customer_settings"
    __audit_entity__ = "customer_settings"

    id: Mapped[str] = mapped_column(String(20), primary_key=True, default=SETTINGS_ID)
    holding_caps: Mapped[list] = mapped_column(JSON, default=list)
    deal_triggers: Mapped[list] = mapped_column(JSON, default=lambda: ["opportunity_won", "order_approved",
                                                                       "contract_signed"])
    return_reasons: Mapped[list] = mapped_column(JSON, default=list)
    updated_by: Mapped[str | None] = mapped_column(String(36))
    version: Mapped[int] = mapped_column(Integer, default=1)
    updated_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow, onupdate=utcnow)

    __mapper_args__ = {"version_id_col": version}
