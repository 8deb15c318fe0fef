"""Dunning (催收): ``dun_receivables`` (the periodic job of the same name; run now with ``run_dunning``,
``as_of`` and ``dry_run``, by finance and admins) sends, as of ``as_of``, each due the level of the
dunning ladder it has reached and not been sent (``domain.dunning.reminder_due``): once per due and
level (``dunning_notices``, unique), with ``receivable_dunning`` for its owner and an audit entry on
the receivable naming the rule and its inputs (action ``dun``; ``changes.dunning_rule``).

A *due* is a live instalment not fully paid of a receivable with a plan, else the receivable itself
(with a due date); only receivables still being collected are dunned. The ladder is
``BILLING_DUNNING_LEVELS`` (``configured_policy``; default ``domain.dunning.DEFAULT_POLICY``). Keyset
batches by receivable id, a short transaction each; the query only narrows the candidates (a due
date at most ``-earliest offset`` days ahead), the domain decides each due. A dry run goes through
the same batches on a unit of work that never commits and answers what would be sent.
"""
from __future__ import annotations

import datetime as dt
from collections import Counter

from sqlalchemy import and_, or_, select

from crm_kit.config import env
from crm_kit.context import Principal
from crm_kit.errors import Forbidden
from crm_kit.ids import new_id
from crm_kit.records.batches import keyset_batches
from crm_kit.records.db import utcnow
from crm_kit.records.schemas import load
from crm_kit.records.scopes import scope_clause
from crm_kit.runtime.preview import PreviewUnitOfWork
from crm_kit.runtime.uow import UnitOfWork
from services.billing.application.access import finance_clause
from services.billing.domain import dunning as ladder
from services.billing.domain import plans
from services.billing.domain import receivables as rules
from services.billing.domain.overdue import day_of
from services.billing.domain.review import is_finance
from services.billing.events.dunning import RECEIVABLE_DUNNING
from services.billing.models import DunningNotice, Instalment, Receivable
from services.billing.schemas.collections import DunningRunRequest, DunningRunResult

BATCH_SIZE = 200
MAX_LISTED = 100
LEVELS_KEY = "BILLING_DUNNING_LEVELS"
_request, _result = DunningRunRequest(), DunningRunResult()


def configured_policy() -> ladder.Policy:
    """The ladder of ``BILLING_DUNNING_LEVELS`` (``name:offset_days,...``), else the default one."""
    text = env(LEVELS_KEY)
    return ladder.DEFAULT_POLICY if text is None else ladder.parse_levels(text)


def run_dunning(uow: UnitOfWork, principal: Principal, as_of=None, dry_run=None,
                policy: ladder.Policy | None = None) -> dict:
    """Run the dunning rule now (finance: over its departments' receivables; admins: all)."""
    if not (principal.is_admin or is_finance(principal)):
        raise Forbidden("Only finance (or an administrator) may run the dunning rule.", {"action": "run_dunning"})
    request = load(_request, {"as_of": as_of, **({} if dry_run is None else {"dry_run": dry_run})})
    when, dry = request["as_of"] or utcnow(), request["dry_run"]
    if dry:
        previewed: list = []
        result = dun_receivables(PreviewUnitOfWork.of(uow, previewed), when, principal, policy)
        return _result.dump({**result, "dry_run": True,
                             "events": dict(Counter(env_["event_type"] for env_ in previewed))})
    result = dun_receivables(uow, when, principal, policy)
    reply = _result.dump({**result, "dry_run": False})
    with uow:      # the reply, recorded (the batches committed before)
        return uow.commit(reply)


def dun_receivables(uow: UnitOfWork, as_of: dt.datetime | None = None, principal: Principal | None = None,
                    policy: ladder.Policy | None = None, batch_size: int = BATCH_SIZE) -> dict:
    """``{"as_of", "policy", "count", "levels", "notices", "events"}``; ``principal``: whose scope
    (default the platform: every receivable)."""
    as_of = as_of or utcnow()
    principal = principal or Principal.system("billing")
    policy = policy or configured_policy()
    horizon = day_of(as_of) - dt.timedelta(days=policy.levels[0].offset_days)     # due on or before it
    open_instalments = select(Instalment.receivable_id).where(
        Instalment.status.in_(plans.OPEN_STATUSES), Instalment.due_date <= horizon)
    candidates = and_(Receivable.status.in_(rules.UNPAID), or_(
        and_(Receivable.plan_revision == 0, Receivable.due_date <= horizon), Receivable.id.in_(open_instalments)),
        scope_clause(Receivable, principal, finance_clause(Receivable, principal)))
    sent, levels = [], Counter()
    for _, batch in keyset_batches(uow, Receivable, candidates, batch_size, action="dun"):
        for receivable in batch:
            for notice in _dun(uow, receivable, policy, as_of):
                sent.append(notice)
                levels[notice["level"]] += 1
    return {"as_of": as_of, "policy": ladder.describe(policy), "count": len(sent), "levels": dict(levels),
            "notices": sent[:MAX_LISTED], "events": {RECEIVABLE_DUNNING.name: len(sent)} if sent else {}}


def _dues(receivable: Receivable) -> list[tuple[Instalment | None, dt.date, object]]:
    """(instalment or None, due date, outstanding) of each due of one receivable."""
    if receivable.plan_revision:
        return [(i, i.due_date, i.outstanding_amount) for i in receivable.plan if i.status in plans.OPEN_STATUSES]
    if receivable.due_date is None:
        return []
    return [(None, receivable.due_date, receivable.outstanding_amount)]


def _dun(uow: UnitOfWork, receivable: Receivable, policy: ladder.Policy, as_of: dt.datetime) -> list[dict]:
    session, today, out = uow.session, day_of(as_of), []
    sent: dict[str, list[str]] = {}
    for key, level in session.execute(select(DunningNotice.due_key, DunningNotice.level)
                                      .where(DunningNotice.receivable_id == receivable.id)
                                      .order_by(DunningNotice.as_of, DunningNotice.id)):
        sent.setdefault(key, []).append(level)
    for instalment, due_on, outstanding in _dues(receivable):
        key = instalment.id if instalment is not None else receivable.id
        reminder = ladder.reminder_due(policy, due_on, outstanding, sent.get(key, []), today)
        if reminder is None:
            continue
        inputs = {**reminder.inputs, "instalment_number": instalment.number if instalment is not None else None}
        session.add(DunningNotice(id=new_id(), receivable_id=receivable.id,
                                  instalment_id=instalment.id if instalment is not None else None, due_key=key,
                                  level=reminder.level.name, offset_days=reminder.level.offset_days, as_of=as_of,
                                  rule=inputs, created_at=as_of))
        uow.audit_record("receivable", receivable.id, {"dunning_rule": [None, inputs]}, action="dun")
        session.flush()
        uow.emit(RECEIVABLE_DUNNING, receivable, instalment_id=instalment.id if instalment is not None else None,
                 instalment_number=inputs["instalment_number"], due_on=due_on, due_outstanding=outstanding,
                 level=reminder.level.name, offset_days=reminder.level.offset_days, rule=inputs, occurred_at=as_of)
        out.append({"receivable_id": receivable.id, "instalment_id": instalment.id if instalment else None,
                    "level": reminder.level.name, "rule": inputs})
    return out
