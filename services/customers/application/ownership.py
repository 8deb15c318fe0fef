"""Ownership that loses nothing: the one way a customer changes hands.

Every path that changes a customer's owner -- create, lead conversion, claim, assign, transfer,
return, recycle, merge -- goes through :func:`give` or :func:`release_to_pool`. They change only
who owns it (and the pool it is in): its contacts, follow-ups, team, history, opportunities and
orders stay exactly as they are (the contacts' owner copies follow). Each keeps the owner history
(``customer_ownership``: who, from, until, how and why, by whom), counts the owner changes
(``claim_count``: seed 004, "领取次数: 即客户负责人更换的次数"), and raises
``customer_owner_changed``. The use case raises the event of its own action beside it
(``customer_claimed``, ``customer_returned``, ``customer_recycled``).
"""
from __future__ import annotations

import datetime as dt

from sqlalchemy import select, update

from crm_kit.ids import new_id
from crm_kit.runtime.uow import UnitOfWork
from services.customers.application import settings
from services.customers.events import CUSTOMER_OWNER_CHANGED
from services.customers.models import Contact, Customer, CustomerOwnership

START_KINDS = ("created", "convert", "claim", "assign", "transfer", "merge", "import")
END_KINDS = ("return", "recycle", "assign", "transfer", "merge", "delete")
# Owner changes that give a user one customer more: their holding cap applies (a merge leaves one
# customer where there were two; a return or a recycle takes one away).
CAPPED_KINDS = ("claim", "assign", "transfer", "convert")


def open_stretch(session, customer_id: str) -> CustomerOwnership | None:
    """The current owner's stretch (None when the customer is in a pool)."""
    return session.scalars(select(CustomerOwnership).where(
        CustomerOwnership.customer_id == customer_id, CustomerOwnership.ended_at.is_(None))
        .order_by(CustomerOwnership.started_at.desc())).first()


def start(session, customer: Customer, kind: str, by: str | None, now: dt.datetime,
          pool_id: str | None = None) -> None:
    """The first stretch of a new customer's owner (``created``, ``convert``, ``import``): no change
    of owner yet, so neither ``claim_count`` nor an event."""
    customer.owner_since = now if customer.owner_id else None
    if customer.owner_id:
        if customer in session.new:
            session.flush([customer])         # the stretch refers to it (no relationship orders the inserts)
        session.add(CustomerOwnership(id=new_id(), customer_id=customer.id, owner_id=customer.owner_id,
                                      department_id=customer.department_id, pool_id=pool_id, started_at=now,
                                      start_kind=kind, started_by=by))


def give(uow: UnitOfWork, customer: Customer, owner_id: str, department_id: str | None, kind: str,
         by: str | None, now: dt.datetime, reason: str | None = None, *, role: str | None = None) -> bool:
    """``owner_id`` owns ``customer`` from ``now``: its pool (if any) lets it go, the previous owner's
    stretch ends (``end_kind`` = ``kind``), a new one starts. Returns whether the owner changed (giving
    a customer to its own owner changes nothing).

    For the kinds in :data:`CAPPED_KINDS` the new owner's holding cap is checked first
    (``LimitExceeded`` ``holding_cap``: nothing changed); ``role``: the new owner's role when known
    (the caller claiming), else their department's cap or the default applies. A lock is its
    owner's: it ends when the customer changes hands (the new owner may lock it again)."""
    assert kind in START_KINDS, kind
    if customer.owner_id == owner_id and customer.pool_id is None:
        return False
    session = uow.session
    if kind in CAPPED_KINDS:
        settings.ensure_within_holding_cap(session, owner_id, department_id, role)
    if customer.locked:
        customer.locked, customer.locked_at, customer.locked_by = False, None, None
    previous, from_pool = customer.owner_id, customer.pool_id
    _end(session, customer, kind, reason, by, now)
    customer.previous_owner_id = previous or customer.previous_owner_id
    customer.owner_id, customer.department_id = owner_id, department_id
    customer.owner_since = now
    customer.pool_id = customer.pool_since = None
    customer.claim_count = (customer.claim_count or 0) + 1
    session.add(CustomerOwnership(id=new_id(), customer_id=customer.id, owner_id=owner_id,
                                  department_id=department_id, pool_id=from_pool, started_at=now,
                                  start_kind=kind, started_by=by))
    _contacts_follow(session, customer)
    session.flush()
    uow.emit(CUSTOMER_OWNER_CHANGED, customer, previous_owner_id=previous, pool_id=from_pool, kind=kind,
             reason=reason, changed_at=now)
    return True


def release_to_pool(uow: UnitOfWork, customer: Customer, pool_id: str, kind: str, reason: str | None,
                    by: str | None, now: dt.datetime) -> None:
    """The owner lets ``customer`` go into ``pool_id`` (``return``, ``recycle``): it has no owner from
    ``now``, keeps everything else, and remembers who had it (``previous_owner_id``, the reclaim
    cooldown reads the ended stretch)."""
    assert kind in ("return", "recycle"), kind
    session = uow.session
    previous = customer.owner_id
    _end(session, customer, kind, reason, by, now)
    customer.previous_owner_id = previous
    customer.owner_id = customer.department_id = customer.owner_since = None
    customer.pool_id, customer.pool_since = pool_id, now
    _contacts_follow(session, customer)
    session.flush()
    uow.emit(CUSTOMER_OWNER_CHANGED, customer, previous_owner_id=previous, pool_id=pool_id, kind=kind,
             reason=reason, changed_at=now)


def move_to_pool(uow: UnitOfWork, customer: Customer, pool_id: str, now: dt.datetime) -> None:
    """A customer in a pool goes to another pool (no owner either side: no owner change)."""
    customer.pool_id, customer.pool_since = pool_id, now


def history(session, customer_id: str) -> list[CustomerOwnership]:
    """The owner history, oldest first."""
    return list(session.scalars(select(CustomerOwnership).where(CustomerOwnership.customer_id == customer_id)
                                .order_by(CustomerOwnership.started_at, CustomerOwnership.id)))


def _end(session, customer: Customer, kind: str, reason: str | None, by: str | None, now: dt.datetime) -> None:
    stretch = open_stretch(session, customer.id)
    if stretch is not None:
        stretch.ended_at, stretch.end_kind, stretch.end_reason, stretch.ended_by = now, kind, reason, by


def _contacts_follow(session, customer: Customer) -> None:
    """The contacts' owner and department are copies of their customer's (reports, scopes of lists)."""
    session.execute(update(Contact).where(Contact.customer_id == customer.id)
                    .values(owner_id=customer.owner_id, department_id=customer.department_id)
                    .execution_options(synchronize_session="fetch"))
