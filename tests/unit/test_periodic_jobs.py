"""Periodic jobs: claiming a period in ``job_runs`` (``crm_kit.runtime.job_runs``), with a fake clock,
on SQLite and PostgreSQL; and the leads recycle rule run as the job runs it (``as_of`` from the clock,
its audit entries naming the run), previewed on a unit of work that never commits."""
from __future__ import annotations

import datetime as dt
import threading

import pytest
from sqlalchemy import select

from crm_kit.context import Principal, principal_var, request_id_var
from crm_kit.errors import ValidationFailed
from crm_kit.runtime.job_runs import (
    ABANDONED,
    FAILED,
    MANUAL,
    RUNNING,
    SCHEDULE,
    SUCCEEDED,
    Claim,
    JobRuns,
    Schedule,
    Wait,
    lateness,
)
from crm_kit.runtime.jobs import _as_of, periodic_jobs
from crm_kit.runtime.preview import PreviewUnitOfWork
from services.leads import application as app
from services.leads.models import Base, Lead
from services.leads.service import LeadsService
from tests.unit.conftest import ADMIN

UTC = dt.timezone.utc
T0 = dt.datetime(2026, 3, 1, 10, 0, 0, tzinfo=UTC)          # a period start for every=3600
HOURLY = Schedule("recycle_pools", every=3600, lease=60, retry_after=15)


def at(seconds: float) -> dt.datetime:
    """The fake clock: T0 plus this many seconds."""
    return T0 + dt.timedelta(seconds=seconds)


@pytest.fixture(params=["sqlite", "postgresql"])
def db(request, make_db):
    return make_db(Base, "leads", backend=request.param)


def replicas(db, *owners) -> list[JobRuns]:
    return [JobRuns(db.session_factory, db.metadata, owner=owner) for owner in owners]


def rows(db, job="recycle_pools") -> list:
    t = db.metadata.tables["job_runs"]
    with db.session() as s:
        return s.execute(select(t).where(t.c.job == job).order_by(t.c.started_at)).all()


# -- periods -------------------------------------------------------------------------------------
def test_periods_are_aligned_on_the_epoch_in_whole_microseconds():
    assert HOURLY.period_start(at(0)) == T0
    assert HOURLY.period_start(at(3599.999999)) == T0
    assert HOURLY.period_start(at(3600)) == at(3600) == HOURLY.next_period(at(1))
    half = Schedule("j", every=0.5)
    assert half.period_start(at(0.74)) == at(0.5) and half.next_period(at(0.74)) == at(1.0)
    odd = Schedule("j", every=7.3)
    start = odd.period_start(at(12.345))
    assert start <= at(12.345) < odd.next_period(at(12.345))
    assert ((start - dt.datetime(1970, 1, 1, tzinfo=UTC)) / dt.timedelta(microseconds=1)) % 7_300_000 == 0
    assert Schedule("j", every=600).retry_after == 60 and Schedule("j", every=2).retry_after == 0.5
    with pytest.raises(ValueError):
        Schedule("", every=1)
    with pytest.raises(ValueError):
        Schedule("j", every=0)


# -- one claimer per period ------------------------------------------------------------------------
def test_two_claimers_one_period(db):
    a, b = replicas(db, "replica-a", "replica-b")
    claim = a.claim(HOURLY, at(0.2))
    assert isinstance(claim, Claim) and claim.as_of == at(0.2) and claim.period_start == T0 and claim.attempt == 1
    assert claim.label == f"job:recycle_pools:{claim.run_id}"
    held = b.claim(HOURLY, at(0.3))
    assert held == Wait("held", at(60.2))
    assert isinstance(a.claim(HOURLY, at(0.4)), Wait)          # not even its own claimer twice
    assert a.finish(claim, at(1), SUCCEEDED, result={"recycled": {}})
    assert b.claim(HOURLY, at(2)) == Wait("done", at(3600))
    [row] = rows(db)
    assert (row.claimed_by, row.outcome, row.attempts, row.as_of, row.trigger) == (
        "replica-a", SUCCEEDED, 1, at(0.2), SCHEDULE)
    assert row.result == {"recycled": {}} and row.finished_at == at(1)
    nxt = b.claim(HOURLY, at(3600.1))                            # the next period: a new row
    assert isinstance(nxt, Claim) and nxt.period_start == at(3600) and nxt.run_id != claim.run_id
    assert len(rows(db)) == 2


def test_concurrent_claimers_one_winner(db):
    claimers = replicas(db, *[f"replica-{i}" for i in range(6)])
    barrier = threading.Barrier(len(claimers))
    results = [None] * len(claimers)

    def claim(i):
        barrier.wait()
        results[i] = claimers[i].claim(HOURLY, at(0.5))

    threads = [threading.Thread(target=claim, args=(i,)) for i in range(len(claimers))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    winners = [r for r in results if isinstance(r, Claim)]
    assert len(winners) == 1, results
    assert all(isinstance(r, Wait) and r.reason == "held" for r in results if r is not winners[0])
    [row] = rows(db)
    assert row.claimed_by == winners[0].claimed_by and row.attempts == 1


# -- a replica that dies ---------------------------------------------------------------------------
def test_an_expired_lease_is_taken_over_with_the_same_as_of(db):
    a, b = replicas(db, "replica-a", "replica-b")
    first = a.claim(HOURLY, at(1))
    assert a.renew(first, at(40), HOURLY.lease)                # alive: the lease now runs to 100 s
    assert b.claim(HOURLY, at(90)) == Wait("held", at(100))
    # a dies here (no more renewals)
    taken = b.claim(HOURLY, at(100))
    assert isinstance(taken, Claim)
    assert (taken.run_id, taken.as_of, taken.attempt, taken.claimed_by) == (first.run_id, at(1), 2, "replica-b")
    # a wakes up (it was frozen, not dead): it learns it lost the period, and records nothing
    assert not a.renew(first, at(101), HOURLY.lease)
    assert not a.finish(first, at(102), SUCCEEDED, result={"by": "a"})
    assert b.finish(taken, at(103), SUCCEEDED, result={"by": "b"})
    [row] = rows(db)
    assert (row.claimed_by, row.attempts, row.outcome, row.result, row.as_of) == (
        "replica-b", 2, SUCCEEDED, {"by": "b"}, at(1))


def test_a_failed_run_is_tried_again_after_retry_after_within_its_period(db):
    a, b = replicas(db, "replica-a", "replica-b")
    first = a.claim(HOURLY, at(0))
    assert a.finish(first, at(2), FAILED, error="OperationalError: gone", retry_at=at(2 + HOURLY.retry_after))
    assert b.claim(HOURLY, at(10)) == Wait("retry", at(17))
    again = b.claim(HOURLY, at(17))
    assert isinstance(again, Claim) and again.attempt == 2 and again.as_of == at(0)
    [row] = rows(db)
    assert row.outcome == RUNNING and row.error is None and row.finished_at is None
    assert b.finish(again, at(18), SUCCEEDED)
    assert rows(db)[0].outcome == SUCCEEDED


def test_a_run_left_running_by_a_dead_replica_is_abandoned_when_a_later_period_is_claimed(db):
    a, b = replicas(db, "replica-a", "replica-b")
    a.claim(HOURLY, at(3500))                                   # dies; its lease ends after the period
    nxt = b.claim(HOURLY, at(3600 + 5))
    assert isinstance(nxt, Claim)
    old, new = rows(db)
    assert (old.outcome, new.outcome) == (ABANDONED, RUNNING)


def test_manual_runs_are_recorded_apart_from_the_periods(db):
    [a] = replicas(db, "replica-a")
    one = a.start_manual("recycle_pools", at(-86400), at(5), HOURLY.lease)
    two = a.start_manual("recycle_pools", at(5), at(6), HOURLY.lease)
    assert one.trigger == MANUAL and one.period_start is None and one.run_id != two.run_id
    assert a.finish(one, at(7), SUCCEEDED) and a.finish(two, at(8), FAILED, error="boom")
    assert isinstance(a.claim(HOURLY, at(9)), Claim)           # the period is still to be run
    assert [(r.trigger, r.outcome, r.as_of) for r in rows(db)] == [
        (MANUAL, SUCCEEDED, at(-86400)), (MANUAL, FAILED, at(5)), (SCHEDULE, RUNNING, at(9))]
    assert [r["outcome"] for r in a.last_runs("recycle_pools", 2)] == [RUNNING, FAILED]


# -- what the metrics say ------------------------------------------------------------------------
def test_coverage_and_lateness_follow_the_fake_clock(db):
    [a] = replicas(db, "replica-a")
    start = T0
    assert a.coverage("recycle_pools").due_since(HOURLY, start) == start        # nothing yet: since start
    claim = a.claim(HOURLY, at(1))
    a.finish(claim, at(3), SUCCEEDED)
    coverage = a.coverage("recycle_pools")
    assert coverage.last_success_period == T0 and coverage.last_success_at == at(3)
    assert coverage.due_since(HOURLY, start) == at(3600)
    assert lateness(at(1800), coverage.due_since(HOURLY, start)) == 0           # this period is done
    assert lateness(at(3600 + 30), coverage.due_since(HOURLY, start)) == 30     # the next one is due
    failed = a.claim(HOURLY, at(3601))
    a.finish(failed, at(3602), FAILED, error="x", retry_at=at(3617))
    assert lateness(at(3 * 3600), a.coverage("recycle_pools").due_since(HOURLY, start)) == 7200
    assert a.purge("recycle_pools", at(3600)) == 1 and len(rows(db)) == 1


# -- the leads recycle job, as the kit runs it ------------------------------------------------------------
def _stale_pool_lead(db):
    pool = app.create_lead_pool(db.uow(), ADMIN, {"name": "Job pool", "member_ids": ["m1"],
                                                  "default_assignee_id": "m1", "recycle_after_days": 3},
                                {"m1": "d1"})
    lead = app.create_lead(db.uow(), ADMIN, {"name": "Li Lei", "pool_id": pool["id"]})
    assert lead["owner_id"] == "m1"
    return pool, lead


def test_the_recycle_job_runs_as_of_the_injected_clock_and_its_audit_names_the_run(db):
    _, lead = _stale_pool_lead(db)
    job = LeadsService.recycle_pools_periodically
    jobs = {entrypoint.schedule.job: method for method, entrypoint in periodic_jobs(LeadsService)}
    assert jobs == {"recycle_pools": "recycle_pools_periodically",            # its rule
                    "work_jobs_housekeeping": "work_jobs_housekeeping"}       # the kit's, as it runs work jobs
    four_days_later = dt.datetime.now(UTC) + dt.timedelta(days=4)     # the fake clock
    [runs] = replicas(db, "replica-a")
    claim = runs.claim(Schedule("recycle_pools", every=3600), four_days_later)
    token = request_id_var.set(claim.label)                            # as the job's worker has them
    principal = principal_var.set(Principal.system("leads"))
    try:
        result = job(type("Service", (), {"db": db.uow()})(), claim.as_of)
    finally:
        request_id_var.reset(token)
        principal_var.reset(principal)
    assert runs.finish(claim, four_days_later, SUCCEEDED, result=result)
    assert result == {"recycled": {lead["pool_id"]: [lead["id"]]}}
    [recycled] = [row.body for row in db.outbox("lead_recycled")]
    assert recycled["correlation_id"] == claim.label and recycled["actor"] == "leads"
    history = app.lead_history(db.uow(), ADMIN, lead["id"])["items"]
    assert (history[0]["action"], history[0]["actor_id"], history[0]["request_id"]) == (
        "recycle", "leads", claim.label)
    assert rows(db)[0].as_of == four_days_later


def test_a_preview_runs_the_job_and_changes_nothing(db):
    _, lead = _stale_pool_lead(db)
    committed = list(db.committed)
    previewed = []
    uow = PreviewUnitOfWork.of(db.uow(), previewed)
    done = app.recycle_all_pools(uow, dt.datetime.now(UTC) + dt.timedelta(days=4))
    assert done == {lead["pool_id"]: [lead["id"]]}
    assert [env["event_type"] for env in previewed] == ["lead_recycled"]
    assert db.outbox("lead_recycled") == [] and db.committed == committed
    with db.session() as s:
        assert s.get(Lead, lead["id"]).status == "pending"
    assert app.lead_history(db.uow(), ADMIN, lead["id"])["items"][0]["action"] != "recycle"


def test_as_of_is_iso_8601_and_taken_as_utc_without_an_offset():
    assert _as_of(None) is None
    assert _as_of("2026-03-01T10:00:00+08:00") == dt.datetime(2026, 3, 1, 2, 0, tzinfo=UTC)
    assert _as_of("2026-03-01T10:00:00") == dt.datetime(2026, 3, 1, 10, 0, tzinfo=UTC)
    with pytest.raises(ValidationFailed) as info:
        _as_of("yesterday")
    assert "as_of" in info.value.errors


def test_a_service_with_jobs_answers_run_job_and_list_jobs():
    from nameko.extensions import ENTRYPOINT_EXTENSIONS_ATTR

    from crm_kit.runtime.entrypoints import CrmRpc
    for name in ("run_job", "list_jobs"):
        [ep] = getattr(getattr(LeadsService, name), ENTRYPOINT_EXTENSIONS_ATTR)
        assert isinstance(ep, CrmRpc) and ep.requires_principal is False
    from services.customers.service import CustomersService
    # every service answers them (declared once, by CrmService), with the jobs it declares:
    # customers' recycle rules run on a job of their own
    assert {ep.schedule.job for _, ep in periodic_jobs(CustomersService)} == {"recycle_customers",
                                                                            "work_jobs_housekeeping"}
    assert {ep.schedule.job for _, ep in periodic_jobs(LeadsService)} >= {"recycle_pools"}
    [ep] = getattr(CustomersService.run_job, ENTRYPOINT_EXTENSIONS_ATTR)
    assert isinstance(ep, CrmRpc) and CustomersService.run_job is LeadsService.run_job
    assert CustomersService.list_jobs is LeadsService.list_jobs


def test_a_service_without_jobs_lists_none_and_runs_none():
    from crm_kit.errors import NotFound
    from crm_kit.runtime.jobs import Jobs
    assert Jobs({}).list() == {"items": [], "next_cursor": None}
    with pytest.raises(NotFound):
        Jobs({}).run("recycle_pools")
