"""The late-delivery timer: ``mark_late_deliveries`` (the periodic job of the same name) finds the
approved orders past their promised date without a delivery (``domain.orders.lateness``) and, once
each, marks them (``late_notified_at``) and emits ``order_delivery_late``, with an audit entry
(action ``mark_late``) naming the rule and its inputs (``changes.late_rule``).

The candidates are read in keyset batches by id, each batch one short transaction; the query only
narrows them (the partial index ``ix_orders_late_candidates``), the domain decides each. A marked
order's version is checked and advanced by the same statement (an edit racing the run wins; the
next run sees it again), so a second run as of the same time finds nothing left to do. A dry run
(``run_job(..., dry_run=True)``: the kit's preview unit of work) reads the same batches and
answers what would be marked.
"""
from __future__ import annotations

import datetime as dt

from sqlalchemy import select, update

from crm_kit.records.db import utcnow
from crm_kit.runtime.uow import UnitOfWork
from services.sales.domain import orders as rules
from services.sales.events.orders import ORDER_DELIVERY_LATE
from services.sales.models.orders import Order

BATCH_SIZE = 200
MAX_LISTED = 100     # order ids named in the job's result (``count`` has them all)


def mark_late_deliveries(uow: UnitOfWork, as_of: dt.datetime | None = None, batch_size: int = BATCH_SIZE) -> dict:
    """Every late order as of ``as_of`` (default now), once: ``{"count", "order_ids", "batches"}``."""
    as_of = as_of or utcnow()
    today = as_of.astimezone(dt.timezone.utc).date()
    marked: list[str] = []
    after, batches = "", 0
    while True:
        with uow:
            session = uow.session
            orders = session.scalars(select(Order).where(
                Order.status == rules.APPROVED, Order.delivered_at.is_(None), Order.late_notified_at.is_(None),
                Order.promised_date.is_not(None), Order.promised_date < today, Order.id > after)
                .order_by(Order.id).limit(batch_size)).all()
            if not orders:
                break
            batches += 1
            after = orders[-1].id
            uow.audit_action("mark_late")
            for order in orders:
                late = rules.lateness(order.status, order.promised_date, order.delivered_at,
                                      order.late_notified_at, as_of)
                if late is None:
                    continue
                done = session.execute(update(Order).where(Order.id == order.id, Order.version == order.version)
                                       .values(late_notified_at=as_of, version=order.version + 1)
                                       .execution_options(synchronize_session=False)).rowcount
                if not done:
                    continue
                uow.audit_record("order", order.id, {"late_notified_at": [None, as_of.isoformat()],
                                                     "late_rule": [None, late.applied()]}, action="mark_late")
                uow.emit(ORDER_DELIVERY_LATE, order, rule=late.applied(), days_late=late.days_late,
                         occurred_at=as_of)
                marked.append(order.id)
            uow.commit()
    return {"count": len(marked), "order_ids": marked[:MAX_LISTED], "batches": batches,
            "as_of": as_of.isoformat()}
