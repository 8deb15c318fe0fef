"""Walking many rows in short transactions: what the timers' runs share (billing's overdue and
dunning rules, ...).

``for session, batch in keyset_batches(uow, Receivable, candidates, 200, action="mark_overdue")``:
the rows of ``model`` matching ``where``, in keyset batches by id, each batch in its own unit of
work -- audited as ``action`` when given -- that commits once the loop body is done with it. A body
that raises rolls its batch back (and the walk stops); on a dry-run unit of work nothing commits.
"""
from __future__ import annotations

from typing import Iterator

from sqlalchemy import select

from crm_kit.runtime.uow import UnitOfWork


def keyset_batches(uow: UnitOfWork, model, where, batch_size: int, action: str | None = None) -> Iterator[tuple]:
    after = ""
    while True:
        with uow:
            session = uow.session
            batch = session.scalars(select(model).where(where, model.id > after)
                                    .order_by(model.id).limit(batch_size)).all()
            if not batch:
                return
            after = batch[-1].id
            if action is not None:
                uow.audit_action(action)
            yield session, batch
            uow.commit()
