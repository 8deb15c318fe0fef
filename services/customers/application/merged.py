"""Where a merged customer went (``customer_merges``): the survivor of a merged id, and the 404 that
names it.

A merged customer is deleted; a request for its id answers ``NotFound`` whose detail names the
survivor (and ``extra["merged_into"]``), when the caller may see the survivor (to anyone else it is
a plain 404). A fact or event naming a merged id applies to its survivor (:func:`survivor_of`).
Merges into a customer that is itself merged later are re-pointed at the new survivor when that
happens (``merge``), so one lookup finds the end of the chain.
"""
from __future__ import annotations

from sqlalchemy import select

from crm_kit.context import Principal
from crm_kit.errors import NotFound
from services.customers.models import Customer, CustomerMerge


def merged_into(session, customer_id: str) -> str | None:
    """The survivor ``customer_id`` was merged into (None: it was not merged)."""
    return session.scalar(select(CustomerMerge.survivor_id).where(CustomerMerge.merged_id == customer_id))


def survivor_of(session, customer_id: str) -> str:
    """``customer_id``, or the survivor it was merged into."""
    return merged_into(session, customer_id) or customer_id


def not_found(session, principal: Principal, customer_id: str) -> NotFound:
    """The 404 of a customer the caller cannot see or that does not exist: naming the survivor when
    it was merged into one the caller may see."""
    from services.customers.application.access import read_clause  # (access raises what this builds)
    survivor = merged_into(session, customer_id)
    if survivor is not None and session.scalar(select(Customer.id).where(
            Customer.id == survivor, read_clause(principal))) is not None:
        return NotFound(f"customer {customer_id} was merged into customer {survivor}.",
                        {"resource": "customer", "id": str(customer_id), "merged_into": survivor})
    return NotFound.of("customer", customer_id)


def lookup(find, session, principal: Principal, customer_id: str) -> Customer:
    """``find(session, principal, customer_id)`` (``access.customer_for_read`` / ``_for_write``),
    its 404 naming the survivor of a merged id."""
    try:
        return find(session, principal, customer_id)
    except NotFound:
        raise not_found(session, principal, customer_id) from None
