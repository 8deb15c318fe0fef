"""Customers as support has heard of them (``customers_merged``, ``customer_owner_changed``)."""
from __future__ import annotations

from sqlalchemy import Index

from crm_kit.records.customer_refs import CustomerRefColumns
from services.support.models.base import Base

__all__ = ["SupportCustomerRef"]


class SupportCustomerRef(CustomerRefColumns, Base):
    """A customer id as support has heard of it: merged into a survivor (``merged_into``), and its
    newest owner change (who, since when; ``crm_kit.records.customer_refs``). The owner is how a
    customer's salesperson reads its tickets (``application.access``): indexed."""
    __tablename__ = "support_customer_refs"
    __table_args__ = (Index("ix_support_customer_refs_owner_id", "owner_id"),)
