"""The instalment reminders: ``remind_instalments`` (the periodic job of the same name) finds, as of
``as_of``, the live instalments not fully paid whose reminder day has come (``remind_days_before``
their due date, up to the due date: ``domain.overdue.reminder``) and, once each (``reminded_at``),
raises ``instalment_due`` for their owner, with an audit entry naming the rule and its inputs
(action ``remind``; ``changes.remind_rule``). Keyset batches by id, a short transaction each."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from crm_kit.records.db import utcnow
from crm_kit.runtime.uow import UnitOfWork
from services.billing.domain import overdue as timer
from services.billing.domain import plans
from services.billing.domain import receivables as rules
from services.billing.events.receivables import INSTALMENT_DUE
from services.billing.models import Instalment, Receivable

BATCH_SIZE = 200
MAX_LISTED = 100


def remind_instalments(uow: UnitOfWork, as_of: dt.datetime | None = None, batch_size: int = BATCH_SIZE) -> dict:
    as_of = as_of or utcnow()
    today = timer.day_of(as_of)
    reminded, after = [], ""
    while True:
        with uow:
            session = uow.session
            rows = session.execute(
                select(Instalment, Receivable).join(Receivable, Receivable.id == Instalment.receivable_id)
                .where(Instalment.status.in_((plans.PENDING, plans.PARTLY_PAID)), Instalment.reminded_at.is_(None),
                       Instalment.due_date >= today,
                       Instalment.due_date <= today + dt.timedelta(days=plans.MAX_REMIND_DAYS),
                       Instalment.plan_revision == Receivable.plan_revision, Receivable.status.in_(rules.UNPAID),
                       Instalment.id > after)
                .order_by(Instalment.id).limit(batch_size)).all()
            if not rows:
                break
            after = rows[-1][0].id
            uow.audit_action("remind")
            for instalment, receivable in rows:
                fired = timer.reminder(instalment.status, instalment.due_date, instalment.remind_days_before,
                                       False, instalment.number, as_of)
                if fired is None:
                    continue
                instalment.reminded_at = as_of
                uow.audit_record("instalment", instalment.id, {"remind_rule": [None, fired.applied()]}, action="remind")
                session.flush()
                uow.emit(INSTALMENT_DUE, instalment, order_id=receivable.order_id,
                         order_number=receivable.order_number, customer_id=receivable.customer_id,
                         owner_id=receivable.owner_id, department_id=receivable.department_id,
                         currency=receivable.currency, rule=fired.applied(), occurred_at=as_of)
                reminded.append(instalment.id)
            uow.commit()
    return {"as_of": as_of.isoformat(), "count": len(reminded), "instalment_ids": reminded[:MAX_LISTED]}
