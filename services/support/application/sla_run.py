"""The SLA timer: ``flag_sla`` (the periodic job ``flag_sla``; run now with ``run_sla``, ``as_of``
and ``dry_run``, by admins and support leads) raises, as of ``as_of``, each clock's warning and
breach once (``domain.sla.new_flags``; a ``ticket_sla_flags`` row, unique per ticket, clock and kind).

The candidates are the tickets whose ``next_sla_check_at`` has come: one indexed query
(``ix_tickets_next_sla_check``, :func:`due_batch`), in keyset batches by (time, id), each batch a range
of the index from where the last ended, and one short transaction;
the domain decides each ticket, and ``next_sla_check_at`` moves on to its next warning or deadline
(or null: nothing left to watch), so a second run as of the same time finds nothing. Each flag is
audited (action ``sla_flag``, ``changes.sla_rule``: the rule and its inputs) and raises
``ticket_sla_warning`` or ``ticket_sla_breached`` with the same rule. A dry run goes through the
same batches on a unit of work that never commits (``crm_kit.runtime.preview``). A lead's run covers
the tickets of the groups they lead.
"""
from __future__ import annotations

import datetime as dt
from collections import Counter

from sqlalchemy import select, tuple_

from crm_kit.context import Principal
from crm_kit.errors import Forbidden
from crm_kit.ids import new_id
from crm_kit.records.db import utcnow
from crm_kit.records.schemas import load
from crm_kit.runtime.preview import PreviewUnitOfWork
from crm_kit.runtime.uow import UnitOfWork
from services.support.application import clocks
from services.support.application.access import LEAD, group_ids_of, is_lead
from services.support.domain import sla
from services.support.events.sla import TICKET_SLA_BREACHED, TICKET_SLA_WARNING
from services.support.models import Ticket, TicketSlaFlag
from services.support.schemas.groups import SlaRunRequest, SlaRunResult

BATCH_SIZE = 200
MAX_LISTED = 100
EVENTS = {"warning": TICKET_SLA_WARNING, "breached": TICKET_SLA_BREACHED}
_request, _result = SlaRunRequest(), SlaRunResult()


def run_sla(uow: UnitOfWork, principal: Principal, as_of=None, dry_run=None) -> dict:
    """Run the SLA rule now (a lead: over their groups' tickets; admins: all)."""
    if not principal.is_admin:
        with uow:
            lead = is_lead(uow.session, principal)
        if not lead:
            raise Forbidden("Only a support lead (or an administrator) may run the SLA rule.", {"action": "run_sla"})
    request = load(_request, {"as_of": as_of, **({} if dry_run is None else {"dry_run": dry_run})})
    when, dry = request["as_of"] or utcnow(), request["dry_run"]
    if dry:
        previewed: list = []
        result = flag_sla(PreviewUnitOfWork.of(uow, previewed), when, principal)
        return _result.dump({**result, "dry_run": True,
                             "events": dict(Counter(env["event_type"] for env in previewed))})
    result = flag_sla(uow, when, principal)
    reply = _result.dump({**result, "dry_run": False})
    with uow:      # the reply, recorded (the batches committed before)
        return uow.commit(reply)


def flag_sla(uow: UnitOfWork, as_of: dt.datetime | None = None, principal: Principal | None = None,
             batch_size: int = BATCH_SIZE) -> dict:
    """``{"as_of", "checked", "count", "flags", "events"}``; ``principal``: whose groups (default the
    platform: every ticket)."""
    as_of = as_of or utcnow()
    scope = None if principal is None or principal.is_admin else Ticket.group_id.in_(group_ids_of(principal, LEAD))
    checked, raised, events = 0, [], Counter()
    after: tuple | None = None
    while True:
        with uow:
            batch = uow.session.scalars(due_batch(select(Ticket), as_of, after, batch_size, scope)).all()
            if not batch:
                break
            after = (batch[-1].next_sla_check_at, batch[-1].id)
            uow.audit_action("sla_flag")
            for ticket in batch:
                checked += 1
                for clock, kind in _judge(uow, ticket, as_of):
                    raised.append({"ticket_id": ticket.id, "number": ticket.number, "clock": clock, "kind": kind})
                    events[EVENTS[kind].name] += 1
            uow.commit()
    return {"as_of": as_of, "checked": checked, "count": len(raised), "flags": raised[:MAX_LISTED],
            "events": dict(events)}


def due_batch(stmt, as_of: dt.datetime, after: tuple | None = None, batch_size: int = BATCH_SIZE, scope=None):
    """``stmt`` (``select(Ticket)``, or the columns a caller needs) limited to the next batch of the
    tickets due as of ``as_of``, by (``next_sla_check_at``, id), after the key ``after`` of the last
    batch. The keyset is a row-value comparison, so that each batch starts where the last ended in
    ``ix_tickets_next_sla_check`` (its range; an ``a > x OR (a = x AND id > y)`` is no range for
    SQLite: each batch walked the index again from its start)."""
    stmt = stmt.where(Ticket.next_sla_check_at.is_not(None), Ticket.next_sla_check_at <= as_of)
    if scope is not None:
        stmt = stmt.where(scope)
    if after is not None:
        stmt = stmt.where(tuple_(Ticket.next_sla_check_at, Ticket.id) > tuple_(*after))
    return stmt.order_by(Ticket.next_sla_check_at, Ticket.id).limit(batch_size)


def _judge(uow: UnitOfWork, ticket: Ticket, as_of: dt.datetime) -> list[tuple[str, str]]:
    found = clocks.states(ticket, as_of)
    by_clock = {s.clock: s for s in found}
    fired = sla.new_flags(found, clocks.flagged(ticket))
    for clock, kind in fired:
        state = by_clock[clock]
        ticket.flags.append(TicketSlaFlag(id=new_id(), ticket_id=ticket.id, clock=clock, kind=kind,
                                          due_at=state.due_at, flagged_at=as_of))
    clocks.refresh(ticket, as_of, found)
    if not fired:
        uow.session.flush()
        return []
    uow.session.flush()
    for clock, kind in fired:
        state = by_clock[clock]
        rule = {"rule": f"sla.{clock}.{kind}", "policy": (ticket.sla_policy or {}).get("name"),
                **{k: v for k, v in state.as_dict().items() if k != "clock"},
                "as_of": as_of.isoformat(), "tz": (ticket.sla_calendar or {}).get("tz")}
        uow.audit_record("ticket", ticket.id, {"sla_rule": [None, rule]}, action="sla_flag")
        uow.emit(EVENTS[kind], ticket, clock=clock, due_at=state.due_at, rule=rule, occurred_at=as_of)
    return fired
