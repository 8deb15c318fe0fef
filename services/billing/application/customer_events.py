"""Billing reacts to customers' events: a merge (``customers_merged``) and an owner change
(``customer_owner_changed``), idempotently and whatever the order the events arrive in (the kit's
mechanics: ``crm_kit.records.customer_refs``; billing names which of its records follow the owner).

**A merge**: every billing record naming the merged customer (each table with a ``customer_id``:
receivables, payments... found from the models) names the survivor -- or the end of the survivor's
own chain of merges. The merge is remembered (``billing_customer_refs.merged_into``): a receivable
opened later for the merged id takes the survivor (:func:`current_customer_id`).

**An owner change never touches a status or an amount**: the receivables of that customer still
being collected (``open``, ``partially_paid``, ``overdue``) that the previous owner owned go to the
new owner and their department, with their payments awaiting review; paid, written-off and closed
ones, and reviewed payments, stay with whoever had them. A customer that went into a pool (no new
owner) leaves them as they are. An older owner change heard after a newer one moves them to the
newest owner heard of. Each record moved has its audit entry (``customer_owner_changed``).
"""
from __future__ import annotations

from crm_kit.records.customer_refs import CustomerRefs
from crm_kit.runtime.uow import UnitOfWork
from services.billing.domain import payments as payment_rules
from services.billing.domain import receivables as rules
from services.billing.models import Base, BillingCustomerRef, Payment, Receivable

# model -> the status column and the statuses whose records follow their customer's new owner
FOLLOW_THE_OWNER = ((Receivable, "status", rules.UNPAID), (Payment, "status", (payment_rules.PENDING_REVIEW,)))

REFS = CustomerRefs(BillingCustomerRef, Base, lambda: FOLLOW_THE_OWNER)
current_customer_id = REFS.current_customer_id
holders = REFS.holders


def record_customers_merged(uow: UnitOfWork, merged: dict) -> dict:
    """``merged``: the payload as ``events.CustomersMerged`` loads it. Returns what moved, per table."""
    return REFS.record_merged(uow, merged)


def record_customer_owner_changed(uow: UnitOfWork, changed: dict) -> dict:
    """``changed``: the payload as ``events.CustomerOwnerChanged`` loads it. Returns what moved, per table."""
    return REFS.record_owner_changed(uow, changed)
