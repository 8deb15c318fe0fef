"""Long work as jobs with progress: imports of any size, exports, bulk actions.

Not the periodic jobs of ``crm_kit.runtime.jobs`` (timers run once per period): a *work job* is
one piece of work a user asked for, too long for a request. Its life, in the owning service's own
database (tables ``work_jobs``, ``work_job_inputs``, ``work_job_batches``: ``crm_kit.records.db``):

1. **created** (``uploading``) by the service's RPC that starts it (``start_work_job``), for the
   caller, who owns it; the gateway then hands the uploaded file over in parts (``append_input``,
   idempotent per part number) and **submits** it (``queued``), the kind's ``check`` refusing a bad
   file there (422, the job ``failed``). The file lives in the owning service's database, so any
   replica (a pod of its own on Kubernetes) can run it, and a restart loses nothing.
2. **claimed** (``running``) by one replica under a lease (``claimed_until``, renewed while it
   runs; ``attempts`` is the fencing token): a replica killed mid-job stops renewing, and once the
   lease has run out another replica (or the restarted one) takes it over.
3. **run in batches**: each batch's writes and its ``work_job_batches`` row (rows done, counts,
   the failed rows, the per-row report or the export's file piece, what the next batch resumes
   from) are committed **in one transaction** (:meth:`JobRun.record_batch` adds the row to the
   batch's unit of work). A job taken over resumes after the last committed batch
   (:attr:`JobRun.next_batch`, :attr:`JobRun.resume`); the primary key ``(job_id, batch_no)``
   refuses a batch committed twice (two replicas, one frozen past its lease), so no row is applied
   twice. A **cancel** is asked for on the row (``cancel_requested``) and honoured at the next batch
   boundary (:meth:`JobRun.check_cancel`): the batches committed stay, and say what was done.
4. **finished**: ``succeeded`` (the kind's summary kept), ``failed`` (the error; the committed
   batches say what was applied, nothing half-applied), or ``cancelled``.

Progress (:func:`progress`) is read from the committed batches: done / total, the rate (rows a
second since the job started), the ETA, the errors so far. The result (:meth:`WorkJobs.result_page`)
is the batches' report rows (an import's per-row report, as CSV) or file pieces (an export's CSV)
in order, a page at a time. A user sees their own jobs; admins see every job.

The runner (``crm_kit.runtime.work_job_runner``) drives this from a nameko service; this module
(the store: ``WorkJobs``) is plain Python over a SQLAlchemy session factory, tested on SQLite
without a broker. Beside it: ``work_job_batches`` (what a job's code is handed, ``JobRun``, and an
export's loop), ``work_job_views`` (a job's view and its result's CSV), ``work_job_states`` and
``work_job_housekeeping`` (the rules that end an upload left unfinished and purge old jobs).
"""
from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field

from sqlalchemy import and_, func, insert, or_, select, update
from sqlalchemy.orm import sessionmaker

from crm_kit.context import Principal
from crm_kit.errors import CrmError, InvalidState, NotFound, ValidationFailed
from crm_kit.ids import new_id
from crm_kit.records.db import utcnow
from crm_kit.runtime.job_runs import _insert_ignore, replica_id
from crm_kit.runtime.work_job_states import (  # noqa: F401  (the states, importable from here)
    CANCELLED,
    FAILED,
    FINISHED,
    INPUT_PART_CHARS,
    MAX_ERROR,
    MAX_INPUT_PARTS,
    QUEUED,
    RUNNING,
    STATES,
    SUCCEEDED,
    UPLOADING,
)
from crm_kit.runtime.work_job_views import result_csv, sum_counts, view_of


class JobCancelled(Exception):
    """Raised at a batch boundary of a job whose cancel was asked for."""


def job_service(job_id) -> str | None:
    """The service owning a job, from its id (``<service>-<uuid>``), or None."""
    if not isinstance(job_id, str) or "-" not in job_id:
        return None
    return job_id.split("-", 1)[0] or None


@dataclass
class Resume:
    """Where a job (re)starts: the next batch's number, the rows done before it, and what the last
    committed batch left to resume from (an export's cursor)."""
    next_batch: int = 0
    rows_done: int = 0
    resume: object = None
    counts: dict = field(default_factory=dict)
    done: frozenset = frozenset()     # the batches committed (two may be written at once: not only a prefix)


class WorkJobs:
    """The work jobs of one service's database, as one replica (``owner``) sees them."""

    def __init__(self, session_factory: sessionmaker, metadata, service: str, owner: str | None = None):
        self.session_factory = session_factory
        self.service = service
        self.jobs = metadata.tables["work_jobs"]
        self.inputs = metadata.tables["work_job_inputs"]
        self.batches = metadata.tables["work_job_batches"]
        self.owner = owner or replica_id()

    # -- creating and uploading ------------------------------------------------------------------
    def create(self, kind: str, principal: Principal, params: dict, now: dt.datetime | None = None,
               state: str = UPLOADING) -> dict:
        now = now or utcnow()
        job_id = f"{self.service}-{new_id()}"
        with self.session_factory() as session:
            session.execute(insert(self.jobs).values(
                id=job_id, kind=kind, state=state, owner_id=principal.user_id, principal=principal.to_dict(),
                params=params, input_parts=0 if state == QUEUED else None, cancel_requested=0, attempts=0,
                created_at=now))
            session.commit()
        return self.view(job_id, principal, now)

    def append_input(self, job_id, principal: Principal, seq, text) -> dict:
        """One part of the job's file (parts numbered from 0; a part given twice is kept once)."""
        if not isinstance(seq, int) or isinstance(seq, bool) or not 0 <= seq < MAX_INPUT_PARTS:
            raise ValidationFailed.from_messages({"seq": [f"Must be an integer from 0 to {MAX_INPUT_PARTS - 1}."]})
        if not isinstance(text, str) or len(text) > INPUT_PART_CHARS:
            raise ValidationFailed.from_messages({"text": [f"Text of at most {INPUT_PART_CHARS} characters."]})
        with self.session_factory() as session:
            row = self._mine(session, job_id, principal)
            if row.state != UPLOADING:
                raise InvalidState(f"The job is {row.state}: its file is already submitted.", {"state": row.state})
            session.execute(_insert_ignore(session, self.inputs).values(job_id=job_id, seq=seq, text=text))
            session.commit()
        return {"id": job_id, "seq": seq}

    def submit(self, job_id, principal: Principal, parts, check=None) -> dict:
        """The file is complete (``parts`` parts, 0 .. parts-1): ``check(params, text)`` may refuse it
        (a ``ValidationFailed``: the job is failed with it, and the error raised); else queued."""
        with self.session_factory() as session:
            row = self._mine(session, job_id, principal)
            if row.state != UPLOADING:
                raise InvalidState(f"The job is {row.state}.", {"state": row.state})
            have = session.execute(select(func.count()).select_from(self.inputs).where(
                self.inputs.c.job_id == job_id, self.inputs.c.seq < parts)).scalar_one()
            if not isinstance(parts, int) or have != parts:
                raise ValidationFailed.from_messages({"parts": [f"{have} parts of the file arrived, not {parts}."]})
        if check is not None:
            try:
                check(row.params, self.input_text(job_id))
            except ValidationFailed as exc:
                self._set(job_id, state=FAILED, error=_error_text(exc), finished_at=utcnow())
                raise
        self._set(job_id, state=QUEUED, input_parts=parts)
        return self.view(job_id, principal)

    def input_text(self, job_id: str) -> str:
        with self.session_factory() as session:
            return "".join(session.execute(select(self.inputs.c.text).where(self.inputs.c.job_id == job_id)
                                           .order_by(self.inputs.c.seq)).scalars())

    # -- claiming and running --------------------------------------------------------------------
    def claim_next(self, kinds, now: dt.datetime, lease: float) -> dict | None:
        """Take the oldest job of ``kinds`` that is queued, or running under a lease run out (its
        replica died): compare-and-set on ``attempts``, so two replicas never both take it."""
        t = self.jobs
        with self.session_factory() as session:
            candidates = session.execute(select(t.c.id, t.c.attempts).where(
                t.c.kind.in_(list(kinds)),
                or_(t.c.state == QUEUED, and_(t.c.state == RUNNING, t.c.claimed_until < now)))
                .order_by(t.c.created_at).limit(5)).all()
            for job_id, attempts in candidates:
                taken = session.execute(update(t).where(
                    t.c.id == job_id, t.c.attempts == attempts,
                    or_(t.c.state == QUEUED, and_(t.c.state == RUNNING, t.c.claimed_until < now))).values(
                    state=RUNNING, claimed_by=self.owner, claimed_until=now + dt.timedelta(seconds=lease),
                    attempts=attempts + 1, started_at=func.coalesce(t.c.started_at, now))).rowcount
                session.commit()
                if taken:
                    return dict(session.execute(select(t).where(t.c.id == job_id)).mappings().one())
        return None

    def renew(self, job_id: str, attempt: int, now: dt.datetime, lease: float) -> bool:
        """Extend our lease; False when the job is no longer ours (taken over, or finished)."""
        t = self.jobs
        with self.session_factory() as session:
            done = session.execute(update(t).where(t.c.id == job_id, t.c.attempts == attempt, t.c.state == RUNNING)
                                   .values(claimed_until=now + dt.timedelta(seconds=lease))).rowcount
            session.commit()
        return bool(done)

    def resume_point(self, job_id: str) -> Resume:
        b = self.batches
        with self.session_factory() as session:
            rows = session.execute(select(b.c.batch_no, b.c.rows, b.c.resume, b.c.counts)
                                   .where(b.c.job_id == job_id).order_by(b.c.batch_no)).all()
        if not rows:
            return Resume()
        return Resume(rows[-1].batch_no + 1, sum(r.rows for r in rows), rows[-1].resume,
                      sum_counts(r.counts for r in rows), frozenset(r.batch_no for r in rows))

    def cancel_requested(self, job_id: str) -> bool:
        with self.session_factory() as session:
            return bool(session.execute(select(self.jobs.c.cancel_requested)
                                        .where(self.jobs.c.id == job_id)).scalar_one_or_none())

    def set_total(self, job_id: str, total: int) -> None:
        self._set(job_id, total=total)

    def finish(self, job_id: str, attempt: int, state: str, summary=None, error: str | None = None,
               now: dt.datetime | None = None) -> bool:
        """Record how the run ended, only while the job is still this attempt's."""
        t = self.jobs
        with self.session_factory() as session:
            done = session.execute(update(t).where(t.c.id == job_id, t.c.attempts == attempt, t.c.state == RUNNING)
                                   .values(state=state, summary=summary, error=error and error[:MAX_ERROR],
                                           finished_at=now or utcnow(), claimed_until=None)).rowcount
            session.commit()
        return bool(done)

    def release(self, job_id: str, attempt: int) -> None:
        """Give the job back at once (the database or broker went away mid-batch): queued again."""
        t = self.jobs
        with self.session_factory() as session:
            session.execute(update(t).where(t.c.id == job_id, t.c.attempts == attempt, t.c.state == RUNNING)
                            .values(state=QUEUED, claimed_until=None))
            session.commit()

    def counts_by_state(self) -> tuple[dict, dt.datetime | None]:
        """``({state: jobs}, created_at of the oldest queued job or None)`` (the runner's gauges)."""
        t = self.jobs
        with self.session_factory() as session:
            counts = dict(session.execute(select(t.c.state, func.count()).group_by(t.c.state)).all())
            oldest = session.execute(select(func.min(t.c.created_at)).where(t.c.state == QUEUED)).scalar()
        return counts, oldest           # (min() keeps the column's type: an aware UTC datetime)

    # -- what users do ---------------------------------------------------------------------------
    def cancel(self, job_id, principal: Principal) -> dict:
        """Cancel: a job not started yet is cancelled now; a running one at its next batch boundary
        (``cancel_requested``); a finished one is a 409."""
        t = self.jobs
        with self.session_factory() as session:
            row = self._mine(session, job_id, principal)
            if row.state in FINISHED:
                raise InvalidState(f"The job has {row.state}: there is nothing to cancel.",
                                   {"state": row.state, "allowed_actions": []})
            values = {"cancel_requested": 1}
            if row.state in (UPLOADING, QUEUED):
                values.update(state=CANCELLED, finished_at=utcnow())
            session.execute(update(t).where(t.c.id == job_id, t.c.state == row.state).values(**values))
            session.commit()
        return self.view(job_id, principal)

    def view(self, job_id, principal: Principal, now: dt.datetime | None = None) -> dict:
        now = now or utcnow()
        b = self.batches
        with self.session_factory() as session:
            row = self._mine(session, job_id, principal)
            batches = session.execute(select(b.c.rows, b.c.counts, b.c.committed_at, b.c.errors)
                                      .where(b.c.job_id == job_id).order_by(b.c.batch_no)).all()
        return view_of(row, batches, now)

    def list(self, principal: Principal, limit=50, state=None) -> dict:
        """The caller's jobs (an admin: everyone's), newest first."""
        if not isinstance(limit, int) or isinstance(limit, bool) or not 1 <= limit <= 200:
            raise ValidationFailed.from_messages({"limit": ["Must be an integer from 1 to 200."]})
        if state is not None and state not in STATES:
            raise ValidationFailed.from_messages({"state": [f"Must be one of {', '.join(STATES)}."]})
        t, b = self.jobs, self.batches
        stmt = select(t).order_by(t.c.created_at.desc()).limit(limit)
        if not principal.is_admin:
            stmt = stmt.where(t.c.owner_id == principal.user_id)
        if state is not None:
            stmt = stmt.where(t.c.state == state)
        now = utcnow()
        with self.session_factory() as session:
            rows = session.execute(stmt).all()
            items = []
            for row in rows:
                batches = session.execute(select(b.c.rows, b.c.counts, b.c.committed_at, b.c.errors)
                                          .where(b.c.job_id == row.id).order_by(b.c.batch_no)).all()
                items.append(view_of(row, batches, now))
        return {"items": items, "next_cursor": None}

    def result_page(self, job_id, principal: Principal, cursor=None, batches_per_page: int = 5) -> dict:
        """A page of the job's result, ``{"csv", "next_cursor"}``: an import's per-row report
        (``REPORT_COLUMNS``) or an export's file, from its committed batches in order."""
        try:
            start = int(cursor) if cursor else 0
        except (TypeError, ValueError):
            raise ValidationFailed.from_messages({"cursor": ["Invalid cursor."]}) from None
        b = self.batches
        with self.session_factory() as session:
            row = self._mine(session, job_id, principal)
            if row.state not in FINISHED:      # (a failed or cancelled job's result: what it did)
                raise InvalidState(f"The job is {row.state}: its result comes once it has finished.",
                                   {"state": row.state})
            found = session.execute(select(b.c.batch_no, b.c.report, b.c.output).where(
                b.c.job_id == job_id, b.c.batch_no >= start).order_by(b.c.batch_no)
                .limit(batches_per_page + 1)).all()
            text = result_csv(session, b, job_id, found[:batches_per_page], first=start == 0)
        more = len(found) > batches_per_page
        return {"csv": text, "next_cursor": str(found[batches_per_page].batch_no) if more else None}

    # -- helpers ---------------------------------------------------------------------------------
    def _mine(self, session, job_id, principal: Principal):
        """The job's row if the caller may see it (its owner, an admin), else 404 (not 403: ids of
        other users' jobs are not confirmed)."""
        row = None
        if isinstance(job_id, str) and len(job_id) <= 80:
            row = session.execute(select(self.jobs).where(self.jobs.c.id == job_id)).one_or_none()
        if row is None or not (principal.is_admin or row.owner_id == principal.user_id):
            raise NotFound.of("job", str(job_id)[:80])
        return row

    def _set(self, job_id: str, **values) -> None:
        with self.session_factory() as session:
            session.execute(update(self.jobs).where(self.jobs.c.id == job_id).values(**values))
            session.commit()


def _error_text(exc: BaseException) -> str:
    if isinstance(exc, ValidationFailed):
        return f"{exc}: {json.dumps(exc.errors, ensure_ascii=False)}"
    if isinstance(exc, CrmError):
        return str(exc)
    return f"{type(exc).__name__}: {exc}"
