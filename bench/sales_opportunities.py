"""``python -m bench.sales_opportunities``: the opportunity kanban and lists at scale, on PostgreSQL.

1. :func:`seed` makes a fresh database (``crm_bench_sales_<pid>``), migrated with
   ``crm_kit.ops.migrations.upgrade("sales", url)`` (which seeds the default pipeline), and bulk-loads
   it in SQL (``INSERT ... SELECT generate_series``): ``BENCH_OPPORTUNITIES`` opportunities (default
   1,000,000): 50 owners in 10 departments, department 3 in a pipeline of its own ("Projects"), the
   others in the default one; 60 % open (spread over the four open stages), 20 % won, 15 % lost, 5 %
   invalid; 10 % in USD, the rest CNY; 200,000 customers; expected close dates over two years; 1 %
   shared with a team member; UUIDv7-shaped time-ordered ids over the past year. The kanban's running
   totals (``opportunity_stage_totals``) are computed from them as the flush hook keeps them. The
   migration's secondary indexes are dropped for the load and built again after it, then
   ``VACUUM ANALYZE``.
2. Latency AT THE SERVICE: ``services.sales.application.opportunity_queries`` (``opportunity_kanban``,
   ``list_opportunities``, ``customer_opportunities``) called directly with a ``UnitOfWork`` (what the
   RPC entrypoints run; no RabbitMQ, no HTTP), as an admin, a manager (subtree of 3 of 10 departments)
   and a member. Warm-up, then ``BENCH_SCALE_REPS`` (default 300) timed calls each; p50 / p99 in ms;
   target p99 < 20 ms. ``EXPLAIN (ANALYZE, BUFFERS)`` of one call's statements goes in the report.
3. ``bench/results/sales_opportunities.json`` and ``.md``, and a summary on stdout.

Environment: BENCH_OPPORTUNITIES, BENCH_SCALE_REPS, BENCH_SCALE_WARMUP (default 30), BENCH_PG_ADMIN_URL,
BENCH_SCALE_KEEP=1 keeps the database.
"""
from __future__ import annotations

import datetime as dt
import json
import os
import statistics
import sys
import time
from pathlib import Path

from sqlalchemy import create_engine, event, text
from sqlalchemy.orm import sessionmaker

from bench.customers_scale import Statements
from bench.leads_scale import (
    ADMIN_URL,
    create_database,
    dept_id,
    drop_database,
    env_int,
    git_commit,
    machine,
    percentile,
    user_id,
)
from bench.run import TICK, machine_cpu, proc_cpu

ROOT = Path(__file__).resolve().parent.parent
RESULTS = Path(__file__).resolve().parent / "results"
SCENARIO = "sales_opportunities"

OPPORTUNITIES = env_int("BENCH_OPPORTUNITIES", 1_000_000)
REPS = env_int("BENCH_SCALE_REPS", 300)
WARMUP = env_int("BENCH_SCALE_WARMUP", 30)
KEEP = os.environ.get("BENCH_SCALE_KEEP") == "1"
TARGET_P99_MS = 20.0
OWNERS, DEPARTMENTS, CUSTOMERS = 50, 10, 200_000
DEFAULT_PIPELINE = "00000000-0000-7000-8000-00000000a001"
PROJECTS_PIPELINE = "00000000-0000-7000-8000-00000000a002"
TABLES = ("opportunities", "opportunities_team", "opportunity_stage_totals")

OPPORTUNITIES_SQL = """
SELECT setseed(0.42);
INSERT INTO opportunities (id, customer_id, contact_ids, name, source, amount, currency, expected_close_date,
                           pipeline_id, stage, probability, status, stage_changed_at, closed_at, lost_reason,
                           owner_id, department_id, created_by, version, created_at, updated_at)
SELECT
  substr(h, 1, 8) || '-' || substr(h, 9, 4) || '-7' || lpad(to_hex(i % 4096), 3, '0') || '-'
    || '8' || lpad(to_hex((i * 7) % 4096), 3, '0') || '-' || lpad(to_hex(i), 12, '0'),
  '00000000-0000-7000-c000-' || lpad((i % :customers)::text, 12, '0'), '[]', 'Opportunity ' || i, 'referral',
  ((i::bigint * 7919) % 1000000) / 100.0 + 100, CASE WHEN (i / 10) % 10 = 9 THEN 'USD' ELSE 'CNY' END,
  date '2026-01-01' + (i % 730),
  CASE WHEN o % :depts = 3 THEN :projects ELSE :default END,
  CASE WHEN st = 'open' THEN (ARRAY['qualification','needs_analysis','proposal','negotiation'])[1 + (i / 20) % 4]
       ELSE st END,
  CASE WHEN st = 'open' THEN (ARRAY[10, 30, 50, 70])[1 + (i / 20) % 4] WHEN st = 'won' THEN 100 ELSE 0 END,
  st, ts, CASE WHEN st <> 'open' THEN ts + interval '30 days' END, CASE WHEN st = 'lost' THEN 'Price' END,
  '00000000-0000-7000-8000-' || lpad(o::text, 12, '0'),
  '00000000-0000-7000-9000-' || lpad((o % :depts)::text, 12, '0'),
  '00000000-0000-7000-8000-' || lpad(o::text, 12, '0'), 1, ts, ts
FROM (
  SELECT i, lpad(to_hex(ms), 12, '0') AS h, to_timestamp(ms / 1000.0) AS ts, (i * 31) % :owners AS o,
         CASE WHEN i % 20 < 12 THEN 'open' WHEN i % 20 < 16 THEN 'won' WHEN i % 20 < 19 THEN 'lost'
              ELSE 'invalid' END AS st
  FROM (SELECT i, :start_ms + i::bigint * :step_ms + (i % 997) AS ms FROM generate_series(1, :rows) AS i) g
) s
"""
TOTALS_SQL = """
INSERT INTO opportunity_stage_totals (pipeline_id, stage, currency, owner_id, department_id, opportunity_count, amount)
SELECT pipeline_id, stage, currency, coalesce(owner_id, ''), coalesce(department_id, ''), count(*), sum(amount)
FROM opportunities WHERE status = 'open' GROUP BY 1, 2, 3, 4, 5
"""


def _drop_indexes(c) -> list[str]:
    rows = c.execute(text(
        "SELECT i.indexname, i.indexdef FROM pg_indexes i LEFT JOIN pg_constraint k ON k.conname = i.indexname "
        "WHERE i.schemaname = 'public' AND i.tablename = ANY(:t) AND k.conname IS NULL"), {"t": list(TABLES)}).all()
    for name, _ in rows:
        c.execute(text(f'DROP INDEX "{name}"'))
    return [d for _, d in rows]


def seed(url: str, opportunities: int = OPPORTUNITIES) -> dict:
    from crm_kit.ops.migrations import upgrade

    t0 = time.perf_counter()
    upgrade("sales", url)
    timings = {"migrate_s": round(time.perf_counter() - t0, 2)}
    engine = create_engine(url)
    now_ms = int(time.time() * 1000)
    start_ms, step_ms = now_ms - 366 * 86400 * 1000, max(1, (365 * 86400 * 1000) // max(opportunities, 1))
    with engine.begin() as c:
        c.execute(text("SET LOCAL synchronous_commit = off"))
        c.execute(text("SET LOCAL maintenance_work_mem = '512MB'"))
        c.execute(text(
            "INSERT INTO pipelines (id, name, department_id, is_default, active, stages, version, created_at, "
            "updated_at) SELECT :id, 'Projects', :dept, false, true, stages, 1, now(), now() FROM pipelines "
            "WHERE id = :default"), {"id": PROJECTS_PIPELINE, "dept": dept_id(3), "default": DEFAULT_PIPELINE})
        t0 = time.perf_counter()
        indexes = _drop_indexes(c)
        for stmt in OPPORTUNITIES_SQL.split(";\n", 1):
            c.execute(text(stmt), {"rows": opportunities, "start_ms": start_ms, "step_ms": step_ms,
                                   "owners": OWNERS, "depts": DEPARTMENTS, "customers": CUSTOMERS,
                                   "default": DEFAULT_PIPELINE, "projects": PROJECTS_PIPELINE})
        timings["opportunities_s"] = round(time.perf_counter() - t0, 2)
        t0 = time.perf_counter()
        c.execute(text(
            "INSERT INTO opportunities_team (record_id, user_id, access, granted_by, granted_at) "
            "SELECT id, '00000000-0000-7000-8000-' || lpad(((abs(hashtext(id)) % :owners + 7) % :owners)::text, "
            "12, '0'), 'read', owner_id, now() FROM opportunities WHERE random() < 0.01 ON CONFLICT DO NOTHING"),
            {"owners": OWNERS})
        c.execute(text(TOTALS_SQL))
        timings["team_totals_s"] = round(time.perf_counter() - t0, 2)
        t0 = time.perf_counter()
        for definition in indexes:
            c.execute(text(definition))
        timings["indexes_s"] = round(time.perf_counter() - t0, 2)
    t0 = time.perf_counter()
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as c:
        for table in TABLES:
            c.execute(text(f"VACUUM ANALYZE {table}"))
        counts = {t: c.execute(text(f"SELECT count(*) FROM {t}")).scalar() for t in TABLES}
        counts["open"] = c.execute(text("SELECT count(*) FROM opportunities WHERE status = 'open'")).scalar()
        size = c.execute(text("SELECT pg_size_pretty(pg_total_relation_size('opportunities'))")).scalar()
    timings["vacuum_analyze_s"] = round(time.perf_counter() - t0, 2)
    engine.dispose()
    return {"opportunities": opportunities, "counts": counts, "size": size, "indexes_rebuilt": len(indexes), **timings}


# (stage, currency, status and owner read different digits of i: no combination is empty by construction)
# -- latency at the service ----------------------------------------------------------------------------
def cases(factory, opportunities: int) -> list[tuple]:
    from crm_kit.context import Principal
    from services.sales.application import opportunity_queries as q
    from services.sales.models import Opportunity
    admin = Principal(user_id(0), "admin", dept_id(0), (dept_id(0),))
    manager = Principal(user_id(7), "manager", dept_id(7), (dept_id(7), dept_id(8), dept_id(9)))
    member = Principal(user_id(12), "member", dept_id(2), (dept_id(2),))
    deep_at = max(opportunities * 3 // 10 // 2, 1)
    with factory() as s:
        row = s.scalars(q.opportunity_statement(manager, q._list_query.load({})).order_by(Opportunity.id.desc())
                        .offset(deep_at - 1).limit(1)).first()
    from crm_kit.records.pagination import encode_cursor
    deep = encode_cursor(row.id) if row is not None else None
    customer = "00000000-0000-7000-c000-" + f"{4242 % CUSTOMERS:012d}"
    kanban, lists, of_customer = q.opportunity_kanban, q.list_opportunities, q.customer_opportunities
    return [
        ("kanban_admin", "admin, the default pipeline (90 % of them)", kanban, admin, {}),
        ("kanban_manager", "manager (3 of 10 departments), the default pipeline", kanban, manager, {}),
        ("kanban_member", "member (own + team), the default pipeline", kanban, member, {}),
        ("kanban_projects", "admin, department 3's pipeline", kanban, admin, {"pipeline_id": PROJECTS_PIPELINE}),
        ("list_admin", "admin, first page, limit 50", lists, admin, {"limit": 50}),
        ("list_manager_open", "manager, status=open, limit 50", lists, manager, {"status": "open", "limit": 50}),
        ("list_manager_stage", "manager, pipeline=default, stage=proposal, limit 50", lists, manager,
         {"pipeline_id": DEFAULT_PIPELINE, "stage": "proposal", "limit": 50}),
        ("list_subordinates", "manager, scope=subordinates, limit 50", lists, manager,
         {"scope": "subordinates", "limit": 50}),
        ("list_member_mine", "member, scope=mine, status=open, limit 50", lists, member,
         {"scope": "mine", "status": "open", "limit": 50}),
        ("list_team", "member, scope=team, limit 50", lists, member, {"scope": "team", "limit": 50}),
        ("list_customer", "manager, customer_id=one customer (5 of them), limit 50", lists, manager,
         {"customer_id": customer, "limit": 50}),
        ("list_expected_close", "manager, expected close within one month, limit 50", lists, manager,
         {"expected_close_from": "2026-06-01", "expected_close_to": "2026-06-30", "limit": 50}),
        ("list_manager_deep", f"manager, limit 50, cursor after {deep_at:,} rows", lists, manager,
         {"limit": 50, "cursor": deep}),
        ("customer_opportunities", "admin, a customer's open ones (overview), limit 10",
         lambda uow, p, query: of_customer(uow, p, customer, 10), admin, {}),
    ]


def measure(url: str, opportunities: int) -> list[dict]:
    from crm_kit.records.db import make_engine
    from crm_kit.runtime.uow import UnitOfWork
    from services.sales.models import Base

    engine = make_engine(url)
    factory = sessionmaker(engine, expire_on_commit=False)
    uow = UnitOfWork(factory, "sales", Base.metadata)
    statements = Statements(engine)
    backends: set[int] = set()

    @event.listens_for(engine, "connect")
    def _backend_pid(dbapi_connection, record):
        cur = dbapi_connection.cursor()
        cur.execute("SELECT pg_backend_pid()")
        backends.add(cur.fetchone()[0])
        cur.close()

    out = []
    for key, what, call, principal, query in cases(factory, opportunities):
        for _ in range(WARMUP):
            page = call(uow, principal, query)
        rows = len(page.get("items", page.get("columns", [])))
        timings = []
        cpu0, pg0 = time.process_time(), sum(proc_cpu(p) for p in backends)
        busy0, wall0 = machine_cpu()[0], time.perf_counter()
        for _ in range(REPS):
            t0 = time.perf_counter()
            call(uow, principal, query)
            timings.append((time.perf_counter() - t0) * 1000)
        wall = time.perf_counter() - wall0
        own_cpu, pg_cpu = time.process_time() - cpu0, sum(proc_cpu(p) for p in backends) - pg0
        foreign = max(0.0, (machine_cpu()[0] - busy0) / TICK - own_cpu - pg_cpu) / wall
        plan = statements.explain(lambda: call(uow, principal, query))
        p50, p99 = percentile(timings, 0.5), percentile(timings, 0.99)
        out.append({"query": key, "what": what, "rows": rows, "repetitions": REPS, "warmup": WARMUP,
                    "p50_ms": round(p50, 2), "p99_ms": round(p99, 2), "max_ms": round(max(timings), 2),
                    "mean_ms": round(statistics.fmean(timings), 2), "meets_target": p99 < TARGET_P99_MS,
                    "service_cpu_ms_per_call": round(own_cpu / REPS * 1000, 2),
                    "postgresql_cpu_ms_per_call": round(pg_cpu / REPS * 1000, 2), "foreign_cores": round(foreign, 2),
                    "explain_analyze": plan})
        print(f"  {key:24s} rows {rows:3d}  p50 {p50:7.2f} ms  p99 {p99:7.2f} ms  CPU/call: service "
              f"{own_cpu / REPS * 1000:.2f} ms, PostgreSQL {pg_cpu / REPS * 1000:.2f} ms; other work "
              f"{foreign:.2f} cores", flush=True)
    engine.dispose()
    return out


def write_report(doc: dict) -> None:
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / f"{SCENARIO}.json").write_text(json.dumps(doc, indent=2, default=str) + "\n")
    m, ld = doc["machine"], doc["load"]
    lines = [
        f"# {SCENARIO}: opportunity kanban and lists on PostgreSQL ({ld['opportunities']:,} opportunities)", "",
        f"{doc['stamp']} · commit `{(doc['commit'] or '?')[:12]}`{' (dirty)' if doc['dirty'] else ''} · "
        f"{m['cpus']} CPUs ({m['cpu_model']}) · {m['memory']} · PostgreSQL {doc['postgres_version']} · "
        f"load average at the end {m['loadavg_at_end']}", "",
        f"**Size of this run: {ld['opportunities']:,} opportunities** ({ld['counts']['open']:,} open; "
        f"{ld['size']} with indexes), {ld['counts']['opportunities_team']:,} team rows, "
        f"{ld['counts']['opportunity_stage_totals']:,} running-total rows. Loaded in {ld['opportunities_s']} s, "
        f"team and totals {ld['team_totals_s']} s, {ld['indexes_rebuilt']} indexes {ld['indexes_s']} s, "
        f"VACUUM ANALYZE {ld['vacuum_analyze_s']} s.", "",
        "`services.sales.application.opportunity_queries` called in-process with a `UnitOfWork` (what the RPC "
        f"entrypoints run; no RabbitMQ or HTTP). {WARMUP} warm-up calls, then {REPS} timed calls each.", "",
        "| query | what | rows | p50 ms | p99 ms | max ms | target p99 | met | CPU ms/call: service, PostgreSQL | "
        "other work meanwhile (cores) |",
        "|---|---|---:|---:|---:|---:|---:|---|---:|---:|",
    ]
    for q in doc["results"]:
        lines.append(f"| {q['query']} | {q['what']} | {q['rows']} | {q['p50_ms']:.2f} | {q['p99_ms']:.2f} | "
                     f"{q['max_ms']:.2f} | < {TARGET_P99_MS:g} ms | {'yes' if q['meets_target'] else 'NO'} | "
                     f"{q['service_cpu_ms_per_call']}, {q['postgresql_cpu_ms_per_call']} | {q['foreign_cores']} |")
    lines += ["", "## EXPLAIN (ANALYZE, BUFFERS) of one call's statements", ""]
    for q in doc["results"]:
        lines += [f"### {q['query']}", "", "```", q["explain_analyze"], "```", ""]
    (RESULTS / f"{SCENARIO}.md").write_text("\n".join(lines))


def main() -> int:
    sys.path.insert(0, str(ROOT))
    name = f"crm_bench_sales_{os.getpid()}"
    print(f"bench {SCENARIO}: opportunities={OPPORTUNITIES:,} reps={REPS} warmup={WARMUP}", flush=True)
    stamp = dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    try:
        url = create_database(name)
    except Exception as exc:
        print(f"  skipped: PostgreSQL not reachable at {ADMIN_URL} ({str(exc).splitlines()[0]})", flush=True)
        return 0
    try:
        t0 = time.perf_counter()
        info = seed(url, OPPORTUNITIES)
        print(f"  seeded in {time.perf_counter() - t0:.1f} s: {json.dumps(info)}", flush=True)
        results = measure(url, OPPORTUNITIES)
        engine = create_engine(url)
        with engine.connect() as c:
            pg = c.execute(text("SHOW server_version")).scalar()
        engine.dispose()
    finally:
        if KEEP:
            print(f"database kept: {url}", flush=True)
        else:
            drop_database(name)
    commit, dirty = git_commit()
    doc = {"scenario": SCENARIO, "stamp": stamp, "commit": commit, "dirty": dirty, "machine": machine(),
           "postgres_version": pg, "load": info, "results": results, "targets": {"p99_ms_below": TARGET_P99_MS},
           "all_met": all(q["meets_target"] for q in results)}
    write_report(doc)
    print()
    for q in results:
        print(f"{q['query']:24s} p50 {q['p50_ms']:7.2f} ms  p99 {q['p99_ms']:7.2f} ms  "
              f"{'ok' if q['meets_target'] else 'ABOVE'} (< {TARGET_P99_MS:g} ms)")
    return 0


if __name__ == "__main__":
    import eventlet
    eventlet.monkey_patch()        # as crm_kit.ops.runner does for every service process
    from crm_kit.records.db import make_green
    make_green()
    sys.exit(main())
