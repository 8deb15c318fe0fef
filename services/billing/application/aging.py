"""The aging report (账龄) and the overdue receivables, inside the data scopes (finance: its
departments'; admins: all; managers: their subtree's; members: their own).

- ``receivables_aging``: what is outstanding on the receivables still being collected, by days
  overdue on ``as_of`` (``domain.aging``: current, 1-30, 31-60, 61-90, 90+), per currency. A
  receivable with a plan ages by its live instalments (each from its own due date, for what is
  outstanding of it); one without, by itself (one without a due date is current). Only the three
  columns the rule needs are read, streamed, and summed exactly in Decimal per (currency, due date).
- ``list_overdue_receivables``: the receivables marked ``overdue``, newest first (filters: owner,
  currency) -- an owner's overdue list is ``?owner_id=``;
- ``overdue_by_owner``: how many receivables are overdue and how much of them is outstanding, per
  owner and currency (``group_by=owner``).
"""
from __future__ import annotations

import datetime as dt
from collections import defaultdict
from decimal import Decimal

from sqlalchemy import select

from crm_kit.context import Principal
from crm_kit.records.db import utcnow
from crm_kit.records.schemas import load
from crm_kit.records.scopes import scope_clause
from crm_kit.runtime.uow import UnitOfWork
from services.billing.application.access import finance_clause, list_in_scope
from services.billing.application.receivables import dump
from services.billing.domain import aging as rule
from services.billing.domain import plans
from services.billing.domain import receivables as rules
from services.billing.models import Instalment, Receivable
from services.billing.schemas.collections import (
    AgingQuery,
    AgingReport,
    OverdueListQuery,
    OverdueSummary,
    OverdueSummaryQuery,
)

STREAM = 2000
_aging_query, _report = AgingQuery(), AgingReport()
_overdue_query, _summary_query, _summary = OverdueListQuery(), OverdueSummaryQuery(), OverdueSummary()


def _filters(principal: Principal, query: dict) -> list:
    out = [Receivable.status.in_(rules.UNPAID), scope_clause(Receivable, principal,
                                                             finance_clause(Receivable, principal))]
    for name in ("currency", "owner_id"):
        if query.get(name) is not None:
            out.append(getattr(Receivable, name) == query[name])
    return out


def receivables_aging(uow: UnitOfWork, principal: Principal, query: dict | None = None) -> dict:
    query = load(_aging_query, query or {})
    as_of = query["as_of"] or utcnow().date()
    where = _filters(principal, query)
    whole = select(Receivable.currency, Receivable.due_date, Receivable.outstanding_amount).where(
        *where, Receivable.plan_revision == 0)
    split = (select(Receivable.currency, Instalment.due_date, Instalment.amount, Instalment.paid_amount)
             .join(Instalment, Instalment.receivable_id == Receivable.id)
             .where(*where, Receivable.plan_revision > 0, Instalment.plan_revision == Receivable.plan_revision,
                    Instalment.status.in_(plans.OPEN_STATUSES)))
    sums: dict[tuple[str, dt.date], list] = defaultdict(lambda: [Decimal("0.00"), 0])
    with uow:
        session = uow.session
        for currency, due_date, outstanding in session.execute(whole.execution_options(yield_per=STREAM)):
            _add(sums, currency, due_date or as_of, outstanding)
        for currency, due_date, amount, paid in session.execute(split.execution_options(yield_per=STREAM)):
            _add(sums, currency, due_date, max(amount - (paid or Decimal(0)), Decimal("0.00")))
    dues = [rule.Due(f"{currency}@{day}", currency, amount, day, count)
            for (currency, day), (amount, count) in sums.items()]
    return _report.dump({"as_of": as_of, "currencies": rule.as_rows(rule.aging(dues, as_of))})


def _add(sums: dict, currency: str, day: dt.date, amount: Decimal) -> None:
    if amount > 0:
        cell = sums[(currency, day)]
        cell[0] += amount
        cell[1] += 1


def list_overdue_receivables(uow: UnitOfWork, principal: Principal, query: dict | None = None) -> dict:
    """The overdue receivables in scope, newest first; filters: owner, currency."""
    return list_in_scope(uow, principal, Receivable, load(_overdue_query, query or {}), ("owner_id", "currency"),
                         dump, Receivable.status == rules.OVERDUE)


def overdue_by_owner(uow: UnitOfWork, principal: Principal, query: dict | None = None) -> dict:
    """``{"group_by": "owner", "items": [{owner_id, currency, count, outstanding_amount}]}``, the owners
    with the most overdue first. Amounts are summed in Decimal (SQLite keeps money as text)."""
    query = load(_summary_query, query or {})
    stmt = select(Receivable.owner_id, Receivable.currency, Receivable.outstanding_amount).where(
        *_filters(principal, query), Receivable.status == rules.OVERDUE)
    groups: dict[tuple, list] = defaultdict(lambda: [0, Decimal("0.00")])
    with uow:
        for owner_id, currency, outstanding in uow.session.execute(stmt.execution_options(yield_per=STREAM)):
            cell = groups[(owner_id, currency)]
            cell[0] += 1
            cell[1] += outstanding
    items = [{"owner_id": owner, "currency": currency, "count": count, "outstanding_amount": amount}
             for (owner, currency), (count, amount) in groups.items()]
    items.sort(key=lambda i: (-i["count"], i["currency"], i["owner_id"] or ""))
    return _summary.dump({"group_by": query["group_by"], "items": items})


