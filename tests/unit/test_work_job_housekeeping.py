"""The work jobs' housekeeping rules (``crm_kit.runtime.work_job_housekeeping``), on the leads
database (any service's kit tables would do): an upload left unfinished is failed by the rule
``upload_timeout`` naming its inputs, a finished job's file is dropped, old finished jobs are
purged; a preview changes nothing; a second run as of the same time finds nothing; the store's
counts by state (the runner's gauges)."""
from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select

from crm_kit.runtime import work_jobs as wj
from crm_kit.runtime.preview import PreviewUnitOfWork
from crm_kit.runtime.work_job_batches import batch_row
from crm_kit.runtime.work_job_housekeeping import Rules, housekeep, upload_deadline
from services.leads.models import Base
from tests.unit.conftest import MEMBER_1

T0 = dt.datetime(2026, 12, 1, 9, 0, tzinfo=dt.timezone.utc)
RULES = Rules(upload_timeout_seconds=3600, retention_days=30)


@pytest.fixture
def db(make_db):
    return make_db(Base, "leads")


def _store(db) -> wj.WorkJobs:
    return wj.WorkJobs(db.session_factory, db.metadata, "leads", owner="test:1")


def _count(db, table: str, **where) -> int:
    t = db.metadata.tables[table]
    stmt = select(func.count()).select_from(t)
    for column, value in where.items():
        stmt = stmt.where(t.c[column] == value)
    with db.session() as s:
        return s.execute(stmt).scalar_one()


@pytest.mark.parametrize("created_minutes_ago, expired", [(59, False), (60, True), (600, True)])
def test_the_upload_timeout_rule(created_minutes_ago, expired):
    as_of = T0 + dt.timedelta(hours=2)
    assert (as_of - dt.timedelta(minutes=created_minutes_ago) <= upload_deadline(as_of, 3600)) is expired


def test_an_upload_left_unfinished_fails_by_the_rule_naming_its_inputs(db):
    store = _store(db)
    stuck = store.create("import_leads", MEMBER_1, {}, now=T0)
    store.append_input(stuck["id"], MEMBER_1, 0, "name\nA\n")
    recent = store.create("import_leads", MEMBER_1, {}, now=T0 + dt.timedelta(minutes=30))
    as_of = T0 + dt.timedelta(minutes=61)

    result = housekeep(db.uow(), as_of, RULES)

    assert [e["id"] for e in result["expired"]] == [stuck["id"]]
    assert result["expired"][0]["parts_arrived"] == 1
    view = store.view(stuck["id"], MEMBER_1)
    assert view["state"] == wj.FAILED
    assert "upload_timeout" in view["error"] and "3600 s" in view["error"]
    assert view["summary"]["ended_by"] == {"rule": "upload_timeout", "inputs": {
        "created_at": T0.isoformat(), "timeout_seconds": 3600, "parts_arrived": 1, "as_of": as_of.isoformat()}}
    assert store.view(recent["id"], MEMBER_1)["state"] == wj.UPLOADING
    assert _count(db, "work_job_inputs", job_id=stuck["id"]) == 0
    # as of the same time again: nothing left to do
    assert housekeep(db.uow(), as_of, RULES)["expired"] == []


def test_a_preview_answers_what_it_would_do_and_changes_nothing(db):
    store = _store(db)
    stuck = store.create("import_leads", MEMBER_1, {}, now=T0)
    store.append_input(stuck["id"], MEMBER_1, 0, "name\nA\n")
    preview = PreviewUnitOfWork.of(db.uow(), [])

    result = housekeep(preview, T0 + dt.timedelta(hours=2), RULES)

    assert [e["id"] for e in result["expired"]] == [stuck["id"]]
    assert store.view(stuck["id"], MEMBER_1)["state"] == wj.UPLOADING
    assert _count(db, "work_job_inputs", job_id=stuck["id"]) == 1


def test_finished_jobs_drop_their_file_and_old_ones_are_purged_with_their_batches(db):
    store = _store(db)
    old = store.create("import_leads", MEMBER_1, {}, now=T0, state=wj.QUEUED)
    fresh = store.create("import_leads", MEMBER_1, {}, now=T0 + dt.timedelta(days=20), state=wj.QUEUED)
    waiting = store.create("import_leads", MEMBER_1, {}, now=T0, state=wj.QUEUED)
    with db.session() as s:
        for job, finished in ((old, T0 + dt.timedelta(hours=1)), (fresh, T0 + dt.timedelta(days=20))):
            s.execute(db.metadata.tables["work_job_inputs"].insert().values(job_id=job["id"], seq=0, text="x"))
            s.execute(db.metadata.tables["work_job_batches"].insert().values(
                batch_row(job["id"], 0, 1, {"created": 1}, now=finished)))
            s.execute(db.metadata.tables["work_jobs"].update().where(db.metadata.tables["work_jobs"].c.id == job["id"])
                      .values(state=wj.SUCCEEDED, finished_at=finished))
        s.execute(db.metadata.tables["work_job_inputs"].insert().values(job_id=waiting["id"], seq=0, text="y"))
        s.commit()

    result = housekeep(db.uow(), T0 + dt.timedelta(days=31), RULES)

    assert result["purged"] == 1 and result["inputs_dropped"] == 2
    assert _count(db, "work_jobs", id=old["id"]) == 0
    assert _count(db, "work_job_batches", job_id=old["id"]) == 0
    assert store.view(fresh["id"], MEMBER_1)["progress"]["done"] == 1     # kept, its batches too
    assert _count(db, "work_job_inputs", job_id=fresh["id"]) == 0        # but not its file
    assert _count(db, "work_job_inputs", job_id=waiting["id"]) == 1      # a queued job keeps its file


def test_counts_by_state_and_the_oldest_queued(db):
    store = _store(db)
    assert store.counts_by_state() == ({}, None)
    store.create("import_leads", MEMBER_1, {}, now=T0 + dt.timedelta(minutes=5), state=wj.QUEUED)
    store.create("import_leads", MEMBER_1, {}, now=T0, state=wj.QUEUED)
    store.create("import_leads", MEMBER_1, {}, now=T0)
    counts, oldest = store.counts_by_state()
    assert counts == {wj.QUEUED: 2, wj.UPLOADING: 1}
    assert oldest == T0
