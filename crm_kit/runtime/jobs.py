"""Periodic jobs that run once per period across every replica of a service.

Timers of the domain (recycle a pool's stale leads, flag an SLA breach, remind an owner, renew a
contract) are periodic jobs::

    class LeadsService(CrmService):
        @periodic("recycle_pools", every=RECYCLE_INTERVAL)
        def recycle_pools_periodically(self, as_of):
            return application.recycle_all_pools(self.db, as_of)

The method receives ``as_of``, a timezone-aware UTC datetime: the time the rule runs "as of". It
runs in a nameko worker of its own, like an RPC or an event handler: ``self.db`` is a fresh unit of
work, the principal is the platform (``Principal.system(<service>)``), and the request id of its
logs, audit entries and events is ``job:<job>:<run id>``, which names the run's row in
``job_runs``. So every automatic change records which rule did it (the audit actor and action,
the request id) and with which inputs (the row's ``as_of``). What the method returns (a small,
JSON-safe summary) is kept in the row's ``result``.

**Once per period, across replicas.** Time is cut into periods of ``every`` seconds aligned on the
Unix epoch, so every replica computes the same period from its own clock. At the start of each
period every replica tries to claim it in the service's own ``job_runs`` table (one row per job and
period, unique: an ``INSERT ... ON CONFLICT DO NOTHING``); the one whose row went in runs it, the
others see the row and wait for the next period (``crm_kit.runtime.job_runs``). The same table and
code work on SQLite, where one process is all there is. A service that starts in the middle of a
period whose run has not happened runs it at once; periods missed while no replica ran are not
replayed one by one: the next run covers them, since it runs "as of" its own time.

**At least once, not at most once.** The claim is a lease (``lease`` seconds, default 60, renewed
every third of it while the run goes on). A replica that dies mid-run stops renewing; once the
lease has expired, another replica takes the period over (within the period) with the *same*
``as_of``, and the ``attempts`` counter is bumped; a failed run is tried again after
``retry_after`` seconds (default a quarter of the period, at most 60 s), still within its period.
At-least-once is the right choice for these rules because their effects are idempotent for a given
``as_of``: each is a state change decided from the records ("held and without follow-up since
``as_of`` minus N days"), made in the same transaction as its audit entry and its event, so a
second run finds nothing left to do -- where at-most-once would silently skip a period's work
whenever a replica died. A job must therefore be written so: decide from the records, and record
what it did (a flag, a state) in the same transaction as the effect (a reminder job marks the
reminder sent with the event it raises). A replica frozen longer than its lease (and taken over)
learns so when it finishes: its outcome is not recorded, and a warning is logged.

**An operator runs a job now**: every service answers the RPC
``run_job(name, as_of=None, dry_run=False)`` (declared by ``CrmService``; platform-only:
``@rpc(principal=False)``, and the gateway routes no HTTP request to it), and ``list_jobs(limit=5)``,
the jobs with their last runs. ``crm jobs run <service> <job> [--as-of T] [--dry-run]`` and
``crm jobs list [<service>]`` call them. A manual run is recorded as a ``job_runs`` row with
``trigger = 'manual'`` and no period (it neither is nor replaces a scheduled run, and may overlap
one: a job is idempotent per ``as_of``, and records' optimistic versions make the later of two
writers fail rather than apply twice; a ``run_job`` request redelivered because its replica died
is run again, for the same reason harmlessly). ``dry_run`` previews: the job runs on a unit of work that
flushes but never commits (:class:`~crm_kit.runtime.preview.PreviewUnitOfWork`): the answer has the job's result and the
events it would raise, and nothing is changed or recorded. A job whose effects are not all in its
unit of work (an RPC to another service, a mail) must say ``previewable=False``.

**The clock is injectable**: ``@periodic(..., clock=...)`` (a callable returning an aware UTC
datetime; default :func:`crm_kit.records.db.utcnow`) gives the periods, the leases and the
scheduled ``as_of``; the claim logic takes ``now`` as an argument (``JobRuns.claim``), which is how
the unit tests drive it with a fake clock.

**Metrics** (``crm_kit.runtime.metrics``, labels ``service`` and ``job_name``; not ``job``, which is
Prometheus's scrape job): ``crm_periodic_job_last_success_timestamp_seconds`` (when any replica
last finished the job successfully, read from the table), ``crm_periodic_job_lateness_seconds``
(seconds since the first scheduled period without a successful run began; 0 while the current
period's run has succeeded, so it counts up by the run's duration at each period start, and
keeps growing while the job fails or nobody runs it), ``crm_periodic_job_runs_total{trigger,
outcome}`` (runs by this replica: ``schedule``/``manual``, ``succeeded``/``failed``) and
``crm_periodic_job_duration_seconds``. Alerts ``CrmPeriodicJobLate`` and ``CrmPeriodicJobFailing``
are in ``deploy/observability/alerts.rules.yml``.
"""
from __future__ import annotations

import datetime as dt
import inspect
import logging
import time
from collections import Counter
from functools import partial

import eventlet
from eventlet.event import Event
from nameko.extensions import ENTRYPOINT_EXTENSIONS_ATTR, DependencyProvider, Entrypoint

from crm_kit.context import Principal
from crm_kit.errors import CrmError, NotFound, ValidationFailed
from crm_kit.ids import new_id
from crm_kit.records.audit import json_safe
from crm_kit.records.db import utcnow
from crm_kit.runtime import metrics
from crm_kit.runtime.job_runs import (
    FAILED,
    KEEP_RUNS,
    MANUAL,
    SCHEDULE,
    SUCCEEDED,
    Claim,
    Clock,
    JobRuns,
    Schedule,
    lateness,
)
from crm_kit.runtime.preview import PreviewUnitOfWork
from crm_kit.runtime.transient import is_transient
from crm_kit.runtime.uow import UnitOfWork

log = logging.getLogger(__name__)

PREVIEW_KEY = "crm_job_preview"        # worker context: run this job on a PreviewUnitOfWork
MAX_SLEEP = 60.0                       # a replica reads the table at least this often (metrics)


class PeriodicJob(Entrypoint):
    """``@periodic(name, every=seconds, lease=60, retry_after=None, clock=None, previewable=True)``."""

    def __init__(self, job: str, every: float, lease: float = 60.0, retry_after: float | None = None,
                 clock: Clock | None = None, previewable: bool = True, **kwargs):
        self.schedule = Schedule(job, float(every), float(lease), retry_after)
        self.clock = clock or utcnow
        self.previewable = previewable
        kwargs.setdefault("expected_exceptions", (Exception,))   # logged here, once, with an error id
        super().__init__(**kwargs)

    # -- lifecycle ---------------------------------------------------------------------------
    def setup(self):
        self._stop = Event()
        self._loop_gt = None

    def start(self):
        database = _database(self.container)
        self.runs = JobRuns(database.session_factory, database.base.metadata)
        self.service = self.container.service_name
        self._due_since = self.schedule.period_start(self.clock())   # until the table tells
        job = self.schedule.job
        metrics.JOB_LATENESS.labels(self.service, job).set_function(
            lambda: lateness(self.clock(), self._due_since))
        for trigger in (SCHEDULE, MANUAL):
            for outcome in (SUCCEEDED, FAILED):
                metrics.JOB_RUNS.labels(self.service, job, trigger, outcome)
        self._loop_gt = self.container.spawn_managed_thread(self._loop, identifier=f"periodic-job-{job}")

    def stop(self):
        self._stop.send(True)
        if self._loop_gt is not None:
            self._loop_gt.wait()      # a run in progress finishes and is recorded

    def kill(self):
        if self._loop_gt is not None:
            self._loop_gt.kill()

    # -- the schedule --------------------------------------------------------------------------
    def _loop(self):
        failures = 0
        while not self._stop.ready():
            try:
                wake = self.tick()
                failures = 0
            except Exception as exc:  # the database is away: try again, backing off; never die
                failures += 1
                delay = min(30.0, 0.5 * 2 ** min(failures, 6))
                log.warning("periodic job %s: cannot reach its table, trying again in %.1fs: %r",
                            self.schedule.job, delay, exc)
                wake = self.clock() + dt.timedelta(seconds=delay)
            seconds = min(MAX_SLEEP, max(0.01, (wake - self.clock()).total_seconds()))
            with eventlet.Timeout(seconds, False):
                self._stop.wait()

    def tick(self) -> dt.datetime:
        """Claim the current period and run it, or say when to look again."""
        schedule, now = self.schedule, self.clock()
        state = self.runs.claim(schedule, now)
        if isinstance(state, Claim):
            self.execute(state)
            return self.clock()       # look again at once: done, or when to retry
        coverage = self.runs.coverage(schedule.job)
        self._due_since = coverage.due_since(schedule, self._due_since)
        if coverage.last_success_at is not None:
            metrics.JOB_LAST_SUCCESS.labels(self.service, schedule.job).set(coverage.last_success_at.timestamp())
        wake = min(state.until, schedule.next_period(now))
        if state.reason == "held":    # poll while another replica runs it: its success ends our lateness
            wake = min(wake, now + dt.timedelta(seconds=min(5.0, max(0.1, schedule.every / 10))))
        return wake

    # -- a run ------------------------------------------------------------------------------
    def execute(self, claim: Claim):
        """Run the job for ``claim`` in a worker, renewing the lease meanwhile, and record how it
        ended. Returns ``(result, exc_info)``."""
        job, started = self.schedule.job, time.perf_counter()
        log.info("periodic job %s started", job, extra={
            "request_id": claim.label, "job_run": claim.run_id, "trigger": claim.trigger,
            "attempt": claim.attempt, "as_of": claim.as_of.isoformat(),
            "period_start": claim.period_start.isoformat() if claim.period_start else None})
        renewer = self.container.spawn_managed_thread(partial(self._renew, claim), identifier="job-lease")
        try:
            result, exc_info, _ = self._in_worker(claim)
        finally:
            renewer.kill()
        elapsed, now = time.perf_counter() - started, self.clock()
        if exc_info is None:
            result = json_safe(result)
            outcome, recorded = SUCCEEDED, self.runs.finish(claim, now, SUCCEEDED, result=result)
            if claim.trigger == SCHEDULE:
                try:
                    self.runs.purge(job, now - KEEP_RUNS)
                except Exception as exc:  # next time
                    log.warning("periodic job %s: could not purge old runs: %r", job, exc)
        else:
            outcome, exc = FAILED, exc_info[1]
            error_id = exc.extra.get("error_id") if isinstance(exc, CrmError) else None
            error_id = error_id or new_id()
            retry_at = (now + dt.timedelta(seconds=self.schedule.retry_after)
                        if claim.trigger == SCHEDULE else None)     # a manual run is not retried
            recorded = self.runs.finish(claim, now, FAILED, retry_at=retry_at,
                                        error=f"{type(exc).__name__}: {exc} (error_id={error_id})")
            (log.warning if is_transient(exc) else log.error)(
                "periodic job %s failed (error_id=%s)", job, error_id, exc_info=exc_info,
                extra={"request_id": claim.label, "job_run": claim.run_id, "error_id": error_id})
            exc_info = (type(exc), _with_error_id(exc, error_id, claim.run_id), exc_info[2])
        metrics.JOB_RUNS.labels(self.service, job, claim.trigger, outcome).inc()
        metrics.JOB_DURATION.labels(self.service, job).observe(elapsed)
        log.info("periodic job %s %s", job, outcome, extra={"request_id": claim.label, "job_run": claim.run_id,
                                                          "outcome": outcome, "duration_ms": round(elapsed * 1000, 2)})
        if not recorded:
            log.warning("periodic job %s: run %s lost its lease (another replica took the period over); "
                        "its outcome is not recorded", job, claim.run_id, extra={"job_run": claim.run_id})
        return result, exc_info

    def preview(self, as_of: dt.datetime):
        """Run the job as of ``as_of`` on units of work that never commit: ``(result, exc_info,
        the events it would have raised)``."""
        claim = Claim(new_id(), self.schedule.job, "preview", None, as_of, 1, self.runs.owner)
        return self._in_worker(claim, preview=True)

    def _in_worker(self, claim: Claim, preview: bool = False):
        done = Event()

        def handle_result(worker_ctx, result, exc_info):
            done.send((result, exc_info, getattr(worker_ctx, "crm_previewed", None)))
            return result, exc_info

        context = {"request_id": claim.label, "principal": Principal.system(self.service).to_dict(),
                   PREVIEW_KEY: preview}
        self.container.spawn_worker(self, (), {"as_of": claim.as_of}, context_data=context,
                                    handle_result=handle_result)
        return done.wait()

    def _renew(self, claim: Claim):
        lease = self.schedule.lease
        while True:
            eventlet.sleep(lease / 3)
            try:
                if not self.runs.renew(claim, self.clock(), lease):
                    return        # taken over (we were frozen longer than the lease): finish says so
            except Exception as exc:
                log.warning("periodic job %s: could not renew its lease: %r", self.schedule.job, exc)


periodic = PeriodicJob.decorator


def _with_error_id(exc: BaseException, error_id: str, run_id: str) -> BaseException:
    """What a manual run's caller is told: a typed error as itself, anything else without internals."""
    if isinstance(exc, CrmError) or is_transient(exc):
        return exc
    return CrmError("The job failed.", {"error_id": error_id, "run_id": run_id})


def _database(container):
    from crm_kit.runtime.dependencies import Database
    for dependency in container.dependencies:
        if isinstance(dependency, Database):
            return dependency
    raise TypeError(f"{container.service_name}: a service with periodic jobs needs a Database dependency")


# -- what the kit adds to a service with jobs -------------------------------------------------------
class JobControl(DependencyProvider):
    """``self.crm_jobs``: the service's jobs, for ``run_job`` and ``list_jobs``; and, in a preview's
    worker, every unit of work of the service swapped for a :class:`PreviewUnitOfWork`."""

    def worker_setup(self, worker_ctx):
        if not (worker_ctx.data.get(PREVIEW_KEY) and isinstance(worker_ctx.entrypoint, PeriodicJob)):
            return
        worker_ctx.crm_previewed = previewed = []
        for attr, value in list(vars(worker_ctx.service).items()):
            if isinstance(value, UnitOfWork):
                setattr(worker_ctx.service, attr, PreviewUnitOfWork.of(value, previewed))

    def get_dependency(self, worker_ctx):
        return Jobs({ep.schedule.job: ep for ep in self.container.entrypoints if isinstance(ep, PeriodicJob)})


class Jobs:
    def __init__(self, entrypoints: dict[str, PeriodicJob]):
        self.entrypoints = entrypoints

    def _job(self, name) -> PeriodicJob:
        if not isinstance(name, str) or name not in self.entrypoints:
            raise NotFound.of("job", str(name))
        return self.entrypoints[name]

    def run(self, name, as_of=None, dry_run=False) -> dict:
        job = self._job(name)
        if not isinstance(dry_run, bool):
            raise ValidationFailed.from_messages({"dry_run": ["Not a valid boolean."]})
        if dry_run and not job.previewable:
            raise ValidationFailed.from_messages({"dry_run": [f"The job {name} cannot be previewed."]})
        now = job.clock()
        as_of = _as_of(as_of) or now
        if dry_run:
            result, exc_info, previewed = job.preview(as_of)
            events = dict(Counter(env["event_type"] for env in previewed or ()))
            run_id = None
        else:
            claim = job.runs.start_manual(name, as_of, now, job.schedule.lease)
            result, exc_info = job.execute(claim)
            events, run_id = None, claim.run_id
        if exc_info is not None and dry_run:
            error_id = new_id()
            (log.warning if is_transient(exc_info[1]) else log.error)(
                "periodic job %s: its preview failed (error_id=%s)", name, error_id, exc_info=exc_info,
                extra={"error_id": error_id})
            raise _with_error_id(exc_info[1], error_id, "")
        if exc_info is not None:
            raise exc_info[1]
        return {"job": name, "run_id": run_id, "as_of": as_of.isoformat(), "dry_run": dry_run,
                "outcome": "previewed" if dry_run else SUCCEEDED, "result": json_safe(result), "events": events}

    def list(self, limit=5) -> dict:
        if not isinstance(limit, int) or isinstance(limit, bool) or not 1 <= limit <= 100:
            raise ValidationFailed.from_messages({"limit": ["Must be an integer from 1 to 100."]})
        items = []
        for name, job in sorted(self.entrypoints.items()):
            coverage = job.runs.coverage(name)
            now = job.clock()
            due_since = coverage.due_since(job.schedule, job.schedule.period_start(now))
            items.append({
                "job": name, "every_seconds": job.schedule.every, "lease_seconds": job.schedule.lease,
                "previewable": job.previewable,
                "last_success_at": coverage.last_success_at.isoformat() if coverage.last_success_at else None,
                "lateness_seconds": round(lateness(now, due_since), 3),
                "runs": [json_safe(run) for run in job.runs.last_runs(name, limit)],
            })
        return {"items": items, "next_cursor": None}


def _as_of(value) -> dt.datetime | None:
    """ISO 8601 (one without an offset is taken as UTC, as the services' APIs do) or None."""
    if value is None or isinstance(value, dt.datetime):
        parsed = value
    else:
        try:
            parsed = dt.datetime.fromisoformat(str(value))
        except ValueError:
            raise ValidationFailed.from_messages({"as_of": ["Not a valid ISO 8601 date and time."]}) from None
    if parsed is None:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=dt.timezone.utc)
    return parsed.astimezone(dt.timezone.utc)


def periodic_jobs(cls) -> list[tuple[str, PeriodicJob]]:
    """``(method name, entrypoint)`` of every periodic job a service class declares."""
    return [(method_name, ep) for method_name, method in inspect.getmembers(cls, inspect.isfunction)
            for ep in getattr(method, ENTRYPOINT_EXTENSIONS_ATTR, ()) if isinstance(ep, PeriodicJob)]


def check_job_names(cls) -> None:
    """Two periodic jobs of one service may not share a name (they would share their runs)."""
    names = [ep.schedule.job for _, ep in periodic_jobs(cls)]
    if len(set(names)) != len(names):
        raise TypeError(f"{cls.__name__}: two periodic jobs have the same name: {sorted(names)}")
