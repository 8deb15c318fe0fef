"""``python -m bench.jobs``: the lead import as a job (``crm_kit.runtime.work_jobs``) against the
synchronous import, on the same database, in the same process; target: the job within 10 % of the
synchronous rate (ratio >= 0.9).

1. A fresh PostgreSQL database (``crm_bench_jobs_<pid>``, dropped at the end; SQLite when no
   PostgreSQL answers), migrated with ``crm_kit.ops.migrations.upgrade("leads", url)``.
2. ``BENCH_JOBS_ROUNDS`` rounds (default 3), each of two measurements on ``BENCH_JOBS_ROWS`` new
   rows (default 40,000; ~1 % invalid, ~1 % duplicates of an earlier row), alternating which goes
   first (so that a database growing, or a neighbour's load, does not favour one side):
   - **sync**: files of ``MAX_IMPORT_ROWS`` (5,000) rows, each ``application.import_leads(uow,
     admin, csv_text)`` (what the ``import_leads`` RPC runs), one after the other;
   - **job**: one job of all the rows, from its creation to its end as the service runs it: the file
     stored in parts (``WorkJobs.append_input``, 1,000,000 characters each), submitted (its header
     and size checked: ``check_import``), claimed, run (``application.import_leads_job``: batches of
     1,000 rows, each committed with its batch row, per-row report and a cancel check) and finished.
   rows/s over each measurement (no RPC, no HTTP: what differs is the job's own work). The counts are
   checked against what was generated, on both sides.
3. ``bench/results/jobs.json`` and ``.md``: each round, the medians, ``ratio`` = job / sync.

It runs as a service process does: eventlet monkey-patched, psycopg2 green (psycogreen).
Environment: BENCH_JOBS_ROWS, BENCH_JOBS_ROUNDS, BENCH_PG_ADMIN_URL, BENCH_SCALE_KEEP=1.
"""
from __future__ import annotations

import csv
import datetime as dt
import io
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

from sqlalchemy.orm import sessionmaker

from bench.leads_scale import (
    KEEP,
    cpu_figures,
    cpu_snapshot,
    create_database,
    drop_database,
    env_int,
    git_commit,
    machine,
)

ROOT = Path(__file__).resolve().parent.parent
RESULTS = Path(__file__).resolve().parent / "results"
SCENARIO = "jobs"
ROWS = env_int("BENCH_JOBS_ROWS", 40000)
ROUNDS = env_int("BENCH_JOBS_ROUNDS", 3)
TARGET_RATIO = 0.9


def make_csv(first: int, n: int) -> tuple[str, dict]:
    """``n`` rows, phones from ``first`` on; every 100th row has no name (invalid), every 100th
    (offset 50) repeats the phone of the row before (a duplicate of an earlier row)."""
    out = io.StringIO()
    w = csv.writer(out)
    w.writerow(["name", "phone", "company", "source", "region"])
    counts = {"created": 0, "duplicates": 0, "invalid": 0}
    for i in range(n):
        phone = f"137{first + i:08d}"
        if i % 100 == 0:
            w.writerow(["", phone, "No name", "other", "north"])
            counts["invalid"] += 1
        elif i % 100 == 50:
            w.writerow([f"Again {i}", f"137{first + i - 1:08d}", "", "other", "south"])
            counts["duplicates"] += 1
        else:
            w.writerow([f"Bench lead {first + i}", phone, f"Company {i % 500}", "trade_show", "east"])
            counts["created"] += 1
    return out.getvalue(), counts


def split_files(text: str, rows_per_file: int) -> list[str]:
    lines = text.splitlines(keepends=True)
    header, body = lines[0], lines[1:]
    return [header + "".join(body[i:i + rows_per_file]) for i in range(0, len(body), rows_per_file)]


def admin():
    from crm_kit.context import Principal
    return Principal(user_id="00000000-0000-7000-8000-000000000001", role="admin", department_id=None)


def measure_sync(factory, text: str, expected: dict) -> dict:
    from crm_kit.runtime.uow import UnitOfWork
    from services.leads import application as app
    from services.leads.models import Base
    files = split_files(text, app.MAX_IMPORT_ROWS)
    got = {"created": 0, "duplicates": 0, "invalid": 0}
    cpu_before = cpu_snapshot()
    t0 = time.perf_counter()
    for body in files:
        report = app.import_leads(UnitOfWork(factory, "leads", Base.metadata), admin(), body)
        for k in got:
            got[k] += report[k]
    seconds = time.perf_counter() - t0
    rows = sum(expected.values())
    return {"mode": "sync", "rows": rows, "files": len(files), "seconds": round(seconds, 3),
            "rows_per_s": round(rows / seconds, 1), "counts": got, "counts_match": got == expected,
            "cpu": cpu_figures(cpu_before, cpu_snapshot(), rows, seconds)}


def measure_job(factory, text: str, expected: dict) -> dict:
    from crm_kit.records.db import utcnow
    from crm_kit.runtime.uow import UnitOfWork
    from crm_kit.runtime.work_job_batches import JobRun
    from crm_kit.runtime.work_jobs import INPUT_PART_CHARS, SUCCEEDED, WorkJobs
    from services.leads import application as app
    from services.leads.models import Base
    store = WorkJobs(factory, Base.metadata, "leads", owner="bench:1")
    principal = admin()
    cpu_before = cpu_snapshot()
    t0 = time.perf_counter()
    job = store.create("import_leads", principal, {})
    parts = [text[i:i + INPUT_PART_CHARS] for i in range(0, len(text), INPUT_PART_CHARS)]
    for seq, part in enumerate(parts):
        store.append_input(job["id"], principal, seq, part)
    store.submit(job["id"], principal, len(parts), app.check_import)
    t_submitted = time.perf_counter()
    row = store.claim_next(["import_leads"], utcnow(), 30.0)
    run = JobRun(store, row)
    summary = app.import_leads_job(UnitOfWork(factory, "leads", Base.metadata), principal, run)
    store.finish(run.id, run.attempt, SUCCEEDED, summary=summary)
    seconds = time.perf_counter() - t0
    view = store.view(job["id"], principal)
    rows = sum(expected.values())
    return {"mode": "job", "rows": rows,
            "seconds": round(seconds, 3), "upload_and_check_seconds": round(t_submitted - t0, 3),
            "rows_per_s": round(rows / seconds, 1), "counts": view["counts"],
            "counts_match": view["counts"] == expected and view["state"] == "succeeded",
            "job_rate_per_s": view["progress"]["rate_per_second"],
            "cpu": cpu_figures(cpu_before, cpu_snapshot(), rows, seconds)}


def main() -> int:
    sys.path.insert(0, str(ROOT))
    from crm_kit.ops.migrations import upgrade
    from crm_kit.records.db import make_engine
    from tests.integration.harness import postgres_reachable
    name = f"crm_bench_jobs_{os.getpid()}"
    backend = "postgresql" if postgres_reachable() else "sqlite"
    tmp = None
    if backend == "postgresql":
        url = create_database(name)
    else:
        tmp = tempfile.mkdtemp(prefix="crm-bench-jobs-")
        url = f"sqlite:///{tmp}/leads.db"
    print(f"bench {SCENARIO}: {backend}, rows={ROWS:,} rounds={ROUNDS}", flush=True)
    rounds = []
    try:
        upgrade("leads", url)
        engine = make_engine(url)
        factory = sessionmaker(engine, expire_on_commit=False)
        first = 0
        for r in range(ROUNDS):
            order = ("sync", "job") if r % 2 == 0 else ("job", "sync")
            results = {}
            for mode in order:
                text, expected = make_csv(first, ROWS)
                first += ROWS
                results[mode] = (measure_sync if mode == "sync" else measure_job)(factory, text, expected)
                m = results[mode]
                print(f"  round {r + 1} {mode:>4}: {m['rows']:,} rows in {m['seconds']:.2f} s = "
                      f"{m['rows_per_s']:,.0f} rows/s; counts as expected: {m['counts_match']}", flush=True)
            rounds.append({"round": r + 1, "order": list(order), **results,
                           "ratio": round(results["job"]["rows_per_s"] / results["sync"]["rows_per_s"], 3)})
        engine.dispose()
    finally:
        if backend == "postgresql" and not KEEP:
            drop_database(name)
    sync_med = statistics.median(r["sync"]["rows_per_s"] for r in rounds)
    job_med = statistics.median(r["job"]["rows_per_s"] for r in rounds)
    ratio = round(job_med / sync_med, 3)
    commit, dirty = git_commit()
    doc = {"scenario": SCENARIO, "at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
           "commit": commit, "dirty": dirty, "backend": backend, "rows": ROWS, "rounds": rounds,
           "sync_rows_per_s_median": sync_med, "job_rows_per_s_median": job_med, "ratio": ratio,
           "target_ratio": TARGET_RATIO, "meets_target": ratio >= TARGET_RATIO,
           "counts_match": all(r[m]["counts_match"] for r in rounds for m in ("sync", "job")),
           "machine": machine()}
    write_report(doc)
    print(f"  median sync {sync_med:,.0f} rows/s, job {job_med:,.0f} rows/s: ratio {ratio} "
          f"(target >= {TARGET_RATIO}: {'met' if doc['meets_target'] else 'NOT met'})")
    print(f"results: {RESULTS / (SCENARIO + '.json')}, {RESULTS / (SCENARIO + '.md')}")
    return 0


def write_report(doc: dict) -> None:
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / f"{SCENARIO}.json").write_text(json.dumps(doc, indent=2, default=str) + "\n")
    m = doc["machine"]
    lines = [
        f"# {SCENARIO}: the lead import as a job vs the synchronous import ({doc['backend']})",
        "",
        f"{doc['at']}, commit {doc['commit']}{' (dirty)' if doc['dirty'] else ''}; {m['cpus']} CPUs "
        f"({m['cpu_model']}), Python {m['python']}, load average at the end {m['loadavg_at_end']}.",
        "",
        f"{doc['rows']:,} new rows a measurement (~1 % invalid, ~1 % duplicates of an earlier row); sync = files of "
        "5,000 rows through `application.import_leads`, job = one job from its creation (file stored in parts, "
        "checked, claimed) to its end (`application.import_leads_job`: batches of 1,000, each committed with its "
        "progress and per-row report). Same process, same database, no RPC or HTTP (`bench/jobs.py`).",
        "",
        "| round | order | sync rows/s | job rows/s | job: upload + check s | ratio |",
        "|---|---|---|---|---|---|",
    ]
    for r in doc["rounds"]:
        lines.append(f"| {r['round']} | {' then '.join(r['order'])} | {r['sync']['rows_per_s']:,.0f} | "
                     f"{r['job']['rows_per_s']:,.0f} | {r['job']['upload_and_check_seconds']} | {r['ratio']} |")
    lines += ["",
              f"**Median: sync {doc['sync_rows_per_s_median']:,.0f} rows/s, job {doc['job_rows_per_s_median']:,.0f} "
              f"rows/s, ratio {doc['ratio']}** (target >= {doc['target_ratio']}: "
              f"{'met' if doc['meets_target'] else 'not met'}). Counts as generated on every run: "
              f"{doc['counts_match']}.", ""]
    (RESULTS / f"{SCENARIO}.md").write_text("\n".join(lines))


if __name__ == "__main__":
    import eventlet
    eventlet.monkey_patch()        # as crm_kit.ops.runner does for every service process
    from crm_kit.records.db import make_green
    make_green()
    sys.exit(main())
