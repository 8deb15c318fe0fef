"""The overdue timer: ``mark_overdue_receivables`` (the periodic job of the same name; run now with
``run_overdue``, ``as_of`` and ``dry_run``, by finance and admins) marks, as of ``as_of``:

- each live instalment past its due date not fully paid (``overdue_at``; ``domain.overdue``);
- each receivable being collected past its due date, or with an instalment overdue, once
  (``overdue_at``, status ``overdue``), raising ``receivable_overdue``.

Each mark is audited (action ``mark_overdue``: the changed fields, and an entry whose
``changes.overdue_rule`` names the rule and its inputs), and the event carries the same rule. The
candidates are read in keyset batches by id, each batch one short transaction; the query only
narrows them, the domain decides each; a second run as of the same time finds nothing left to do. A
dry run goes through the same batches on a unit of work that never commits
(``crm_kit.runtime.preview``) and answers what would be marked and the events it would raise. A
finance user's run covers its departments' receivables.
"""
from __future__ import annotations

import datetime as dt
from collections import Counter

from sqlalchemy import and_, or_, select

from crm_kit.context import Principal
from crm_kit.errors import Forbidden
from crm_kit.records.batches import keyset_batches
from crm_kit.records.db import utcnow
from crm_kit.records.schemas import load
from crm_kit.records.scopes import scope_clause
from crm_kit.runtime.preview import PreviewUnitOfWork
from crm_kit.runtime.uow import UnitOfWork
from services.billing.application.access import finance_clause
from services.billing.application.books import load_book, write_back
from services.billing.domain import overdue as timer
from services.billing.domain import plans
from services.billing.domain import receivables as rules
from services.billing.domain.review import is_finance
from services.billing.events.receivables import RECEIVABLE_OVERDUE
from services.billing.models import Instalment, Receivable
from services.billing.schemas.receivables import OverdueRunRequest, OverdueRunResult

BATCH_SIZE = 200
MAX_LISTED = 100
_request, _result = OverdueRunRequest(), OverdueRunResult()


def run_overdue(uow: UnitOfWork, principal: Principal, as_of=None, dry_run=None) -> dict:
    """Run the overdue rule now (finance: over its departments' receivables; admins: all)."""
    if not (principal.is_admin or is_finance(principal)):
        raise Forbidden("Only finance (or an administrator) may run the overdue rule.", {"action": "run_overdue"})
    request = load(_request, {"as_of": as_of, **({} if dry_run is None else {"dry_run": dry_run})})
    when, dry = request["as_of"] or utcnow(), request["dry_run"]
    if dry:
        previewed: list = []
        result = mark_overdue_receivables(PreviewUnitOfWork.of(uow, previewed), when, principal)
        return _result.dump({**result, "dry_run": True,
                             "events": dict(Counter(env["event_type"] for env in previewed))})
    result = mark_overdue_receivables(uow, when, principal)
    reply = _result.dump({**result, "dry_run": False})
    with uow:      # the reply, recorded (the batches committed before)
        return uow.commit(reply)


def mark_overdue_receivables(uow: UnitOfWork, as_of: dt.datetime | None = None, principal: Principal | None = None,
                             batch_size: int = BATCH_SIZE) -> dict:
    """``{"as_of", "count", "receivable_ids", "instalments", "events"}``; ``principal``: whose scope
    (default the platform: every receivable)."""
    as_of = as_of or utcnow()
    principal = principal or Principal.system("billing")
    today = timer.day_of(as_of)
    late_instalments = select(Instalment.receivable_id).where(
        Instalment.status.in_((plans.PENDING, plans.PARTLY_PAID)), Instalment.due_date < today,
        Instalment.overdue_at.is_(None))
    candidates = and_(Receivable.status.in_(rules.UNPAID), or_(
        and_(Receivable.overdue_at.is_(None), Receivable.due_date < today), Receivable.id.in_(late_instalments)),
        scope_clause(Receivable, principal, finance_clause(Receivable, principal)))
    marked, instalments, events = [], 0, Counter()
    for _, batch in keyset_batches(uow, Receivable, candidates, batch_size, action="mark_overdue"):
        for receivable in batch:
            found = _judge(uow, receivable, as_of)
            instalments += found[1]
            if found[0]:
                marked.append(receivable.id)
                events[RECEIVABLE_OVERDUE.name] += 1
    return {"as_of": as_of, "count": len(marked), "receivable_ids": marked[:MAX_LISTED], "instalments": instalments,
            "events": dict(events)}


def _judge(uow: UnitOfWork, receivable: Receivable, as_of: dt.datetime) -> tuple[bool, int]:
    """Mark what is overdue of one receivable: (the receivable marked now, instalments marked now)."""
    session = uow.session
    book = load_book(session, receivable)
    statuses, overdue_terms, newly = book.instalment_statuses(), [], 0
    rows = {row.id: row for row in receivable.plan}
    for term in sorted(book.terms, key=lambda t: t.number):
        if term.overdue:
            overdue_terms.append(timer.Fired(timer.INSTALMENT_DUE_DATE_PASSED, term.due_date, as_of,
                                             (timer.day_of(as_of) - term.due_date).days, term.number))
            continue
        fired = timer.instalment_overdue(statuses[term.id], term.due_date, term.number, as_of)
        if fired is None:
            continue
        term.overdue, rows[term.id].overdue_at, newly = True, as_of, newly + 1
        overdue_terms.append(fired)
        uow.audit_record("instalment", term.id, {"overdue_rule": [None, fired.applied()]}, action="mark_overdue")
    fired = None
    if receivable.overdue_at is None:
        fired = timer.receivable_overdue(book.status, receivable.due_date, as_of, overdue_terms)
    if fired is not None:
        book.mark_overdue()
        receivable.overdue_at = as_of
    if fired is None and not newly:
        return False, 0
    write_back(receivable, book, as_of)
    if fired is None:
        session.flush()
        return False, newly
    # (the flush audits the status and overdue_at; this entry names the rule and its inputs)
    uow.audit_record("receivable", receivable.id, {"overdue_rule": [None, fired.applied()]}, action="mark_overdue")
    session.flush()
    uow.emit(RECEIVABLE_OVERDUE, receivable, rule=fired.applied(), days_overdue=fired.days, occurred_at=as_of)
    return True, newly
