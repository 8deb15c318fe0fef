"""Running work jobs (``crm_kit.runtime.work_jobs``: read it first) in a nameko service.

A service declares each kind of job it runs as a method::

    class LeadsService(CrmService):
        @work_job("import_leads", check=application.check_lead_import)
        def import_leads_job(self, job):
            return application.import_leads_job(self.db, self.principal, job)

Each kind's entrypoint polls the service's ``work_jobs`` table (every ``WORK_JOB_POLL_SECONDS``,
default 0.5) for a job of its kind that is queued, or running under a lease that ran out (its
replica died: SIGKILL, a pod evicted); it claims it (``WORK_JOB_LEASE_SECONDS``, default 30,
renewed every third of it) and runs the method in a nameko worker of its own, as the job's owner
(their principal: their data scope, the audit actor) with the request id ``job:<job id>``. The
method gets a :class:`~crm_kit.runtime.work_job_batches.JobRun`, does its batches (each committed with its
``record_batch``) and returns a small JSON-safe summary, kept on the job. ``JobCancelled`` (a cancel,
at a batch boundary) ends it ``cancelled``; a stopping service ends it at the next batch boundary
and gives it back (``queued``: the next replica or the restarted one resumes it); a database or
broker away gives it back too; any other error fails it, with the error (the batches committed
stay, and the job's view says how far it got).

``check(params, text)`` (optional) refuses a job's parameters or file before it is queued (a
``ValidationFailed``: 422 to the caller, the job ``failed``): ``text`` is None for a job without a
file (an export).

A service that runs jobs derives from :class:`WorkJobService` too (``class LeadsService(WorkJobService,
CrmService)``), which gives it the job RPCs (``start_work_job``, ``append_work_job_input``,
``submit_work_job``, ``get_work_job``, ``list_work_jobs``, ``cancel_work_job``,
``work_job_result_page``); the gateway's ``/api/v1/jobs`` routes call them (``gateway.jobs``).
"""
from __future__ import annotations

import logging
import os
import time
from functools import partial

import eventlet
from eventlet.event import Event
from nameko.extensions import DependencyProvider, Entrypoint

from crm_kit.errors import CrmError, NotFound, ValidationFailed
from crm_kit.ids import new_id
from crm_kit.records.audit import json_safe
from crm_kit.records.db import utcnow
from crm_kit.runtime import metrics
from crm_kit.runtime.entrypoints import rpc
from crm_kit.runtime.jobs import periodic
from crm_kit.runtime.transient import is_transient
from crm_kit.runtime.work_job_batches import JobRun
from crm_kit.runtime.work_job_housekeeping import housekeep
from crm_kit.runtime.work_jobs import CANCELLED, FAILED, STATES, SUCCEEDED, JobCancelled, WorkJobs, _error_text

log = logging.getLogger(__name__)

GIVEN_BACK = "given_back"
OUTCOMES = (SUCCEEDED, FAILED, CANCELLED, GIVEN_BACK)
STATES_EVERY = 5.0          # seconds between two readings of the jobs by state (the gauges), per service


def _env_float(name: str, default: float) -> float:
    try:
        return float(os.environ.get(name, "") or default)
    except ValueError:
        return default


class JobPaused(Exception):
    """Raised at a batch boundary while the service stops: the job is given back, to resume."""


class WorkJobKind(Entrypoint):
    """``@work_job(kind, check=None)``: the method that runs jobs of ``kind``."""

    def __init__(self, kind: str, check=None, **kwargs):
        if not 0 < len(kind) <= 60:
            raise ValueError(f"a job kind has 1 to 60 characters: {kind!r}")
        self.kind = kind
        self.check = check
        kwargs.setdefault("expected_exceptions", (Exception,))
        super().__init__(**kwargs)

    def setup(self):
        self._stop = Event()
        self._stopping = False
        self._loop_gt = None
        self.lease = _env_float("WORK_JOB_LEASE_SECONDS", 30.0)
        self.poll = _env_float("WORK_JOB_POLL_SECONDS", 0.5)

    def start(self):
        self.store = work_jobs_store(self.container)
        self.service = self.container.service_name
        for outcome in OUTCOMES:      # every series exists from the start (a dashboard shows 0, not "no data")
            metrics.WORK_JOB_ATTEMPTS.labels(self.service, self.kind, outcome)
        metrics.WORK_JOB_ROWS.labels(self.service, self.kind)
        self._loop_gt = self.container.spawn_managed_thread(self._loop, identifier=f"work-job-{self.kind}")

    def stop(self):
        self._stopping = True           # a job running ends at its next batch boundary, given back
        self._stop.send(True)
        if self._loop_gt is not None:
            self._loop_gt.wait()

    def kill(self):
        if self._loop_gt is not None:
            self._loop_gt.kill()

    def _loop(self):
        failures = 0
        while not self._stop.ready():
            try:
                report_states(self.container, self.store)
                row = self.store.claim_next([self.kind], utcnow(), self.lease)
                failures = 0
            except Exception as exc:  # the database is away: back off, never die
                failures += 1
                row, delay = None, min(30.0, 0.5 * 2 ** min(failures, 6))
                log.warning("work jobs %s: cannot reach their table, trying again in %.1fs: %r",
                            self.kind, delay, exc)
                with eventlet.Timeout(delay, False):
                    self._stop.wait()
                continue
            if row is not None:
                self.execute(row)
                continue
            with eventlet.Timeout(self.poll, False):
                self._stop.wait()

    def _check_stop(self):
        if self._stopping:
            raise JobPaused()

    def execute(self, row: dict) -> None:
        run = JobRun(self.store, row)
        run.stopping = self._check_stop
        label = f"job:{run.id}"
        log.info("work job %s (%s) started, attempt %s, from batch %s", run.id, self.kind, run.attempt,
                 run.next_batch, extra={"request_id": label, "work_job": run.id})
        started = time.perf_counter()
        renewer = self.container.spawn_managed_thread(partial(self._renew, run), identifier="work-job-lease")
        done = Event()

        def handle_result(worker_ctx, result, exc_info):
            done.send((result, exc_info))
            return result, exc_info

        rows_before = run.rows_done
        try:
            self.container.spawn_worker(self, (), {"job": run},
                                        context_data={"request_id": label, "principal": row["principal"]},
                                        handle_result=handle_result)
            result, exc_info = done.wait()
        finally:
            renewer.kill()
        exc = exc_info[1] if exc_info else None
        try:
            if exc is None:
                self.store.finish(run.id, run.attempt, SUCCEEDED, summary=json_safe(result))
                outcome = SUCCEEDED
            elif isinstance(exc, JobCancelled):
                self.store.finish(run.id, run.attempt, CANCELLED, summary={"counts": run.counts})
                outcome = CANCELLED
            elif isinstance(exc, JobPaused) or is_transient(exc):
                self.store.release(run.id, run.attempt)
                outcome = GIVEN_BACK
            else:
                error_id = (exc.extra.get("error_id") if isinstance(exc, CrmError) else None) or new_id()
                message = _error_text(exc) if isinstance(exc, CrmError) else "An internal error occurred."
                log.error("work job %s (%s) failed (error_id=%s)", run.id, self.kind, error_id, exc_info=exc_info,
                          extra={"request_id": label, "work_job": run.id, "error_id": error_id})
                self.store.finish(run.id, run.attempt, FAILED, summary={"counts": run.counts},
                                  error=f"{message} (error_id={error_id})")
                outcome = FAILED
        except Exception as record_exc:  # the database went away: the lease runs out, another run resumes
            log.warning("work job %s: could not record how it ended: %r", run.id, record_exc)
            return
        metrics.WORK_JOB_ATTEMPTS.labels(self.service, self.kind, outcome).inc()
        metrics.WORK_JOB_ROWS.labels(self.service, self.kind).inc(max(0, run.rows_done - rows_before))
        metrics.WORK_JOB_DURATION.labels(self.service, self.kind).observe(time.perf_counter() - started)
        log.info("work job %s (%s) %s", run.id, self.kind, outcome, extra={
            "request_id": label, "work_job": run.id, "outcome": outcome,
            "duration_ms": round((time.perf_counter() - started) * 1000, 2)})

    def _renew(self, run: JobRun):
        while True:
            eventlet.sleep(self.lease / 3)
            try:
                if not self.store.renew(run.id, run.attempt, utcnow(), self.lease):
                    return
            except Exception as exc:
                log.warning("work job %s: could not renew its lease: %r", run.id, exc)


work_job = WorkJobKind.decorator


def report_states(container, store: WorkJobs) -> None:
    """The gauges of the service's jobs by state and of the oldest queued one's age, read at most
    every ``STATES_EVERY`` seconds by whichever kind's loop comes first."""
    now = time.monotonic()
    if now < getattr(container, "crm_work_job_states_at", 0.0):
        return
    container.crm_work_job_states_at = now + STATES_EVERY
    counts, oldest = store.counts_by_state()
    service = container.service_name
    for state in STATES:
        metrics.WORK_JOBS.labels(service, state).set(counts.get(state, 0))
    metrics.WORK_JOB_OLDEST_QUEUED_AGE.labels(service).set(
        max(0.0, (utcnow() - oldest).total_seconds()) if oldest is not None else 0.0)


def work_jobs_store(container) -> WorkJobs:
    """The one store of a service container (made on first use)."""
    store = getattr(container, "crm_work_jobs_store", None)
    if store is None:
        from crm_kit.runtime.dependencies import Database
        databases = [d for d in container.dependencies if isinstance(d, Database)]
        if not databases:
            return None
        database = databases[0]
        store = WorkJobs(database.session_factory, database.base.metadata, container.service_name)
        container.crm_work_jobs_store = store
    return store


class WorkJobControl(DependencyProvider):
    """``self.crm_work_jobs``: the job RPCs' side (:class:`WorkJobsApi`)."""

    def get_dependency(self, worker_ctx):
        kinds = {ep.kind: ep for ep in self.container.entrypoints if isinstance(ep, WorkJobKind)}
        return WorkJobsApi(work_jobs_store(self.container) if kinds else None, kinds)


class WorkJobsApi:
    def __init__(self, store: WorkJobs | None, kinds: dict):
        self.store = store
        self.kinds = kinds

    def _store(self) -> WorkJobs:
        if self.store is None:
            raise NotFound("This service runs no jobs.", {})
        return self.store

    def start(self, principal, kind, params=None, with_input=False) -> dict:
        if kind not in self.kinds:
            raise NotFound.of("job kind", str(kind))
        if params is not None and not isinstance(params, dict):
            raise ValidationFailed.from_messages({"params": ["Not a valid object."]})
        params = params or {}
        if with_input:
            return self._store().create(kind, principal, params)
        check = self.kinds[kind].check
        if check is not None:
            check(params, None)
        return self._store().create(kind, principal, params, state="queued")

    def submit(self, principal, job_id, parts) -> dict:
        store = self._store()
        view = store.view(job_id, principal)
        kind = self.kinds.get(view["kind"])
        return store.submit(job_id, principal, parts, kind.check if kind else None)


class WorkJobService:
    """The job RPCs of a service that runs work jobs (a mixin before ``CrmService``), and the
    periodic job that keeps its jobs tidy (``crm_kit.runtime.work_job_housekeeping``)."""
    crm_work_jobs = WorkJobControl()

    @periodic("work_jobs_housekeeping", every=_env_float("WORK_JOB_HOUSEKEEPING_SECONDS", 600.0))
    def work_jobs_housekeeping(self, as_of):
        """Uploads left unfinished failed (rule ``upload_timeout``), finished jobs' files dropped, old
        jobs purged (``retention``)."""
        return housekeep(self.db, as_of)

    @rpc
    def start_work_job(self, kind, params=None, with_input=False):
        """Start a job of ``kind`` for the caller: ``with_input``, its file comes next in parts
        (``append_work_job_input``, then ``submit_work_job``); else it is queued now."""
        return self.crm_work_jobs.start(self.principal, kind, params, with_input)

    @rpc
    def append_work_job_input(self, job_id, seq, text):
        """One part of the job's file (numbered from 0; a part sent twice is kept once)."""
        return self.crm_work_jobs._store().append_input(job_id, self.principal, seq, text)

    @rpc
    def submit_work_job(self, job_id, parts):
        """The file is complete: checked (a 422 fails the job), then queued."""
        return self.crm_work_jobs.submit(self.principal, job_id, parts)

    @rpc
    def get_work_job(self, job_id):
        return self.crm_work_jobs._store().view(job_id, self.principal)

    @rpc
    def list_work_jobs(self, limit=50, state=None):
        return self.crm_work_jobs._store().list(self.principal, limit, state)

    @rpc
    def cancel_work_job(self, job_id):
        return self.crm_work_jobs._store().cancel(job_id, self.principal)

    @rpc
    def work_job_result_page(self, job_id, cursor=None):
        return self.crm_work_jobs._store().result_page(job_id, self.principal, cursor)
