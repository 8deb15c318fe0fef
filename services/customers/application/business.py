"""Deal status and the summary, kept from other contexts' facts (never by reading their databases).

``apply_business_fact(uow, fact)`` is the one use case every future event handler of sales and
billing calls, with its event's payload mapped onto a fact (``schemas.business._BusinessFact``):
the customer's entry for that opportunity / order / contract / payment is replaced only by a newer
fact (``domain.deal``), the summary is recomputed from the entries, and a configured trigger
(``customer_settings.deal_triggers``) makes a prospect a deal customer, raising
``customer_became_deal`` once. A fact naming a merged customer applies to its survivor; one naming
a customer that no longer exists changes nothing. Idempotent twice over: the kit records the
event id with the effect, and a fact applied again finds nothing newer to do.

Which events feed it (``services/customers/README.md``, "Deal status and the summary"): sales'
opportunity events, its order events and ``contract_signed`` (``application.sales_facts``); billing's
``payment_confirmed`` and ``payment_reversed`` (``application.billing_facts``).
"""
from __future__ import annotations

import logging

from sqlalchemy import select

from crm_kit.records.schemas import load
from crm_kit.runtime.uow import UnitOfWork
from services.customers.application.merged import survivor_of
from services.customers.application.settings import deal_triggers
from services.customers.domain import deal
from services.customers.events import CUSTOMER_BECAME_DEAL
from services.customers.models import Customer, CustomerBusiness
from services.customers.schemas.business import _BusinessFact

log = logging.getLogger(__name__)
_fact = _BusinessFact()


def apply_business_fact(uow: UnitOfWork, fact: dict) -> bool:
    """Apply one fact (``fact``: a dict as ``_BusinessFact`` loads it; ``ValidationFailed`` else).
    Returns whether it changed anything."""
    fact = deal.Fact(**load(_fact, fact))
    with uow:
        session = uow.session
        customer = _locked(session, survivor_of(session, fact.customer_id))
        if customer is None:
            log.info("a %s fact for customer %s, which no longer exists: nothing to keep", fact.kind, fact.customer_id)
            uow.commit()
            return False
        uow.audit_action(f"{fact.kind}_{fact.status}")
        row = session.get(CustomerBusiness, (fact.kind, fact.ref_id))
        current = entry_of(row)
        after, newer = deal.next_entry(current, fact), deal.supersedes(current, fact)
        # the newest fact says whose it is: a record moved to another customer leaves its old one
        moved_from = row.customer_id if row is not None and newer and row.customer_id != customer.id else None
        if after is not None:
            if row is None:
                row = CustomerBusiness(kind=fact.kind, ref_id=fact.ref_id, customer_id=customer.id)
                session.add(row)
            elif newer:
                row.customer_id = customer.id
            row.status, row.amount, row.occurred_at, row.opened_at = (after.status, after.amount, after.occurred_at,
                                                                      after.opened_at)
            session.flush()
        state, trigger = deal.advance(deal_state(customer), fact, deal_triggers(session))
        changed = recompute(session, customer)          # (its query first: one flush, one audit entry)
        changed |= set_deal_state(customer, state)
        if moved_from is not None:
            previous = _locked(session, moved_from)
            if previous is not None:
                changed |= recompute(session, previous)
        session.flush()
        if trigger is not None:
            uow.emit(CUSTOMER_BECAME_DEAL, customer, trigger=trigger, ref_id=fact.ref_id)
        uow.commit()
        return bool(changed or after is not None)


def entry_of(row: CustomerBusiness | None) -> deal.Entry | None:
    if row is None:
        return None
    return deal.Entry(row.kind, row.ref_id, row.status, row.amount, row.occurred_at, row.opened_at)


def deal_state(customer: Customer) -> deal.DealState:
    return deal.DealState(customer.deal_status, customer.deal_at, customer.last_deal_at)


def set_deal_state(customer: Customer, state: deal.DealState) -> set[str]:
    """Write the deal fields; returns the names of those that changed."""
    return _assign(customer, {"deal_status": state.deal_status, "deal_at": state.deal_at,
                              "last_deal_at": state.last_deal_at})


def recompute(session, customer: Customer) -> set[str]:
    """The summary of ``customer`` from its entries (``domain.deal.summarize``); returns the names of
    the fields that changed."""
    rows = session.scalars(select(CustomerBusiness).where(CustomerBusiness.customer_id == customer.id))
    summary = deal.summarize(entry_of(row) for row in rows)
    return _assign(customer, {"opportunity_total": summary.opportunity_total, "order_total": summary.order_total,
                              "paid_total": summary.paid_total, "open_opportunities": summary.open_opportunities,
                              "last_opportunity_at": summary.last_opportunity_at})


def _assign(customer: Customer, values: dict) -> set[str]:
    changed = {name for name, value in values.items() if getattr(customer, name) != value}
    for name in changed:
        setattr(customer, name, values[name])
    return changed


def _locked(session, customer_id: str) -> Customer | None:
    """The customer, its row locked for the transaction: facts about one customer take turns (each
    recomputes the summary from what the others wrote)."""
    return session.scalars(select(Customer).where(Customer.id == customer_id).with_for_update()).first()
