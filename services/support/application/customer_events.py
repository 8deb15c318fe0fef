"""Support reacts to customers' events, idempotently and whatever the order they arrive in (the
kit's mechanics: ``crm_kit.records.customer_refs``).

**A merge** (``customers_merged``): every ticket naming the merged customer names the survivor (or
the end of its chain of merges); a ticket opened later for the merged id takes the survivor.

**An owner change** (``customer_owner_changed``) moves no ticket: a ticket's owner is its assignee.
The customer's newest owner is recorded (``support_customer_refs.owner_id``), and through it that
salesperson reads the customer's tickets (``application.access``); the previous owner no longer does.
"""
from __future__ import annotations

from crm_kit.records.customer_refs import CustomerRefs
from crm_kit.runtime.uow import UnitOfWork
from services.support.models import Base, SupportCustomerRef

FOLLOW_THE_OWNER: tuple = ()       # tickets follow their assignee, not the customer's owner

REFS = CustomerRefs(SupportCustomerRef, Base, lambda: FOLLOW_THE_OWNER)
current_customer_id = REFS.current_customer_id
holders = REFS.holders


def record_customers_merged(uow: UnitOfWork, merged: dict) -> dict:
    """``merged``: the payload as ``events.CustomersMerged`` loads it. Returns what moved, per table."""
    return REFS.record_merged(uow, merged)


def record_customer_owner_changed(uow: UnitOfWork, changed: dict) -> dict:
    """``changed``: the payload as ``events.CustomerOwnerChanged`` loads it (nothing moves)."""
    return REFS.record_owner_changed(uow, changed)
