"""What other contexts told about a customer's business: each opportunity, order, contract and
payment once, with its latest amount and status. The customer's summary (opportunity, order and
paid totals) and its deal status are kept from these rows, so a redelivered or late event changes
nothing twice."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

from sqlalchemy import Index, String
from sqlalchemy.orm import Mapped, mapped_column

from crm_kit.records.db import Money, UtcDateTime, utcnow
from services.customers.models.base import Base


class CustomerBusiness(Base):
    """``kind`` (``opportunity``, ``order``, ``contract``, ``payment``) and the other context's id;
    ``status`` as that context last said (an opportunity ``open``/``won``/``lost``, an order
    ``approved``/``cancelled``, a payment ``confirmed``/``reversed``...), ``occurred_at`` of the
    event that said it (an older event never overwrites a newer one), ``opened_at`` the earliest
    time any event about it gave (an opportunity's: the "no new opportunity" clock). The rules are
    ``domain.deal``."""
    __tablename__ = "customer_business"
    __audited__ = False

    kind: Mapped[str] = mapped_column(String(20), primary_key=True)
    ref_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    customer_id: Mapped[str] = mapped_column(String(36))
    amount: Mapped[Decimal] = mapped_column(Money, default=Decimal("0.00"))
    status: Mapped[str] = mapped_column(String(20))
    occurred_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)
    opened_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)

    __table_args__ = (Index("ix_customer_business_customer_id_kind", "customer_id", "kind"),)
