"""Every table of the gateway's database (``Base.metadata``, for migrations): the idempotency
records, declared here, and identity's users and departments (``gateway.identity.models``), all on
the one base of ``gateway.database``.
"""
from __future__ import annotations

import datetime as dt

from sqlalchemy import JSON, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

import gateway.identity.models  # noqa: F401  identity's tables, on the same Base
from crm_kit.records.db import UtcDateTime, utcnow
from gateway.database import Base


class IdempotencyRecord(Base):
    """The first answer to a create sent with an ``Idempotency-Key`` (kept 24 h), or, while it
    is pending, the attempt that holds the key (``lease_until``)."""
    __tablename__ = "idempotency_records"
    __audited__ = False  # bookkeeping, not a business change

    user_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    method: Mapped[str] = mapped_column(String(10))
    path: Mapped[str] = mapped_column(String(500))
    request_hash: Mapped[str] = mapped_column(String(64))
    status: Mapped[int | None] = mapped_column(Integer)          # None while in progress
    body: Mapped[str | None] = mapped_column(Text)
    headers: Mapped[dict | None] = mapped_column(JSON)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)
    # While pending: the attempt running holds the key until then; past it (the gateway died
    # mid-request), a retry takes the key over. NULL on a pending record counts as expired.
    lease_until: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)

    __table_args__ = (Index("ix_idempotency_records_created_at", "created_at"),)
