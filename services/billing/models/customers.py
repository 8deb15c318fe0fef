"""Customers as billing has heard of them (``customers_merged``, ``customer_owner_changed``)."""
from __future__ import annotations

from crm_kit.records.customer_refs import CustomerRefColumns
from services.billing.models.base import Base

__all__ = ["BillingCustomerRef"]


class BillingCustomerRef(CustomerRefColumns, Base):
    """A customer id as billing has heard of it: merged into a survivor (``merged_into``), and its
    newest owner change (who, since when); ``crm_kit.records.customer_refs``."""
    __tablename__ = "billing_customer_refs"
