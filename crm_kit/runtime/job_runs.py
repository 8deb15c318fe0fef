"""The ``job_runs`` table: how one replica, and one only, claims a periodic job's period.

Plain Python over a SQLAlchemy session factory (no nameko), so that the claim logic is tested with
a fake clock on SQLite and PostgreSQL; :mod:`crm_kit.runtime.jobs` drives it from a nameko service
(read its docstring first: what a job is, and why a period is run *at least* once).

- :class:`Schedule` cuts time into periods of ``every`` seconds aligned on the Unix epoch (every
  replica computes the same ``period_start`` from its own clock), with a ``lease`` and a
  ``retry_after`` for failed runs.
- :meth:`JobRuns.claim` is atomic on both backends: an ``INSERT ... ON CONFLICT DO NOTHING`` of the
  period's row (the unique ``(job, period_start)``; PostgreSQL makes a concurrent inserter wait for
  the first one's commit, SQLite has one writer at a time), else a compare-and-set ``UPDATE`` that
  takes over a row whose lease has expired and whose run has not succeeded (``attempts`` is the
  fencing token). It answers a :class:`Claim` (run it) or a :class:`Wait` (until when, and why).
- :meth:`JobRuns.renew` extends the lease while the run goes on; :meth:`JobRuns.finish` records the
  outcome, only while the claim is still this replica's (a replica that lost its lease -- frozen
  longer than it -- learns so there and records nothing).
"""
from __future__ import annotations

import datetime as dt
import os
import socket
import uuid
from dataclasses import dataclass
from typing import Callable

from sqlalchemy import func, insert, select, update
from sqlalchemy.orm import sessionmaker

from crm_kit.ids import new_id

RUNNING, SUCCEEDED, FAILED, ABANDONED = "running", "succeeded", "failed", "abandoned"
SCHEDULE, MANUAL = "schedule", "manual"
EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc)
KEEP_RUNS = dt.timedelta(days=30)      # rows older than this are purged after a scheduled success
MAX_ERROR = 2000

Clock = Callable[[], dt.datetime]      # an aware UTC datetime: crm_kit.records.db.utcnow, or a test's


def replica_id() -> str:
    """Who claims: ``host:pid:token`` (a restarted container has the same host and pid)."""
    return f"{socket.gethostname()[:150]}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


@dataclass(frozen=True)
class Schedule:
    """A job's periods: ``every`` seconds from the epoch; a run holds a ``lease`` of seconds
    (renewed while it runs); a failed run is tried again ``retry_after`` seconds later, within its
    period."""
    job: str
    every: float
    lease: float = 60.0
    retry_after: float | None = None

    def __post_init__(self):
        if not 0 < len(self.job) <= 60:
            raise ValueError(f"a job name has 1 to 60 characters: {self.job!r}")
        if self.every <= 0 or self.lease <= 0:
            raise ValueError(f"job {self.job}: every and lease must be positive")
        if self.retry_after is None:
            object.__setattr__(self, "retry_after", min(60.0, max(self.every / 4, 0.05)))

    @property
    def every_us(self) -> int:
        return max(1, round(self.every * 1_000_000))

    def period_start(self, now: dt.datetime) -> dt.datetime:
        """The start of the period ``now`` is in (integer microseconds: exact on every replica)."""
        elapsed = (now - EPOCH) // dt.timedelta(microseconds=1)
        return EPOCH + dt.timedelta(microseconds=elapsed - elapsed % self.every_us)

    def next_period(self, now: dt.datetime) -> dt.datetime:
        return self.period_start(now) + dt.timedelta(microseconds=self.every_us)


@dataclass(frozen=True)
class Claim:
    """This replica runs the job now: ``as_of`` is the run's input (the same on every attempt at
    the period), ``attempt`` the fencing token."""
    run_id: str
    job: str
    trigger: str
    period_start: dt.datetime | None
    as_of: dt.datetime
    attempt: int
    claimed_by: str

    @property
    def label(self) -> str:
        """The request id of the run's audit entries, logs and events: ``job:<job>:<run id>``."""
        return f"job:{self.job}:{self.run_id}"


@dataclass(frozen=True)
class Wait:
    """Nothing to run now: ``reason`` is ``done`` (this period has succeeded), ``held`` (another
    replica's lease runs until ``until``) or ``retry`` (a failed run may be tried at ``until``)."""
    reason: str
    until: dt.datetime


class JobRuns:
    """The ``job_runs`` table of one service's database, as seen by one replica (``owner``)."""

    def __init__(self, session_factory: sessionmaker, metadata, owner: str | None = None):
        self.session_factory = session_factory
        self.table = metadata.tables["job_runs"]
        self.owner = owner or replica_id()

    # -- the scheduled period ------------------------------------------------------------------
    def claim(self, schedule: Schedule, now: dt.datetime) -> Claim | Wait:
        """Claim the period ``now`` is in, if no replica has run it successfully and none holds it."""
        t, period = self.table, schedule.period_start(now)
        lease_end = now + dt.timedelta(seconds=schedule.lease)
        with self.session_factory() as session:
            run_id = new_id()
            inserted = session.execute(_insert_ignore(session, t).values(
                id=run_id, job=schedule.job, period_start=period, trigger=SCHEDULE, as_of=now,
                claimed_by=self.owner, claimed_until=lease_end, attempts=1, started_at=now,
                outcome=RUNNING)).rowcount
            if inserted:
                _abandon_earlier(session, t, schedule.job, period, now)
                session.commit()
                return Claim(run_id, schedule.job, SCHEDULE, period, now, 1, self.owner)
            row = session.execute(select(t).where(t.c.job == schedule.job, t.c.period_start == period)).one()
            if row.outcome == SUCCEEDED:
                return Wait("done", schedule.next_period(now))
            if row.claimed_until > now:
                return Wait("held" if row.outcome == RUNNING else "retry", row.claimed_until)
            taken = session.execute(update(t).where(
                t.c.id == row.id, t.c.attempts == row.attempts, t.c.outcome != SUCCEEDED,
                t.c.claimed_until <= now).values(
                claimed_by=self.owner, claimed_until=lease_end, attempts=row.attempts + 1, started_at=now,
                finished_at=None, outcome=RUNNING, error=None)).rowcount
            session.commit()
        if not taken:       # another replica took it over first
            return Wait("held", now + dt.timedelta(seconds=min(schedule.lease, 1.0)))
        return Claim(row.id, schedule.job, SCHEDULE, period, row.as_of, row.attempts + 1, self.owner)

    # -- a run an operator asked for ----------------------------------------------------------
    def start_manual(self, job: str, as_of: dt.datetime, now: dt.datetime, lease: float) -> Claim:
        run_id = new_id()
        with self.session_factory() as session:
            session.execute(insert(self.table).values(
                id=run_id, job=job, period_start=None, trigger=MANUAL, as_of=as_of, claimed_by=self.owner,
                claimed_until=now + dt.timedelta(seconds=lease), attempts=1, started_at=now, outcome=RUNNING))
            session.commit()
        return Claim(run_id, job, MANUAL, None, as_of, 1, self.owner)

    # -- while and after it runs ---------------------------------------------------------------
    def renew(self, claim: Claim, now: dt.datetime, lease: float) -> bool:
        """Extend the lease; False when the claim is no longer this replica's."""
        return self._update_own(claim, claimed_until=now + dt.timedelta(seconds=lease))

    def finish(self, claim: Claim, now: dt.datetime, outcome: str, result=None, error: str | None = None,
               retry_at: dt.datetime | None = None) -> bool:
        """Record how the run ended; a failed run may be tried again from ``retry_at``. False (and
        nothing recorded) when another replica has taken the period over meanwhile."""
        values = {"finished_at": now, "outcome": outcome, "result": result,
                  "error": error[:MAX_ERROR] if error else None}
        if retry_at is not None:
            values["claimed_until"] = retry_at
        return self._update_own(claim, **values)

    def _update_own(self, claim: Claim, **values) -> bool:
        t = self.table
        with self.session_factory() as session:
            done = session.execute(update(t).where(
                t.c.id == claim.run_id, t.c.claimed_by == claim.claimed_by, t.c.attempts == claim.attempt,
                t.c.outcome == RUNNING).values(**values)).rowcount
            session.commit()
        return bool(done)

    def purge(self, job: str, older_than: dt.datetime) -> int:
        t = self.table
        with self.session_factory() as session:
            done = session.execute(t.delete().where(t.c.job == job, t.c.started_at < older_than)).rowcount
            session.commit()
        return done or 0

    # -- what operators and metrics read -------------------------------------------------------
    def coverage(self, job: str) -> "Coverage":
        """The latest scheduled period that succeeded, the earliest scheduled period at all, and
        when any run of the job (scheduled or manual) last succeeded."""
        t = self.table
        scheduled = (t.c.job == job) & t.c.period_start.is_not(None)
        with self.session_factory() as session:
            last_period = session.scalar(select(func.max(t.c.period_start)).where(
                scheduled, t.c.outcome == SUCCEEDED))
            first_period = session.scalar(select(func.min(t.c.period_start)).where(scheduled))
            last_success = session.scalar(select(func.max(t.c.finished_at)).where(
                t.c.job == job, t.c.outcome == SUCCEEDED))
        return Coverage(_aware(last_period), _aware(first_period), _aware(last_success))

    def last_runs(self, job: str, limit: int = 5) -> list[dict]:
        t = self.table
        with self.session_factory() as session:
            rows = session.execute(select(t).where(t.c.job == job).order_by(t.c.started_at.desc(), t.c.id.desc())
                                   .limit(limit)).mappings().all()
        return [dict(row) for row in rows]


@dataclass(frozen=True)
class Coverage:
    last_success_period: dt.datetime | None
    first_period: dt.datetime | None
    last_success_at: dt.datetime | None

    def due_since(self, schedule: Schedule, fallback: dt.datetime) -> dt.datetime:
        """The scheduled time of the first period without a successful run: the one after the last
        success; never one: the first period scheduled at all (or ``fallback``)."""
        if self.last_success_period is not None:
            return self.last_success_period + dt.timedelta(microseconds=schedule.every_us)
        return self.first_period or fallback


def lateness(now: dt.datetime, due_since: dt.datetime) -> float:
    """Seconds since the first period without a successful run was scheduled (0 when none is due)."""
    return max(0.0, (now - due_since).total_seconds())


def _insert_ignore(session, table):
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as dialect_insert
    elif dialect == "sqlite":
        from sqlalchemy.dialects.sqlite import insert as dialect_insert
    else:  # pragma: no cover - the kit runs on these two
        raise NotImplementedError(f"periodic jobs need PostgreSQL or SQLite, not {dialect}")
    return dialect_insert(table).on_conflict_do_nothing()


def _abandon_earlier(session, t, job: str, period: dt.datetime, now: dt.datetime) -> None:
    """Runs of earlier periods still ``running`` with their lease expired: their replica died and
    their period ended before anyone took them over (the period just claimed covers them)."""
    session.execute(update(t).where(t.c.job == job, t.c.period_start < period, t.c.outcome == RUNNING,
                                    t.c.claimed_until < now).values(outcome=ABANDONED))


def _aware(value: dt.datetime | None) -> dt.datetime | None:
    # func.max() of a UtcDateTime column comes back through its type, but not on every driver
    if value is None or isinstance(value, dt.datetime) and value.tzinfo is not None:
        return value
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value)
    return value.replace(tzinfo=dt.timezone.utc)

