"""The caller's reminders from the customers they own (``customer_reminders``): next contact times
that have come, recycle warnings (``domain.recycling``) and birthdays of their customers' contacts
(and of customers who are persons), a greeting reminder on the day (``domain.reminders``).

The answer has the item shape of leads' ``lead_reminders`` (``kind``, ``due_at``, the record's id
and name), so the gateway merges the two lists into ``GET /api/v1/me/reminders``.
"""
from __future__ import annotations

from sqlalchemy import and_, extract, select

from crm_kit.context import Principal
from crm_kit.records.db import utcnow
from crm_kit.records.schemas import load
from crm_kit.runtime.uow import UnitOfWork
from services.customers.application.recycling import candidate_clause, recycling_pools
from services.customers.domain import recycling as rules
from services.customers.domain import reminders as domain
from services.customers.models import Contact, Customer
from services.customers.schemas.reminders import ReminderList, ReminderQuery

_query = ReminderQuery()
_list = ReminderList()
RECYCLE_WARNINGS_SCANNED = 2000     # owned customers near a recycle looked at per call
BIRTHDAYS_SCANNED = 2000            # contacts (and persons) with a birthday in the window, per call


def customer_reminders(uow: UnitOfWork, principal: Principal, query: dict | None = None) -> dict:
    """Reminders due by ``due_before`` (default now), by ``due_at``, the first ``limit``."""
    params = load(_query, query or {})
    now = utcnow()
    due_before = params["due_before"] or now
    limit = params["limit"]
    with uow:
        session, owner = uow.session, principal.user_id
        items = [_item(domain.NEXT_CONTACT, c, c.next_contact_at) for c in session.scalars(
            select(Customer).where(Customer.owner_id == owner, Customer.next_contact_at <= due_before)
            .order_by(Customer.next_contact_at, Customer.id).limit(limit))]
        items += _recycle_warnings(session, owner, due_before)
        items += _birthdays(session, owner, now, due_before)
    items.sort(key=lambda item: (item["due_at"], item["customer_id"], item["contact_id"] or ""))
    return _list.dump({"items": items[:limit], "next_cursor": None})


def _recycle_warnings(session, owner: str, due_before) -> list[dict]:
    pools = recycling_pools(session)
    ahead = rules.longest_warning(pools)
    limits = rules.thresholds(pools, due_before, ahead)
    if limits is None or not ahead:
        return []
    out = []
    for customer in session.scalars(select(Customer).where(
            Customer.owner_id == owner, candidate_clause(limits)).order_by(Customer.id)
            .limit(RECYCLE_WARNINGS_SCANNED)):
        pool, decision = rules.decide_for(rules.CustomerFacts.of(customer), pools, due_before)
        due_at = rules.recycle_warning(decision, due_before)
        if due_at is not None:
            out.append(_item(domain.RECYCLE_WARNING, customer, due_at, pool_id=pool.id))
    return out


def _birthdays(session, owner: str, now, due_before) -> list[dict]:
    start, end = domain.birthday_window(now, due_before)
    days = domain.month_days(start, end)
    if days == set():
        return []

    def on_the_days(column):
        when = column.is_not(None)
        if days is not None:
            when = and_(when, (extract("month", column) * 100 + extract("day", column)).in_(sorted(days)))
        return when

    contacts = session.execute(select(Contact, Customer).join(Customer, Customer.id == Contact.customer_id).where(
        Contact.owner_id == owner, Customer.owner_id == owner, on_the_days(Contact.birthday))
        .limit(BIRTHDAYS_SCANNED)).all()
    persons = session.scalars(select(Customer).where(
        Customer.owner_id == owner, Customer.kind == "individual", on_the_days(Customer.birthday))
        .limit(BIRTHDAYS_SCANNED)).all()
    out = []
    for record, customer, contact in [(c, cu, c) for c, cu in contacts] + [(p, p, None) for p in persons]:
        day = domain.birthday_between(record.birthday, start, end)
        if day is not None:
            out.append(_item(domain.BIRTHDAY, customer, domain.birthday_due_at(day), contact=contact))
    return out


def _item(kind: str, customer: Customer, due_at, pool_id=None, contact: Contact | None = None) -> dict:
    return {"kind": kind, "customer_id": customer.id, "customer_name": customer.name,
            "contact_id": contact.id if contact else None, "contact_name": contact.name if contact else None,
            "pool_id": pool_id if pool_id is not None else customer.pool_id, "due_at": due_at}
