"""Recycling (自动回收): the pools' recycle rules run over the owned customers, now for one pool
(``recycle_customer_pool``: admins, the pool's admins) or for every pool on the service's periodic
job (``recycle_all_pools``, as the platform).

A run goes through the candidates in keyset batches of ``BATCH_SIZE`` customers by id, each batch
one short transaction: the batch is read (on PostgreSQL its rows locked, ``FOR UPDATE``: a
follow-up or a claim racing the run either lands first and is seen, or waits for the batch),
each customer is judged by the domain (``domain.recycling``: which pool takes it, which rule and
clock fired, with which inputs) and the due ones go to their pool as
``ownership.release_to_pool(kind="recycle")`` would take them one by one (``_recycle``: the same
changes, for the whole batch in a few statements), each with its ``customer_recycled`` event and an
audit entry naming the rule and its inputs (action ``recycle``; ``changes.recycle_rule``), then the
batch commits. So no transaction is open for the whole run, a run that stops half-way has committed
whole batches, and a second run as of the same time finds nothing left to do. The query only
narrows the candidates (``candidate_clause``); the domain decides each.

A dry run reads the same batches and answers what would move, by which rule, moving nothing.
"""
from __future__ import annotations

import contextvars
import datetime as dt
import logging
import time
from dataclasses import dataclass, field

import eventlet
from sqlalchemy import and_, bindparam, false, func, or_, select, text, update

from crm_kit.context import Principal
from crm_kit.records.db import UtcDateTime, utcnow
from crm_kit.records.schemas import load
from crm_kit.runtime.uow import UnitOfWork, stale_version
from services.customers.application.access import pool_for
from services.customers.domain import recycling as rules
from services.customers.events import CUSTOMER_OWNER_CHANGED, CUSTOMER_RECYCLED
from services.customers.models import Contact, Customer, CustomerOwnership, CustomerPool
from services.customers.schemas.recycling import RecycleRequest, RecycleResult

log = logging.getLogger(__name__)

BATCH_SIZE = 150       # customers read (and locked) per transaction (short: under a second each)
WORKERS = 3            # batches in flight at once (green threads, a connection each)
MAX_LISTED = 1000      # customers named in a run's answer (``count`` has them all)

# What a batch reads of each candidate (rows, not ORM objects: the facts the rules judge, what the
# answer names, and what a recycle changes and checks)
JUDGED = tuple(getattr(Customer, name) for name in (
    "id", "name", "level", "owner_id", "department_id", "owner_since", "created_at", "last_followed_at",
    "last_opportunity_at", "deal_at", "last_deal_at", "deal_status", "open_opportunities", "locked", "version",
    "pool_id", "pool_since", "previous_owner_id"))

_request = RecycleRequest()
_result = RecycleResult()


@dataclass
class RunReport:
    """What a run did: per pool how many customers moved, the first ``MAX_LISTED`` of them, and
    how long its transactions were."""
    counts: dict = field(default_factory=dict)
    items: list = field(default_factory=list)
    batches: int = 0
    longest_transaction: float = 0.0

    def add(self, pool_id: str, customer: Customer, decision: rules.Decision) -> None:
        self.counts[pool_id] = self.counts.get(pool_id, 0) + 1
        self.items.append({"customer_id": customer.id, "name": customer.name, "level": customer.level,
                           "previous_owner_id": customer.owner_id, "department_id": customer.department_id,
                           "rule": decision.applied()})
        if len(self.items) >= 2 * MAX_LISTED:       # (batches finish in any order: keep the smallest ids)
            self.listed()

    def listed(self) -> list[dict]:
        """The first ``MAX_LISTED`` customers, in id order."""
        self.items = sorted(self.items, key=lambda item: item["customer_id"])[:MAX_LISTED]
        return self.items

    @property
    def count(self) -> int:
        return sum(self.counts.values())


def recycle_customer_pool(uow: UnitOfWork, principal: Principal, pool_id: str, as_of=None,
                          dry_run=None) -> dict:
    """Run the pool's recycle rules now, as of ``as_of`` (default now), over the customers the pool
    takes (admins, the pool's admins); ``dry_run``: what would move, moving nothing."""
    request = load(_request, {"as_of": as_of, **({} if dry_run is None else {"dry_run": dry_run})})
    when, dry = request["as_of"] or utcnow(), request["dry_run"]
    with uow:
        pool_for(uow.session, principal, pool_id, manage=True)
        pools = recycling_pools(uow.session)
    report = run(uow, principal, pools, when, only=pool_id, dry_run=dry)
    reply = _result.dump({"pool_id": pool_id, "as_of": when, "dry_run": dry, "count": report.count,
                          "items": report.listed(), "complete": report.count <= MAX_LISTED})
    if dry:
        return reply
    with uow:      # the reply, recorded (the batches committed before)
        return uow.commit(reply)


def recycle_all_pools(uow: UnitOfWork, as_of: dt.datetime | None = None, batch_size: int = BATCH_SIZE,
                      workers: int = WORKERS) -> dict:
    """The periodic job: every pool's rules as of ``as_of``, as the platform. A small summary:
    ``{"recycled": {pool_id: count}, "batches", "longest_transaction_ms"}``."""
    system = Principal.system("customers")
    with uow:
        pools = recycling_pools(uow.session)
    report = run(uow, system, pools, as_of or utcnow(), batch_size=batch_size, workers=workers)
    return {"recycled": report.counts, "batches": report.batches,
            "longest_transaction_ms": round(report.longest_transaction * 1000, 1)}


def recycling_pools(session) -> list[rules.PoolRecycling]:
    """Every pool that recycles, with rules the domain can read (a pool whose stored rules are
    broken is left out, and logged)."""
    out = []
    for pool in session.scalars(select(CustomerPool).where(CustomerPool.recycle_enabled.is_(True))
                                .order_by(CustomerPool.id)):
        found = rules.PoolRecycling.of(pool)
        problems = found.errors()
        if problems:
            log.warning("customer pool %s: recycle rules left out: %s", pool.id, "; ".join(problems))
            continue
        out.append(found)
    return out


def candidate_clause(limits: rules.Thresholds):
    """The owned, unlocked customers that may be due by ``limits`` (a superset: the domain decides):
    for some clock, every time it counts from is at or before its threshold."""
    received = func.coalesce(Customer.owner_since, Customer.created_at)
    clocks = []
    for clock, stale in limits.stale_before.items():
        inputs = [or_(getattr(Customer, name).is_(None), getattr(Customer, name) <= stale)
                  for name in rules.clock_inputs(clock)]
        clocks.append(and_(received <= stale, *inputs))
    clause = and_(Customer.owner_id.is_not(None), Customer.locked.is_(False), or_(*clocks) if clocks else false())
    if limits.skip_deals:
        clause = and_(clause, Customer.deal_status != rules.DEAL_STATUS)
    if limits.skip_open_opportunities:
        clause = and_(clause, Customer.open_opportunities == 0)
    return clause


def _department_clause(pools: list[rules.PoolRecycling]):
    """Only the departments the pools take (None: some pool takes every department's)."""
    if not pools or any(not p.department_ids for p in pools):
        return None
    return Customer.department_id.in_(sorted({d for p in pools for d in p.department_ids}))


def run(uow: UnitOfWork, principal: Principal, pools: list[rules.PoolRecycling], as_of: dt.datetime,
        only: str | None = None, dry_run: bool = False, batch_size: int = BATCH_SIZE,
        workers: int = WORKERS) -> RunReport:
    """The rules of ``pools`` (``only``: of that pool alone) over the owned customers, in batches:
    the candidates' ids are read page by page (short reads, no lock), and each page is one batch --
    its customers read again, locked, judged, the due recycled, committed -- in a unit of work of its
    own (``uow.sibling()``), ``workers`` batches in flight at once (green threads: one batch's Python
    while another waits on the database). A failing batch stops the run with its error; the batches
    committed before stay."""
    report = RunReport()
    judged = [p for p in pools if only is None or p.id == only]
    limits = rules.thresholds(judged, as_of)
    if limits is None:
        return report
    clause = candidate_clause(limits)
    departments = _department_clause(judged)
    if departments is not None:
        clause = and_(clause, departments)

    def batch(ids: list[str]) -> None:
        unit = uow.sibling()
        started = time.perf_counter()
        with unit:
            stmt = select(*JUDGED).where(Customer.id.in_(ids), clause).order_by(Customer.id)
            rows = unit.session.execute(stmt if dry_run else stmt.with_for_update(of=Customer.__table__)).all()
            if _judge(unit, principal, rows, pools, as_of, only, dry_run, report):
                unit.commit()
        report.batches += 1
        report.longest_transaction = max(report.longest_transaction, time.perf_counter() - started)

    failed: list[BaseException] = []

    def guarded(ids: list[str]) -> None:
        try:
            batch(ids)
        except BaseException as exc:       # noqa: BLE001  (raised below, once the batches in flight end)
            failed.append(exc)

    running = eventlet.GreenPool(max(1, workers))
    for ids in _candidate_ids(uow, clause, batch_size):
        if failed:
            break
        running.spawn(contextvars.copy_context().run, guarded, ids)
    running.waitall()
    if failed:
        raise failed[0]
    return report


def _candidate_ids(uow: UnitOfWork, clause, batch_size: int):
    """The candidates' ids, a page of ``batch_size`` at a time, by id (each page its own short read)."""
    after = ""
    while True:
        with uow.sibling() as unit:
            ids = list(unit.session.scalars(select(Customer.id).where(clause, Customer.id > after)
                                            .order_by(Customer.id).limit(batch_size)))
        if ids:
            yield ids
        if len(ids) < batch_size:
            return
        after = ids[-1]


def _judge(uow: UnitOfWork, principal: Principal, batch: list, pools, as_of: dt.datetime,
           only: str | None, dry_run: bool, report: RunReport) -> int:
    """Each customer of the batch judged, and the due ones recycled; how many were."""
    uow.audit_action("recycle")
    uow.audit_actor = principal.user_id        # the caller, or the platform ("customers") on the job
    due = []
    for customer in batch:
        pool, decision = rules.decide_for(rules.CustomerFacts.of(customer), pools, as_of)
        if not decision.due or (only is not None and pool.id != only):
            continue
        report.add(pool.id, customer, decision)
        due.append((customer, pool.id, decision))
    if due and not dry_run:
        _recycle(uow, due, principal.user_id, as_of, utcnow())
    return 0 if dry_run else len(due)


class _Recycled:
    """A customer of the batch as the recycle leaves it (what its events are dumped from)."""

    def __init__(self, customer: Customer, after: dict):
        self._customer, self._after = customer, after

    def __getattr__(self, name):
        return self._after[name] if name in self._after else getattr(self._customer, name)


def _recycle(uow: UnitOfWork, due: list, by: str | None, as_of: dt.datetime, now: dt.datetime) -> None:
    """The due customers of a batch go to their pools: what ``ownership.release_to_pool(kind="recycle")``
    does to one customer (owner history closed with the reason, ``previous_owner_id``, no owner from
    ``now``, in the pool since ``now``, its contacts following, ``customer_owner_changed``), done for
    the whole batch in a few statements -- the open stretches read at once, the customers, stretches
    and contacts changed by one statement each (on PostgreSQL ``UPDATE ... FROM unnest(arrays)``:
    ``_recycle_rows_postgresql``; elsewhere an executemany; the rows are locked, their version
    checked and advanced) -- and each customer with its ``customer_recycled`` and one audit entry: what
    changed and the rule with its inputs (``recycle_rule``)."""
    session = uow.session
    ids = [customer.id for customer, _, _ in due]
    stretches = {s.customer_id: s.id for s in session.execute(  # the latest open one of each (as open_stretch)
        select(CustomerOwnership.customer_id, CustomerOwnership.id).where(
            CustomerOwnership.customer_id.in_(ids), CustomerOwnership.ended_at.is_(None))
        .order_by(CustomerOwnership.started_at))}
    customers, ended, audited = [], [], []
    for customer, pool_id, decision in due:
        previous, applied, reason = customer.owner_id, decision.applied(), decision.reason()
        after = {"owner_id": None, "department_id": None, "owner_since": None, "pool_id": pool_id,
                 "pool_since": now, "previous_owner_id": previous}
        changes = {k: [getattr(customer, k), v] for k, v in after.items() if getattr(customer, k) != v}
        changes["recycle_rule"] = [None, {**applied, "pool_id": pool_id, "as_of": as_of}]
        audited.append((customer.id, changes))
        customers.append({"b_id": customer.id, "b_version": customer.version, **after,
                          "version": customer.version + 1, "updated_at": now})
        if customer.id in stretches:
            ended.append({"b_id": stretches[customer.id], "end_reason": reason[:500]})
        recycled = _Recycled(customer, after)
        uow.emit(CUSTOMER_OWNER_CHANGED, recycled, previous_owner_id=previous, pool_id=pool_id, kind="recycle",
                 reason=reason, changed_at=now)
        uow.emit(CUSTOMER_RECYCLED, recycled, previous_owner_id=previous, pool_id=pool_id, rule=applied,
                 as_of=as_of, recycled_at=now)
    session.flush()                        # (nothing of the batch is pending; keeps the order of writes plain)
    conn = session.connection()
    if conn.dialect.name == "postgresql":  # one statement each, the rows as arrays (not one per row)
        _recycle_rows_postgresql(conn, customers, ended, by, now)
    else:
        table = Customer.__table__
        done = conn.execute(table.update().where(table.c.id == bindparam("b_id"),
                                                 table.c.version == bindparam("b_version"))
                            .values({k: bindparam(k) for k in customers[0] if not k.startswith("b_")}), customers)
        if conn.dialect.supports_sane_multi_rowcount and done.rowcount != len(customers):
            raise stale_version()          # (the rows are locked: only a database without FOR UPDATE)
        if ended:
            history = CustomerOwnership.__table__
            conn.execute(history.update().where(history.c.id == bindparam("b_id"))
                         .values(ended_at=now, end_kind="recycle", end_reason=bindparam("end_reason"), ended_by=by),
                         ended)
    conn.execute(update(Contact.__table__).where(Contact.__table__.c.customer_id.in_(ids))
                 .values(owner_id=None, department_id=None, updated_at=now))      # the contacts follow (no owner)
    uow.insert(uow.audit.table, uow.audit.rows("customer", audited, "recycle"))


_RECYCLE_CUSTOMERS_PG = text(
    "UPDATE customers AS c SET owner_id = NULL, department_id = NULL, owner_since = NULL, pool_id = v.pool_id, "
    "pool_since = :now, previous_owner_id = v.previous_owner_id, version = v.version + 1, updated_at = :now "
    "FROM unnest(CAST(:ids AS text[]), CAST(:versions AS integer[]), CAST(:pools AS text[]), "
    "CAST(:previous AS text[])) AS v(id, version, pool_id, previous_owner_id) "
    "WHERE c.id = v.id AND c.version = v.version").bindparams(bindparam("now", type_=UtcDateTime()))
_END_STRETCHES_PG = text(
    "UPDATE customer_ownership AS o SET ended_at = :now, end_kind = 'recycle', end_reason = v.reason, ended_by = :by "
    "FROM unnest(CAST(:ids AS text[]), CAST(:reasons AS text[])) AS v(id, reason) WHERE o.id = v.id"
).bindparams(bindparam("now", type_=UtcDateTime()))


def _recycle_rows_postgresql(conn, customers: list[dict], ended: list[dict], by, now: dt.datetime) -> None:
    """The batch's customer rows and owner stretches changed as ``_recycle``'s executemany does on
    another database, each in ONE statement on PostgreSQL: the rows travel as arrays
    (``unnest``), where an executemany is a round trip, a parse and a plan per row. Each customer's
    version is checked and advanced; a row not found at its version fails the batch (stale)."""
    done = conn.execute(_RECYCLE_CUSTOMERS_PG, {
        "ids": [c["b_id"] for c in customers], "versions": [c["b_version"] for c in customers],
        "pools": [c["pool_id"] for c in customers], "previous": [c["previous_owner_id"] for c in customers],
        "now": now})
    if done.rowcount != len(customers):
        raise stale_version()              # (the rows are locked: cannot happen, but never lose a check)
    if ended:
        conn.execute(_END_STRETCHES_PG, {"ids": [e["b_id"] for e in ended],
                                         "reasons": [e["end_reason"] for e in ended], "now": now, "by": by})
