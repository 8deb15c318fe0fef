"""Two replicas of leads on PostgreSQL run the recycle job once per period (``crm_kit.runtime.jobs``).

Both replicas wake at every period boundary (``LEADS_RECYCLE_INTERVAL_SECONDS=2``, aligned on the
epoch) and race for it in ``job_runs``. Over several periods: one row per period, each run once
(attempt 1, and one "started" line in the two replicas' logs together), each succeeded; the lead due
for a recycle is recycled once (one ``lead_recycled`` in the outbox, one ``recycle`` audit entry
naming the run), and the lead only due for a recycle *warning* gets nothing from the job (the
warning is a reminder, read, never an event) and shows one warning. Then an operator's runs over
RPC with ``crm jobs``: a dry run changes nothing, a real one is recorded as ``manual`` and is
idempotent for its ``as_of``; and the metrics each replica exports.
"""
from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
import time

import pytest
import requests
from sqlalchemy import create_engine, text

from crm_kit.ids import new_id
from tests.integration.harness import Platform, eventually, postgres_reachable

pytestmark = pytest.mark.skipif(not postgres_reachable(),
                                reason="PostgreSQL is not reachable on 127.0.0.1:5432 (CRM_TEST_PG_DSN)")

PERIOD = 2.0
STARTED = "periodic job recycle_pools started"
UTC = dt.timezone.utc


@pytest.fixture(scope="module")
def platform(tmp_path_factory):
    plat = Platform(tmp_path_factory.mktemp("periodic-jobs"), backend="postgresql", services=("leads", "gateway"),
                    extra_env={"LEADS_RECYCLE_INTERVAL_SECONDS": str(PERIOD)})
    try:
        plat.start()
        second = plat.spawn("leads", replica=1)
        port = plat.replica_metrics_ports[("leads", 1)]

        def ready():
            assert second.poll() is None, plat.log("leads", 1)[-3000:]
            try:
                return requests.get(f"http://127.0.0.1:{port}/readyz", timeout=2).status_code == 200
            except requests.RequestException:
                return False
        eventually(ready, timeout=60, interval=0.2)
        yield plat
    finally:
        plat.destroy()


@pytest.fixture(scope="module")
def db(platform):
    engine = create_engine(platform.db_urls["leads"])
    yield engine
    engine.dispose()


def crm(platform, *args) -> dict | list:
    proc = subprocess.run([sys.executable, "-m", "crm_kit.ops.cli", "jobs", *args, "--json"], env=platform.env,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return json.loads(proc.stdout)


def set_times(db, lead_id, **times):
    with db.begin() as conn:
        for column, value in times.items():
            conn.execute(text(f"UPDATE leads SET {column} = :t WHERE id = :id"), {"t": value, "id": lead_id})


def recycled_events(db, lead_id) -> list[dict]:
    with db.connect() as conn:
        bodies = conn.execute(text("SELECT body FROM outbox WHERE event_type = 'lead_recycled'")).scalars()
        return [body for body in bodies if body["payload"]["lead_id"] == lead_id]


def events_of(db, lead_id) -> list[str]:
    with db.connect() as conn:
        bodies = conn.execute(text("SELECT body FROM outbox ORDER BY created_at, id")).scalars()
        return [body["event_type"] for body in bodies if body["payload"].get("lead_id") == lead_id]


def audit(db, lead_id, action) -> list:
    with db.connect() as conn:
        return conn.execute(text("SELECT request_id, actor_id FROM audit_log WHERE entity = 'lead' "
                                 "AND entity_id = :id AND action = :a"), {"id": lead_id, "a": action}).all()


def scheduled_runs(db) -> list:
    with db.connect() as conn:
        return conn.execute(text("SELECT * FROM job_runs WHERE job = 'recycle_pools' AND trigger = 'schedule' "
                                 "ORDER BY period_start")).all()


def started_periods(platform) -> list[str]:
    """The period_start of every scheduled run either replica started (its log lines)."""
    out = []
    for replica in (0, 1):
        for line in platform.log("leads", replica).splitlines():
            if STARTED in line:
                record = json.loads(line)
                if record.get("trigger") == "schedule":
                    out.append(record["period_start"])
    return out


@pytest.fixture(scope="module")
def crew(platform, db):
    tag = new_id()[-6:]
    member = platform.post("/api/v1/users", json={"username": f"jobs-m-{tag}", "password": "a long password",
                                                  "role": "member"}).json()
    pool = platform.post("/api/v1/lead-pools", json={
        "name": f"Jobs pool {tag}", "member_ids": [member["id"]], "default_assignee_id": member["id"],
        "recycle_after_days": 3, "recycle_warning_days": 1})
    assert pool.status_code == 201, pool.text
    leads = {}
    for name in ("stale", "warned", "fresh"):
        resp = platform.post("/api/v1/leads", json={"name": f"{name} {tag}", "pool_id": pool.json()["id"]})
        assert resp.status_code == 201 and resp.json()["owner_id"] == member["id"], resp.text
        leads[name] = resp.json()
    now = dt.datetime.now(UTC)
    # Time passes for two of them (nothing else in the platform moves a lead's clock): the stale one is
    # past recycle_after_days, the warned one inside its last recycle_warning_days.
    set_times(db, leads["stale"]["id"], assigned_at=now - dt.timedelta(days=4))
    set_times(db, leads["warned"]["id"], assigned_at=now - dt.timedelta(days=2, hours=12))
    return {"member": member, "token": platform.login(member["username"], "a long password"),
            "pool": pool.json(), "leads": leads}


def test_two_replicas_run_each_period_once_and_recycle_once(platform, db, crew):
    stale, warned, fresh = (crew["leads"][k] for k in ("stale", "warned", "fresh"))
    got = platform.eventually(lambda: (lambda lead: lead if lead["status"] == "unassigned" else None)(
        platform.get(f"/api/v1/leads/{stale['id']}").json()), timeout=3 * PERIOD + 10)
    assert got["previous_owner_id"] == crew["member"]["id"]
    first = len(scheduled_runs(db))
    time.sleep(3 * PERIOD + 0.5)                                 # three more periods, raced by both replicas
    runs = [r for r in scheduled_runs(db) if r.outcome != "running"]
    assert len(runs) >= first + 2, runs
    assert {r.outcome for r in runs} == {"succeeded"} and {r.attempts for r in runs} == {1}, runs
    starts = [r.period_start for r in runs]
    assert all((b - a).total_seconds() == PERIOD for a, b in zip(starts, starts[1:])), starts   # none missed
    started = started_periods(platform)
    assert len(started) == len(set(started)), "a period was started twice"
    assert {dt.datetime.fromisoformat(p) for p in started} >= set(starts)
    assert {r.claimed_by for r in runs} <= {r.claimed_by for r in scheduled_runs(db)}

    # the stale lead: one recycle, one event, its audit entry naming the run that did it (and as_of)
    [event] = recycled_events(db, stale["id"])
    assert event["actor"] == "leads" and event["correlation_id"].startswith("job:recycle_pools:")
    [(request_id, actor)] = audit(db, stale["id"], "recycle")
    assert actor == "leads" and request_id == event["correlation_id"]
    [run] = [r for r in runs if request_id == f"job:recycle_pools:{r.id}"]
    assert run.result == {"recycled": {crew["pool"]["id"]: [stale["id"]]}} and run.as_of >= run.period_start
    # the warned lead: nothing from the job, one warning in its owner's reminders
    assert platform.get(f"/api/v1/leads/{warned['id']}").json()["status"] == "pending"
    assert events_of(db, warned["id"]) == ["lead_created", "lead_assigned"]
    reminders = platform.get("/api/v1/me/reminders", token=crew["token"]).json()["items"]
    assert [(r["kind"], r["lead_id"]) for r in reminders if r["lead_id"] != fresh["id"]] == [
        ("recycle_warning", warned["id"])]


def test_an_operator_previews_and_runs_the_job_now(platform, db, crew):
    warned, fresh = crew["leads"]["warned"], crew["leads"]["fresh"]
    later = (dt.datetime.now(UTC) + dt.timedelta(days=5)).isoformat()
    preview = crm(platform, "run", "leads", "recycle_pools", "--as-of", later, "--dry-run")
    assert preview["dry_run"] is True and preview["run_id"] is None and preview["outcome"] == "previewed"
    assert sorted(preview["result"]["recycled"][crew["pool"]["id"]]) == sorted([warned["id"], fresh["id"]])
    assert preview["events"] == {"lead_recycled": 2}
    assert platform.get(f"/api/v1/leads/{warned['id']}").json()["status"] == "pending"      # nothing changed
    assert recycled_events(db, warned["id"]) == [] and audit(db, warned["id"], "recycle") == []

    done = crm(platform, "run", "leads", "recycle_pools", "--as-of", later)
    assert done["outcome"] == "succeeded" and done["run_id"] and done["events"] is None
    assert sorted(done["result"]["recycled"][crew["pool"]["id"]]) == sorted([warned["id"], fresh["id"]])
    assert len(recycled_events(db, warned["id"])) == 1
    [(request_id, _)] = audit(db, warned["id"], "recycle")
    assert request_id == f"job:recycle_pools:{done['run_id']}"
    again = crm(platform, "run", "leads", "recycle_pools", "--as-of", later)                # idempotent
    assert again["result"] == {"recycled": {}} and len(recycled_events(db, fresh["id"])) == 1

    jobs = {j["job"]: j for j in crm(platform, "list", "leads", "--limit", "50")}
    assert set(jobs) == {"recycle_pools", "work_jobs_housekeeping"}      # its rule, and the kit's (work jobs)
    listed = jobs["recycle_pools"]
    assert (listed["service"], listed["job"], listed["every_seconds"]) == ("leads", "recycle_pools", PERIOD)
    manual = [r for r in listed["runs"] if r["trigger"] == "manual"]
    assert [r["id"] for r in manual] == [again["run_id"], done["run_id"]]
    assert {r["outcome"] for r in manual} == {"succeeded"} and manual[0]["as_of"] == dt.datetime.fromisoformat(
        later).isoformat()
    assert listed["lateness_seconds"] < 2 * PERIOD + 1 and listed["last_success_at"]
    proc = subprocess.run([sys.executable, "-m", "crm_kit.ops.cli", "jobs", "run", "leads", "no_such_job"],
                          env=platform.env, capture_output=True, text=True, timeout=120)
    assert proc.returncode != 0 and "NotFound" in proc.stderr


def test_each_replica_exports_the_jobs_metrics(platform, db, crew):
    ports = [platform.replica_metrics_ports[("leads", replica)] for replica in (0, 1)]

    def sample(port, name, **labels):
        """The value of ``name`` for the job (and ``labels``) in a replica's /metrics, or None."""
        labels.update(service="leads", job_name="recycle_pools")
        body = requests.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text
        for line in body.splitlines():
            if line.startswith(name + "{"):
                series, value = line.rsplit(" ", 1)
                found = dict(pair.split("=", 1) for pair in series[len(name) + 1:-1].split(","))
                if all(found.get(k) == f'"{v}"' for k, v in labels.items()):
                    return float(value)
        return None

    now = time.time()
    for port in ports:
        assert sample(port, "crm_periodic_job_lateness_seconds") < 2 * PERIOD + 1
        assert now - sample(port, "crm_periodic_job_last_success_timestamp_seconds") < 2 * PERIOD + 5
        assert sample(port, "crm_periodic_job_runs_total", trigger="schedule", outcome="failed") == 0
    ran = sum(sample(port, "crm_periodic_job_runs_total", trigger="schedule", outcome="succeeded")
              for port in ports)
    assert ran >= len([r for r in scheduled_runs(db) if r.outcome == "succeeded"]) - 1
