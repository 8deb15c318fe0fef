"""The rules that keep a service's work jobs tidy (``crm_kit.runtime.work_jobs``), run by the
periodic job ``work_jobs_housekeeping`` of every service that runs work jobs
(``crm_kit.runtime.work_job_runner.WorkJobService``; ``run_job("work_jobs_housekeeping", as_of=...,
dry_run=true)`` previews them):

=====================  =========================================================================
``upload_timeout``     a job still ``uploading`` ``WORK_JOB_UPLOAD_TIMEOUT_SECONDS`` (default 3600)
                       after it was created -- its gateway died mid-upload, its client went away
                       -- is ``failed``: its error and its summary name the rule and its inputs
                       (when it was created, the timeout, the parts that had arrived), and the
                       parts are dropped. Without this rule it would stay ``uploading`` forever.
``drop_inputs``        a finished job's file parts are dropped (what it did is in its batches:
                       counts, the per-row report).
``retention``          a finished job older than ``WORK_JOB_RETENTION_DAYS`` (default 30, by
                       ``finished_at``) is deleted with its batches.
=====================  =========================================================================

Each rule decides from the rows "as of" the run's time and writes through the run's unit of work,
so a preview (a ``PreviewUnitOfWork``) answers what it would do and changes nothing, and a second
run as of the same time finds nothing left. Bounded work per run (``BATCH`` jobs per rule): a
backlog is worked off over the next runs.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import delete, func, select, update

from crm_kit.config import env_float
from crm_kit.runtime.work_job_states import FAILED, FINISHED, MAX_ERROR, UPLOADING

BATCH = 500
UPLOAD_TIMEOUT_RULE, DROP_INPUTS_RULE, RETENTION_RULE = "upload_timeout", "drop_inputs", "retention"


@dataclass(frozen=True)
class Rules:
    upload_timeout_seconds: float
    retention_days: float

    @classmethod
    def from_env(cls) -> "Rules":
        return cls(upload_timeout_seconds=max(60.0, env_float("WORK_JOB_UPLOAD_TIMEOUT_SECONDS", 3600.0)),
                   retention_days=max(1.0, env_float("WORK_JOB_RETENTION_DAYS", 30.0)))


def upload_deadline(as_of: dt.datetime, timeout_seconds: float) -> dt.datetime:
    """The rule ``upload_timeout``: an upload begun at or before this time is over its time as of ``as_of``."""
    return as_of - dt.timedelta(seconds=timeout_seconds)


def housekeep(uow, as_of: dt.datetime, rules: Rules | None = None) -> dict:
    """Every rule once, in ``uow`` (one transaction): ``{"expired": [...], "inputs_dropped", "purged"}``."""
    rules = rules or Rules.from_env()
    tables = uow.metadata.tables
    jobs, inputs, batches = tables["work_jobs"], tables["work_job_inputs"], tables["work_job_batches"]
    with uow:
        session = uow.session
        expired = _expire_uploads(session, jobs, inputs, as_of, rules)
        finished_with_input = session.execute(
            select(inputs.c.job_id).join(jobs, jobs.c.id == inputs.c.job_id)
            .where(jobs.c.state.in_(FINISHED)).distinct().limit(BATCH)).scalars().all()
        if finished_with_input:
            session.execute(delete(inputs).where(inputs.c.job_id.in_(finished_with_input)))
        cutoff = as_of - dt.timedelta(days=rules.retention_days)
        old = session.execute(select(jobs.c.id).where(jobs.c.state.in_(FINISHED), jobs.c.finished_at < cutoff)
                              .order_by(jobs.c.finished_at).limit(BATCH)).scalars().all()
        if old:
            session.execute(delete(batches).where(batches.c.job_id.in_(old)))
            session.execute(delete(inputs).where(inputs.c.job_id.in_(old)))
            session.execute(delete(jobs).where(jobs.c.id.in_(old)))
        uow.commit()
    return {"expired": expired, "inputs_dropped": len(finished_with_input), "purged": len(old),
            "rules": {UPLOAD_TIMEOUT_RULE: {"timeout_seconds": rules.upload_timeout_seconds},
                      RETENTION_RULE: {"days": rules.retention_days, "finished_before": cutoff.isoformat()}}}


def _expire_uploads(session, jobs, inputs, as_of: dt.datetime, rules: Rules) -> list[dict]:
    limit = upload_deadline(as_of, rules.upload_timeout_seconds)
    rows = session.execute(select(jobs.c.id, jobs.c.kind, jobs.c.created_at)
                           .where(jobs.c.state == UPLOADING, jobs.c.created_at <= limit)
                           .order_by(jobs.c.created_at).limit(BATCH)).all()
    expired = []
    for row in rows:
        created_at = row.created_at
        parts = session.execute(select(func.count()).select_from(inputs)
                                .where(inputs.c.job_id == row.id)).scalar_one()
        inputs_of_rule = {"created_at": created_at.isoformat(), "timeout_seconds": rules.upload_timeout_seconds,
                          "parts_arrived": parts, "as_of": as_of.isoformat()}
        error = (f"The file's upload did not complete within {rules.upload_timeout_seconds:g} s of the job's "
                 f"creation ({created_at.isoformat()}; {parts} part(s) had arrived): ended by the rule "
                 f"{UPLOAD_TIMEOUT_RULE}.")
        ended = session.execute(update(jobs).where(jobs.c.id == row.id, jobs.c.state == UPLOADING).values(
            state=FAILED, error=error[:MAX_ERROR], finished_at=as_of,
            summary={"ended_by": {"rule": UPLOAD_TIMEOUT_RULE, "inputs": inputs_of_rule}})).rowcount
        if ended:
            session.execute(delete(inputs).where(inputs.c.job_id == row.id))
            expired.append({"id": row.id, "kind": row.kind, **inputs_of_rule})
    return expired
