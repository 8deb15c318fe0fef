"""``python -m bench.leads_scale``: the leads service at scale, on PostgreSQL.

1. A fresh database (``crm_bench_scale_<pid>``, dropped at the end), migrated with
   ``crm_kit.ops.migrations.upgrade("leads", url)``, bulk-loaded in SQL (``INSERT ... SELECT
   generate_series``) with ``BENCH_SCALE_ROWS`` leads (default 1,000,000): 50 owners in 10
   departments, spread statuses and sources, some pool leads, a unique phone per lead, UUIDv7-shaped
   time-ordered ids (they sort like ``crm_kit.ids.new_id``), ``created_at`` over the past year;
   then ``ANALYZE``.
2. List latency AT THE SERVICE: ``services.leads.application.list_leads(uow, principal, query)``
   called directly with a ``UnitOfWork`` on that database (the function the ``list_leads`` RPC
   entrypoint runs; no RabbitMQ, no HTTP): a manager's filtered first page, an admin's deep page
   (cursor after 900,000 rows, i.e. 90 % of the table), an admin's unfiltered first page and a
   manager's filtered deep page. Warm-up, then ``BENCH_SCALE_REPS`` (default 300) timed calls each;
   p50 / p99 in ms; target p99 < 20 ms. ``EXPLAIN ANALYZE`` of each statement goes in the report.
3. Import: a CSV of ``BENCH_IMPORT_ROWS`` rows (default 100,000; ~2 % phones of existing live
   leads, ~1 % invalid rows) imported with ``application.import_leads(uow, admin, csv_text)`` on
   the loaded database, in files of ``MAX_IMPORT_ROWS`` (5,000) rows, the most one call accepts;
   rows/s over the whole import; target >= 5,000 rows/s. The per-row report is checked (counts,
   one ``lead_created`` outbox row per created lead).
4. ``bench/results/leads_scale.json`` and ``.md``, and a summary on stdout.

The process runs as a service process does: eventlet monkey-patched and psycopg2 made green
(psycogreen), so the import's run-ahead preparation (``crm_kit.runtime.pipeline``)
overlaps the database the way it does in the leads service.

Environment: BENCH_SCALE_ROWS, BENCH_IMPORT_ROWS, BENCH_SCALE_REPS, BENCH_SCALE_WARMUP (default 30),
BENCH_PG_ADMIN_URL (default ``postgresql+psycopg2://postgres@127.0.0.1:5432/postgres``),
BENCH_SCALE_KEEP=1 keeps the database.
"""
from __future__ import annotations

import csv
import datetime as dt
import functools
import io
import json
import os
import random
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.orm import sessionmaker

from bench.run import TICK, machine_cpu, pids_by_comm, proc_cpu

ROOT = Path(__file__).resolve().parent.parent
RESULTS = Path(__file__).resolve().parent / "results"
SCENARIO = "leads_scale"


def env_int(name, default):
    raw = os.environ.get(name)
    return int(raw) if raw else default


ROWS = env_int("BENCH_SCALE_ROWS", 1_000_000)
IMPORT_ROWS = env_int("BENCH_IMPORT_ROWS", 100_000)
REPS = env_int("BENCH_SCALE_REPS", 300)
WARMUP = env_int("BENCH_SCALE_WARMUP", 30)
ADMIN_URL = os.environ.get("BENCH_PG_ADMIN_URL", "postgresql+psycopg2://postgres@127.0.0.1:5432/postgres")
KEEP = os.environ.get("BENCH_SCALE_KEEP") == "1"
LIST_TARGET_P99_MS = 20.0
IMPORT_TARGET_RPS = 5000.0
DEEP_AFTER = 900_000

OWNERS = 50
DEPARTMENTS = 10
POOLS = 5


def user_id(i: int) -> str:
    return f"00000000-0000-7000-8000-{i:012d}"


def dept_id(i: int) -> str:
    return f"00000000-0000-7000-9000-{i:012d}"


def pool_id(i: int) -> str:
    return f"00000000-0000-7000-a000-{i:012d}"


# -- database ----------------------------------------------------------------------------------
def create_database(name: str) -> str:
    admin = create_engine(ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        c.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return ADMIN_URL.rsplit("/", 1)[0] + "/" + name


def drop_database(name: str) -> None:
    admin = create_engine(ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


# Status buckets (cumulative %): unassigned pool leads 8, pending 17, following 35, invalid 5,
# converted 20, discarded 15.
LOAD_SQL = """
SELECT setseed(0.42);
INSERT INTO leads (id, name, company, phone, phone_key, email, source, campaign_id, region, industry, notes,
                   status, pool_id, owner_id, department_id, last_followed_at, assigned_at, sla_due_at,
                   next_contact_at, converted_at, created_by, version, created_at, updated_at)
SELECT
  -- UUIDv7 layout: 48-bit unix ms, version 7, variant 8..b; the ms grows with i, so ids sort by creation
  substr(h, 1, 8) || '-' || substr(h, 9, 4) || '-7' || lpad(to_hex(i % 4096), 3, '0') || '-'
    || '8' || lpad(to_hex((i * 7) % 4096), 3, '0') || '-' || lpad(to_hex(i), 12, '0'),
  'Lead ' || i,
  CASE WHEN i % 3 = 0 THEN NULL ELSE 'Company ' || (i % 20000) END,
  '+86 138 ' || lpad(i::text, 8, '0'),
  '138' || lpad(i::text, 8, '0'),
  CASE WHEN i % 2 = 0 THEN 'lead' || i || '@example.com' END,
  (ARRAY['trade_show','campaign','web_form','advertisement','purchased_list','referral','other'])[1 + (i % 7)],
  CASE WHEN i % 7 = 1 THEN '00000000-0000-7000-b000-' || lpad((i % 40)::text, 12, '0') END,
  (ARRAY['north','south','east','west','central'])[1 + (i % 5)],
  (ARRAY['retail','software','manufacturing','finance','health','education'])[1 + (i % 6)],
  NULL,
  st,
  CASE WHEN st = 'unassigned' OR i % 10 = 0
       THEN '00000000-0000-7000-a000-' || lpad((i % :pools)::text, 12, '0') END,
  CASE WHEN st = 'unassigned' THEN NULL ELSE '00000000-0000-7000-8000-' || lpad(o::text, 12, '0') END,
  CASE WHEN st = 'unassigned' THEN NULL ELSE '00000000-0000-7000-9000-' || lpad((o % :depts)::text, 12, '0') END,
  CASE WHEN st IN ('following', 'converted') THEN ts + interval '2 days' END,
  CASE WHEN st <> 'unassigned' THEN ts END,
  CASE WHEN st <> 'unassigned' AND i % 4 = 0 THEN ts + interval '1 day' END,
  CASE WHEN st = 'following' THEN ts + interval '10 days' END,
  CASE WHEN st = 'converted' THEN ts + interval '20 days' END,
  '00000000-0000-7000-8000-' || lpad((i % :owners)::text, 12, '0'),
  1, ts, ts
FROM (
  SELECT i, lpad(to_hex(ms), 12, '0') AS h, to_timestamp(ms / 1000.0) AS ts, o,
         CASE WHEN r < 0.08 THEN 'unassigned' WHEN r < 0.25 THEN 'pending' WHEN r < 0.60 THEN 'following'
              WHEN r < 0.65 THEN 'invalid' WHEN r < 0.85 THEN 'converted' ELSE 'discarded' END AS st
  FROM (
    SELECT i, :start_ms + i::bigint * :step_ms + (i % 997) AS ms, (i * 31) % :owners AS o, random() AS r
    FROM generate_series(1, :rows) AS i
  ) g
) s
"""


def load(url: str) -> dict:
    from crm_kit.ops.migrations import upgrade

    t0 = time.perf_counter()
    upgrade("leads", url)
    migrated = time.perf_counter() - t0
    engine = create_engine(url)
    now_ms = int(time.time() * 1000)
    start_ms = now_ms - 366 * 86400 * 1000
    step_ms = max(1, (365 * 86400 * 1000) // max(ROWS, 1))
    t0 = time.perf_counter()
    with engine.begin() as c:
        # The table has its indexes from the migration: load into it as is (what a real table
        # went through), but without the per-statement WAL flush wait.
        c.execute(text("SET LOCAL synchronous_commit = off"))
        c.execute(text("SET LOCAL maintenance_work_mem = '256MB'"))
        for stmt in LOAD_SQL.split(";\n", 1):
            c.execute(text(stmt), {"rows": ROWS, "start_ms": start_ms, "step_ms": step_ms,
                                   "owners": OWNERS, "depts": DEPARTMENTS, "pools": POOLS})
        # Pools with admins and members (the manager of the scenarios is a member of two).
        c.execute(text(
            "INSERT INTO lead_pools (id, name, distribution, claiming_enabled, reclaim_cooldown_days, version, "
            "created_at, updated_at) SELECT '00000000-0000-7000-a000-' || lpad(p::text, 12, '0'), 'Pool ' || p, "
            "'manual', true, 0, 1, now(), now() FROM generate_series(0, :n - 1) p"), {"n": POOLS})
        c.execute(text(
            "INSERT INTO lead_pool_users (pool_id, user_id, role, department_id) "
            "SELECT '00000000-0000-7000-a000-' || lpad((u % :pools)::text, 12, '0'), "
            "'00000000-0000-7000-8000-' || lpad(u::text, 12, '0'), "
            "CASE WHEN u < :pools THEN 'admin' ELSE 'member' END, "
            "'00000000-0000-7000-9000-' || lpad((u % :depts)::text, 12, '0') FROM generate_series(0, :owners - 1) u"),
            {"pools": POOLS, "depts": DEPARTMENTS, "owners": OWNERS})
        # Shared leads: ~1 % of the leads have a team member other than the owner.
        c.execute(text(
            "INSERT INTO leads_team (record_id, user_id, access, granted_by, granted_at) "
            "SELECT id, '00000000-0000-7000-8000-' || lpad(((abs(hashtext(id)) % :owners + 7) "
            "% :owners)::text, 12, '0'), CASE WHEN random() < 0.5 THEN 'read' ELSE 'read_write' END, owner_id, now() "
            "FROM leads WHERE owner_id IS NOT NULL AND random() < 0.01 ON CONFLICT DO NOTHING"), {"owners": OWNERS})
    loaded = time.perf_counter() - t0
    t0 = time.perf_counter()
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as c:
        c.execute(text("VACUUM ANALYZE"))
        counts = dict(c.execute(text("SELECT status, count(*) FROM leads GROUP BY status")).all())
        size = c.execute(text("SELECT pg_size_pretty(pg_total_relation_size('leads'))")).scalar()
        team = c.execute(text("SELECT count(*) FROM leads_team")).scalar()
    analyzed = time.perf_counter() - t0
    engine.dispose()
    return {"rows": ROWS, "status_counts": counts, "team_rows": team, "table_size": size,
            "migrate_s": round(migrated, 2), "load_s": round(loaded, 2), "vacuum_analyze_s": round(analyzed, 2)}


# -- list latency ------------------------------------------------------------------------------
def percentile(values, q):
    s = sorted(values)
    if not s:
        return None
    k = (len(s) - 1) * q
    lo, hi = int(k), min(int(k) + 1, len(s) - 1)
    return s[lo] + (s[hi] - s[lo]) * (k - lo)


def principals():
    from crm_kit.context import Principal
    admin = Principal(user_id=user_id(0), role="admin", department_id=dept_id(0), scope_department_ids=(dept_id(0),))
    # A manager of department 7 whose subtree is 7, 8, 9 (30 % of the owned leads), member of pool 2.
    manager = Principal(user_id=user_id(7), role="manager", department_id=dept_id(7),
                        scope_department_ids=(dept_id(7), dept_id(8), dept_id(9)))
    return admin, manager


def statement_for(principal, query):
    """The SELECT list_leads runs for (principal, query) (same code path), for EXPLAIN and cursors."""
    from crm_kit.records.schemas import load as load_schema
    from crm_kit.records.scopes import scoped_select
    from services.leads.application.access import read_extra
    from services.leads.application.queries import filtered
    from services.leads.models import Lead
    from services.leads.schemas import LeadListQuery
    params = load_schema(LeadListQuery(), query)
    return filtered(scoped_select(Lead, principal, read_extra(principal)), params,
                    dt.datetime.now(dt.timezone.utc)), params


def cursor_after(session, principal, query, n):
    """The cursor after ``n`` rows of the list (principal, query): id of its n-th row, newest first."""
    from crm_kit.records.pagination import encode_cursor
    from services.leads.models import Lead
    stmt, _ = statement_for(principal, query)
    last = session.scalars(stmt.with_only_columns(Lead.id).order_by(Lead.id.desc()).offset(n - 1).limit(1)).first()
    return encode_cursor(last) if last else None, last


def explain(session, principal, query):
    from crm_kit.records.pagination import decode_cursor
    from services.leads.models import Lead
    stmt, params = statement_for(principal, query)
    if params["cursor"]:
        stmt = stmt.where(Lead.id < decode_cursor(params["cursor"]))
    stmt = stmt.order_by(Lead.id.desc()).limit(params["limit"] + 1)
    compiled = stmt.compile(dialect=session.bind.dialect, compile_kwargs={"literal_binds": True})
    rows = session.execute(text("EXPLAIN (ANALYZE, BUFFERS) " + str(compiled))).scalars().all()
    return "\n".join(rows)


def measure_lists(url: str) -> list[dict]:
    from crm_kit.records.db import make_engine
    from crm_kit.runtime.uow import UnitOfWork
    from services.leads import application as app
    from services.leads.models import Base

    admin, manager = principals()
    engine = make_engine(url)
    factory = sessionmaker(engine, expire_on_commit=False)
    uow = UnitOfWork(factory, "leads", Base.metadata)
    with factory() as s:
        total = s.execute(text("SELECT count(*) FROM leads")).scalar()
        deep_n = min(DEEP_AFTER, max(total - 100, 1))
        admin_cursor, admin_cursor_id = cursor_after(s, admin, {}, deep_n)
        mgr_query = {"status": "following", "limit": 50}
        mgr_total = s.scalar(statement_for(manager, mgr_query)[0].with_only_columns(text("count(*)")))
        mgr_deep_n = max(int(mgr_total * 0.9), 1)
        mgr_cursor, _ = cursor_after(s, manager, mgr_query, mgr_deep_n)
    cases = [
        ("filtered_first_page", "manager (dept subtree of 3 of 10 departments, pool member), status=following, "
         "limit 50, first page", manager, {"status": "following", "limit": 50}),
        ("deep_page", f"admin, unfiltered, limit 50, cursor after {deep_n:,} rows "
         f"(encode_cursor of the {deep_n:,}th id)", admin, {"limit": 50, "cursor": admin_cursor}),
        ("admin_first_page", "admin, unfiltered, limit 50, first page", admin, {"limit": 50}),
        ("filtered_deep_page", f"manager, status=following, limit 50, cursor after {mgr_deep_n:,} of its "
         f"{mgr_total:,} rows", manager, {"status": "following", "limit": 50, "cursor": mgr_cursor}),
    ]
    out = []
    for key, what, principal, query in cases:
        for _ in range(WARMUP):
            page = app.list_leads(uow, principal, query)
        assert len(page["items"]) == 50, (key, len(page["items"]))
        timings = []
        for _ in range(REPS):
            t0 = time.perf_counter()
            app.list_leads(uow, principal, query)
            timings.append((time.perf_counter() - t0) * 1000)
        with factory() as s:
            plan = explain(s, principal, query)
        p50, p99 = percentile(timings, 0.5), percentile(timings, 0.99)
        out.append({"query": key, "what": what, "repetitions": REPS, "warmup": WARMUP,
                    "p50_ms": round(p50, 2), "p99_ms": round(p99, 2), "max_ms": round(max(timings), 2),
                    "mean_ms": round(statistics.fmean(timings), 2), "target_p99_ms": LIST_TARGET_P99_MS,
                    "meets_target": p99 < LIST_TARGET_P99_MS, "explain_analyze": plan,
                    "first_id": page["items"][0]["id"], "next_cursor": bool(page["next_cursor"])})
        print(f"  list {key:22s} p50 {p50:7.2f} ms  p99 {p99:7.2f} ms  ({REPS} reps)", flush=True)
    engine.dispose()
    return out


# -- import ------------------------------------------------------------------------------------
def import_csvs(url: str, n: int, chunk: int) -> tuple[list[str], list[dict]]:
    """CSV files of ``chunk`` rows (~2 % phones of existing live leads, ~1 % invalid rows, the
    others new and distinct) and what each file's report should count."""
    engine = create_engine(url)
    with engine.connect() as c:
        live = c.execute(text("SELECT phone FROM leads WHERE status <> 'discarded' ORDER BY random() LIMIT :k"),
                         {"k": int(n * 0.02) + 10}).scalars().all()
    engine.dispose()
    rng = random.Random(7)
    sources = ("trade_show", "campaign", "web_form", "advertisement", "purchased_list", "referral", "other")
    header = ["name", "company", "phone", "email", "source", "region", "industry", "notes"]
    files, expected = [], []
    dup_i = 0
    for start in range(0, n, chunk):
        counts = {"created": 0, "duplicates": 0, "invalid": 0}
        expected.append(counts)
        buf = io.StringIO()
        w = csv.writer(buf, lineterminator="\r\n")
        w.writerow(header)
        for i in range(start, min(start + chunk, n)):
            r = rng.random()
            phone = f"+86 139 {i:08d}"
            row = [f"Imported {i}", f"Company {i % 5000}", phone, f"imp{i}@example.com",
                   sources[i % len(sources)], "north", "retail", ""]
            if r < 0.02 and dup_i < len(live):
                row[2] = live[dup_i]
                dup_i += 1
                counts["duplicates"] += 1
            elif r < 0.03:
                kind = i % 4
                if kind == 0:
                    row[0] = ""                       # name is required
                elif kind == 1:
                    row[3] = "not-an-email"
                elif kind == 2:
                    row[4] = "tv"                     # not a source
                else:
                    row[2] = "12"                     # not a phone
                counts["invalid"] += 1
            else:
                counts["created"] += 1
            w.writerow(row)
        files.append(buf.getvalue())
    return files, expected


def postgres_cpu() -> float:
    """CPU seconds of the PostgreSQL server: its processes, plus the backends its postmaster has
    reaped meanwhile (a connection closed during the import counts too)."""
    total = 0.0
    for pid in pids_by_comm("postgres"):
        total += proc_cpu(pid)
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(fields[13]) + int(fields[14])) / TICK     # reaped children (the postmaster's)
        except (OSError, IndexError, ValueError):
            pass
    return total


def cpu_snapshot() -> tuple:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime, postgres_cpu(), machine_cpu()


def cpu_figures(before: tuple, after: tuple, rows: int, seconds: float, rabbitmq: float | None = None) -> dict:
    """CPU per 1,000 rows of this process, of PostgreSQL (and of RabbitMQ: ``rabbitmq`` seconds),
    and how busy the rest of the machine was meanwhile (cores): the wall-clock rate depends on the
    machine's speed and load, these less."""
    (own0, pg0, (busy0, _)), (own1, pg1, (busy1, _)) = before, after
    own, pg = own1 - own0, pg1 - pg0
    busy = (busy1 - busy0) / TICK
    figures = {"import_process_ms_per_1000_rows": round(own * 1e6 / rows, 1),
               "postgresql_ms_per_1000_rows": round(pg * 1e6 / rows, 1)}
    if rabbitmq is not None:
        figures["rabbitmq_ms_per_1000_rows"] = round(rabbitmq * 1e6 / rows, 1)
    figures["foreign_cores"] = round(max(busy - own - pg - (rabbitmq or 0.0), 0.0) / seconds, 2) if seconds else None
    return figures


def rabbit_cpu() -> float:
    return sum(proc_cpu(pid) for pid in pids_by_comm("beam.smp"))


def measure_import(url: str, files: list[str], expected: list[dict], relay_uri: str | None = None) -> dict:
    """Import ``files`` one after the other, as many RPC calls would. With ``relay_uri``, as in the
    service: every commit hands its outbox rows to the service's relay loop
    (``OutboxRelay.run``), which publishes them to RabbitMQ meanwhile (a subscriber's quorum queue
    receives them) and marks them published; the figures then include the relay's work, and the
    time it took to publish the last event."""
    from crm_kit.records.db import make_engine
    from crm_kit.runtime.uow import UnitOfWork
    from services.leads import application as app
    from services.leads.models import Base

    admin, _ = principals()
    rows = sum(sum(counts.values()) for counts in expected)
    expected_total = {k: sum(counts[k] for counts in expected) for k in expected[0]}
    engine = make_engine(url)
    factory = sessionmaker(engine, expire_on_commit=False)
    relay = None
    if relay_uri is not None:
        import eventlet
        from eventlet.queue import LightQueue

        from crm_kit.runtime.amqp import ConfirmingPublisher
        from crm_kit.runtime.outbox import OutboxRelay
        relay = OutboxRelay("leads", factory, Base.metadata, ConfirmingPublisher(relay_uri), min_age=5.0)
        handed, running = LightQueue(), [True]
        loop = eventlet.spawn(relay.run, handed, 1.0, lambda: running[0])
    uow = UnitOfWork(factory, "leads", Base.metadata,
                     on_commit=functools.partial(relay.hand_over, queue=handed) if relay else None)
    with factory() as s:
        outbox_before = s.execute(text("SELECT count(*) FROM outbox WHERE event_type = 'lead_created'")).scalar()
    got = {"created": 0, "duplicates": 0, "invalid": 0}
    per_file = []
    cpu_before, rabbit_before = cpu_snapshot(), rabbit_cpu()
    t_all = time.perf_counter()
    for body in files:
        t0 = time.perf_counter()
        report = app.import_leads(uow, admin, body)
        per_file.append(time.perf_counter() - t0)
        for k in got:
            got[k] += report[k]
        bad = [r for r in report["rows"] if r["outcome"] == "duplicate" and not r["existing_id"]]
        assert not bad, bad[:3]
    elapsed = time.perf_counter() - t_all
    published = None
    if relay is not None:           # until the relay has published (and marked) every event
        while True:
            with factory() as s:
                left = s.execute(text("SELECT count(*) FROM outbox WHERE published_at IS NULL")).scalar()
            if not left and not relay.unmarked:
                break
            time.sleep(0.05)
        published = time.perf_counter() - t_all
    cpu = cpu_figures(cpu_before, cpu_snapshot(), rows, published or elapsed,
                      rabbit_cpu() - rabbit_before if relay is not None else None)
    if relay is not None:
        running[0] = False
        handed.put(None)
        loop.wait()
        relay.publisher.close()
    with factory() as s:
        outbox_after = s.execute(text("SELECT count(*) FROM outbox WHERE event_type = 'lead_created'")).scalar()
    engine.dispose()
    rps = rows / elapsed if elapsed else 0.0
    print(f"  import {rows} rows{' with the relay' if relay else ''} in {elapsed:.1f} s = {rps:,.0f} rows/s "
          f"({got['created']} created, {got['duplicates']} duplicates, {got['invalid']} invalid); "
          + (f"all events published after {published:.1f} s; " if relay else "")
          + f"CPU per 1,000 rows: {cpu}", flush=True)
    return {"rows": rows, "files": len(files), "rows_per_file": app.MAX_IMPORT_ROWS, "seconds": round(elapsed, 2),
            "rows_per_s": round(rps, 1), "target_rows_per_s": IMPORT_TARGET_RPS,
            "meets_target": rps >= IMPORT_TARGET_RPS, "expected": expected_total, "reported": got,
            "report_matches": got == expected_total,
            "lead_created_outbox_rows": outbox_after - outbox_before,
            "outbox_matches": outbox_after - outbox_before == got["created"],
            "file_seconds_p50": round(percentile(per_file, 0.5), 3),
            "file_seconds_max": round(max(per_file), 3), "cpu": cpu,
            "with_relay": relay is not None,
            "all_published_after_s": round(published, 2) if published is not None else None}


def measure_imports(url: str) -> tuple[dict, dict | None]:
    """The import alone, then (RabbitMQ reachable) as the service does it, with its relay
    publishing the events meanwhile: twice ``BENCH_IMPORT_ROWS`` new rows, one half each."""
    from urllib.parse import quote

    from kombu import Connection

    from crm_kit.runtime.amqp import HandlerQueue
    from services.leads import application as app
    from tests.integration.harness import RABBIT_HOST, create_vhost, delete_vhost

    files, expected = import_csvs(url, 2 * IMPORT_ROWS, app.MAX_IMPORT_ROWS)
    half = len(files) // 2
    alone = measure_import(url, files[:half], expected[:half])
    try:
        vhost = create_vhost()
    except Exception as exc:
        print(f"  import with the relay skipped: no RabbitMQ to publish to ({exc!r})", flush=True)
        return alone, None
    # Nobody published the first half's events: marked here at once, and the table vacuumed (else
    # the autovacuum of those 100,000 updates would run during, and be counted in, the relay's run).
    engine = create_engine(url, isolation_level="AUTOCOMMIT")
    with engine.connect() as c:
        c.execute(text("UPDATE outbox SET published_at = now() WHERE published_at IS NULL"))
        c.execute(text("VACUUM ANALYZE outbox"))
    engine.dispose()
    try:
        uri = f"amqp://guest:guest@{RABBIT_HOST}:5672/{quote(vhost, safe='')}"
        with Connection(uri) as conn:      # a subscriber: the events are routed to and stored in its queue
            HandlerQueue("leads", "lead_created", "bench", "subscriber").declare(conn)
        return alone, measure_import(url, files[half:], expected[half:], relay_uri=uri)
    finally:
        delete_vhost(vhost)


# -- report ------------------------------------------------------------------------------------
def machine() -> dict:
    try:
        load_avg = os.getloadavg()
    except OSError:
        load_avg = None
    cpu = "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = "?"
    try:
        mem = Path("/proc/meminfo").read_text().splitlines()[0].split(":", 1)[1].strip()
    except OSError:
        pass
    return {"cpus": os.cpu_count(), "cpu_model": cpu, "memory": mem, "python": sys.version.split()[0],
            "loadavg_at_end": [round(x, 2) for x in load_avg] if load_avg else None}


def git_commit():
    try:
        commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True).stdout.strip()
        dirty = bool(subprocess.run(["git", "status", "--porcelain"], cwd=ROOT, capture_output=True,
                                    text=True).stdout.strip())
        return commit or None, dirty
    except OSError:
        return None, False


def write_report(doc: dict) -> None:
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / f"{SCENARIO}.json").write_text(json.dumps(doc, indent=2, default=str) + "\n")
    m, ld, imp = doc["machine"], doc["load"], doc["import"]
    lines = [
        f"# {SCENARIO}: leads at scale on PostgreSQL ({ld['rows']:,} leads)",
        "",
        f"{doc['stamp']} · commit `{(doc['commit'] or '?')[:12]}`{' (dirty)' if doc['dirty'] else ''} · "
        f"{m['cpus']} CPUs ({m['cpu_model']}) · {m['memory']} · PostgreSQL {doc['postgres_version']} · "
        f"load average at the end {m['loadavg_at_end']}",
        "",
        f"Data: {ld['rows']:,} leads ({ld['table_size']} with indexes), statuses "
        + ", ".join(f"{k} {v:,}" for k, v in sorted(ld["status_counts"].items()))
        + f"; {ld['team_rows']:,} team rows; loaded in {ld['load_s']} s (INSERT ... SELECT generate_series), "
        f"VACUUM ANALYZE {ld['vacuum_analyze_s']} s.",
        "",
        "## List at the service",
        "",
        "`services.leads.application.list_leads(uow, principal, query)` called in-process with a `UnitOfWork` "
        "on the database (what the `list_leads` RPC entrypoint runs; no RabbitMQ or HTTP in the figures): "
        "session, scope + filters, keyset page of 50 (+1), `LeadOut` dump, rollback. "
        f"{doc['lists'][0]['warmup'] if doc['lists'] else 0} warm-up calls, then "
        f"{doc['lists'][0]['repetitions'] if doc['lists'] else 0} timed calls per query.",
        "",
        "| query | what | p50 ms | p99 ms | max ms | target p99 | met |",
        "|---|---|---:|---:|---:|---:|---|",
    ]
    for q in doc["lists"]:
        lines.append(f"| {q['query']} | {q['what']} | {q['p50_ms']:.2f} | {q['p99_ms']:.2f} | {q['max_ms']:.2f} | "
                     f"< {q['target_p99_ms']:g} ms | {'yes' if q['meets_target'] else 'NO'} |")
    lines += [
        "",
        "## Import",
        "",
        f"`application.import_leads(uow, admin, csv_text)` on the loaded database: {imp['rows']:,} CSV rows "
        f"in {imp['files']} files of {imp['rows_per_file']:,} rows (`MAX_IMPORT_ROWS`, the most one call accepts), "
        f"~2 % phones of existing live leads, ~1 % invalid rows.",
        "",
        "| how | rows | seconds | rows/s | target | met | created | duplicates | invalid | report as expected | "
        "lead_created outbox rows | every event published after |",
        "|---|---:|---:|---:|---:|---|---:|---:|---:|---|---:|---:|",
    ]
    runs = [("alone", imp)] + ([("as in the service: its outbox relay publishes meanwhile", doc["import_with_relay"])]
                               if doc.get("import_with_relay") else [])
    for how, run in runs:
        lines.append(
            f"| {how} | {run['rows']:,} | {run['seconds']} | {run['rows_per_s']:,.0f} | "
            f">= {run['target_rows_per_s']:,.0f} | {'yes' if run['meets_target'] else 'NO'} | "
            f"{run['reported']['created']:,} | {run['reported']['duplicates']:,} | {run['reported']['invalid']:,} | "
            f"{'yes' if run['report_matches'] else 'NO (expected ' + json.dumps(run['expected']) + ')'} | "
            f"{run['lead_created_outbox_rows']:,} | "
            f"{str(run['all_published_after_s']) + ' s' if run['all_published_after_s'] is not None else '-'} |")
    lines += [""]
    for how, run in runs:
        c = run["cpu"]
        lines.append(
            f"CPU per 1,000 rows ({how}): this process {c['import_process_ms_per_1000_rows']} ms, PostgreSQL "
            f"{c['postgresql_ms_per_1000_rows']} ms"
            + (f", RabbitMQ {c['rabbitmq_ms_per_1000_rows']} ms" if "rabbitmq_ms_per_1000_rows" in c else "")
            + f"; other work on the machine meanwhile: {c['foreign_cores']} cores. Median file "
            f"({run['rows_per_file']:,} rows): {run['file_seconds_p50']} s.")
        lines.append("")
    lines += [
        "Timings are wall clock on a shared machine (other jobs may run meanwhile: see the load average); "
        "p99 of a few hundred calls is sensitive to such noise.",
        "",
        "## EXPLAIN ANALYZE (one run of each list statement, after the timed calls)",
        "",
    ]
    for q in doc["lists"]:
        lines += [f"### {q['query']}", "", "```", q["explain_analyze"], "```", ""]
    (RESULTS / f"{SCENARIO}.md").write_text("\n".join(lines))


def main() -> int:
    sys.path.insert(0, str(ROOT))
    name = f"crm_bench_scale_{os.getpid()}"
    print(f"bench {SCENARIO}: rows={ROWS:,} import_rows={IMPORT_ROWS:,} reps={REPS} warmup={WARMUP} "
          f"database={name}", flush=True)
    stamp = dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    try:
        url = create_database(name)
    except Exception as exc:   # no PostgreSQL here: nothing to measure
        print(f"  skipped: PostgreSQL not reachable at {ADMIN_URL} ({str(exc).splitlines()[0]})", flush=True)
        return 0
    try:
        t0 = time.perf_counter()
        info = load(url)
        print(f"  loaded {ROWS:,} leads in {time.perf_counter() - t0:.1f} s ({info['table_size']})", flush=True)
        lists = measure_lists(url)
        imp, imp_relay = measure_imports(url)
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
           "postgres_version": pg, "load": info, "lists": lists, "import": imp, "import_with_relay": imp_relay,
           "targets": {"list_p99_ms_below": LIST_TARGET_P99_MS, "import_rows_per_s_at_least": IMPORT_TARGET_RPS},
           "all_met": all(q["meets_target"] for q in lists) and imp["meets_target"]}
    write_report(doc)
    print()
    for q in lists:
        print(f"{q['query']:22s} p50 {q['p50_ms']:7.2f} ms  p99 {q['p99_ms']:7.2f} ms  "
              f"{'ok' if q['meets_target'] else 'ABOVE'} (< {LIST_TARGET_P99_MS:g} ms)")
    print(f"{'import':22s} {imp['rows_per_s']:,.0f} rows/s  {'ok' if imp['meets_target'] else 'BELOW'} "
          f"(>= {IMPORT_TARGET_RPS:,.0f}); report as expected: {imp['report_matches']}; "
          f"outbox rows = created: {imp['outbox_matches']}")
    if imp_relay:
        print(f"{'import with the relay':22s} {imp_relay['rows_per_s']:,.0f} rows/s; every event published after "
              f"{imp_relay['all_published_after_s']} s; report as expected: {imp_relay['report_matches']}")
    print(f"results: {RESULTS / (SCENARIO + '.json')}, {RESULTS / (SCENARIO + '.md')}")
    return 0


if __name__ == "__main__":
    import eventlet
    eventlet.monkey_patch()        # as crm_kit.ops.runner does for every service process
    from crm_kit.records.db import make_green
    make_green()
    sys.exit(main())
