"""``python -m bench.customers_scale``: the customer lists at scale, on PostgreSQL.

1. :func:`seed` (reusable: ``bench/customers_import.py`` builds on it) makes a fresh database
   (``crm_bench_customers_<pid>``), migrated with ``crm_kit.ops.migrations.upgrade("customers", url)``,
   and bulk-loads it in SQL (``INSERT ... SELECT generate_series``): ``BENCH_CUSTOMERS`` customers
   (default 1,000,000) and ``BENCH_CONTACTS`` contacts (default twice as many): 50 owners in 10
   departments, 5 % in 5 public pools (no owner), levels, deal statuses, industries, regions, 30 %
   tagged, 70 % followed up, a unique mobile per customer and telephone for half, a unique phone per
   contact, 80 % located (5 % of all in a Shanghai cluster, the others over 25 x 25 degrees of China),
   1 % shared with a team member; UUIDv7-shaped time-ordered ids and ``created_at`` over the past
   year. The indexes of the migration are dropped for the load and built again after it (what a
   restore does; the same indexes), then ``VACUUM ANALYZE``.
2. List latency AT THE SERVICE: ``services.customers.application.list_customers(uow, principal,
   query)`` called directly with a ``UnitOfWork`` (what the ``list_customers`` RPC entrypoint runs; no
   RabbitMQ, no HTTP): find by phone (a customer's mobile as an admin; a contact's phone as a
   manager), by name prefix, the ``subordinates`` view (first page, and a deep page sorted by last
   follow-up), the name sort, a filter without an index of its own (deal status), and a radius filter
   (5 km around a point in the cluster). Warm-up, then
   ``BENCH_SCALE_REPS`` (default 300) timed calls each; p50 / p99 in ms; target p99 < 20 ms.
   ``EXPLAIN (ANALYZE, BUFFERS)`` of the statements of one call goes in the report.
3. ``bench/results/customers_scale.json`` and ``.md``, and a summary on stdout.

Environment: BENCH_CUSTOMERS, BENCH_CONTACTS, BENCH_SCALE_REPS, BENCH_SCALE_WARMUP (default 30),
BENCH_PG_ADMIN_URL (default ``postgresql+psycopg2://postgres@127.0.0.1:5432/postgres``),
BENCH_SCALE_KEEP=1 keeps the database; BENCH_CUSTOMERS_URL measures an already seeded database.
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
SCENARIO = "customers_scale"

CUSTOMERS = env_int("BENCH_CUSTOMERS", 1_000_000)
CONTACTS = env_int("BENCH_CONTACTS", 2 * CUSTOMERS)
REPS = env_int("BENCH_SCALE_REPS", 300)
WARMUP = env_int("BENCH_SCALE_WARMUP", 30)
KEEP = os.environ.get("BENCH_SCALE_KEEP") == "1"
TARGET_P99_MS = 20.0
OWNERS, DEPARTMENTS, POOLS = 50, 10, 5
NEAR = {"lat": 31.23, "lng": 121.47, "radius_km": 5}
TABLES = ("customers", "contacts", "customer_tags", "customers_team")

# A customer i: owner (i * 31) % 50 in department owner % 10; every 20th (i % 20 = 0) in pool
# (i / 20) % 5 without owner; located at random (r); mobile +86 139 <i:08>, telephone 021-<i:08> for even i.
CUSTOMERS_SQL = """
SELECT setseed(0.42);
INSERT INTO customers (id, name, name_key, kind, industry, size, level, region, address, latitude, longitude,
                       mobile, mobile_key, telephone, telephone_key, email, source, profile_completeness,
                       owner_id, department_id, owner_since, claim_count, pool_id, pool_since, locked,
                       last_followed_at, deal_status, deal_at, open_opportunities, opportunity_total, order_total,
                       paid_total, created_by, version, created_at, updated_at)
SELECT
  substr(h, 1, 8) || '-' || substr(h, 9, 4) || '-7' || lpad(to_hex(i % 4096), 3, '0') || '-'
    || '8' || lpad(to_hex((i * 7) % 4096), 3, '0') || '-' || lpad(to_hex(i), 12, '0'),
  'Company ' || i, 'company' || i,
  CASE WHEN i % 10 = 3 THEN 'individual' ELSE 'company' END,
  (ARRAY['retail','software','manufacturing','finance','health','education'])[1 + (i % 6)],
  (ARRAY['1-10','11-50','51-200','201-1000'])[1 + (i % 4)],
  (ARRAY['A','B','C',NULL])[1 + (i % 4)],
  (ARRAY['north','south','east','west','central'])[1 + (i % 5)],
  'Road ' || (i % 997) || ', City ' || (i % 300),
  CASE WHEN r < 0.05 THEN 31.0 + random() * 0.5 WHEN r < 0.80 THEN 20 + random() * 25 END,
  CASE WHEN r < 0.05 THEN 121.2 + random() * 0.6 WHEN r < 0.80 THEN 100 + random() * 25 END,
  '+86 139 ' || lpad(i::text, 8, '0'), '139' || lpad(i::text, 8, '0'),
  CASE WHEN i % 2 = 0 THEN '021-' || lpad(i::text, 8, '0') END,
  CASE WHEN i % 2 = 0 THEN '021' || lpad(i::text, 8, '0') END,
  CASE WHEN i % 3 = 0 THEN 'c' || i || '@example.com' END,
  (ARRAY['trade_show','campaign','web_form','advertisement','purchased_list','referral','other'])[1 + (i % 7)],
  50,
  CASE WHEN pooled THEN NULL ELSE '00000000-0000-7000-8000-' || lpad(o::text, 12, '0') END,
  CASE WHEN pooled THEN NULL ELSE '00000000-0000-7000-9000-' || lpad((o % :depts)::text, 12, '0') END,
  CASE WHEN pooled THEN NULL ELSE ts END,
  i % 3,
  CASE WHEN pooled THEN '00000000-0000-7000-a000-' || lpad(((i / 20) % :pools)::text, 12, '0') END,
  CASE WHEN pooled THEN ts END,
  i % 50 = 7,
  CASE WHEN i % 10 < 7 THEN ts + ((i % 30) || ' days')::interval END,
  CASE WHEN i % 5 = 0 THEN 'deal' ELSE 'prospect' END,
  CASE WHEN i % 5 = 0 THEN ts + interval '40 days' END,
  0, 0, 0, 0,
  '00000000-0000-7000-8000-' || lpad(o::text, 12, '0'), 1, ts, ts
FROM (
  SELECT i, lpad(to_hex(ms), 12, '0') AS h, to_timestamp(ms / 1000.0) AS ts, (i * 31) % :owners AS o,
         i % 20 = 0 AS pooled, random() AS r
  FROM (SELECT i, :start_ms + i::bigint * :step_ms + (i % 997) AS ms FROM generate_series(1, :rows) AS i) g
) s
"""

def _contacts_sql() -> str:
    """Contact j belongs to customer ((j - 1) % customers) + 1 (two each by default; the first is
    primary), phone +86 137 <j:08>; joined to it by the id's last 12 hex digits (``lpad(to_hex(i), 12)``)."""
    return """
INSERT INTO contacts (id, customer_id, name, title, phone, phone_key, email, birthday, is_primary, owner_id,
                      department_id, version, created_at, updated_at)
SELECT
  substr(c.id, 1, 19) || '9' || lpad(to_hex((g.j * 7) % 4096), 3, '0') || '-' || lpad(to_hex(g.j), 12, '0'),
  c.id, 'Contact ' || g.j, (ARRAY['CEO','CTO','Buyer','Engineer',NULL])[1 + (g.j % 5)],
  '+86 137 ' || lpad(g.j::text, 8, '0'), '137' || lpad(g.j::text, 8, '0'),
  CASE WHEN g.j % 2 = 0 THEN 'p' || g.j || '@example.com' END,
  CASE WHEN g.j % 4 = 0 THEN date '1970-01-01' + (g.j % 12000) END,
  g.j <= :customers, c.owner_id, c.department_id, 1, c.created_at + interval '1 second',
  c.created_at + interval '1 second'
FROM generate_series(1, :rows) AS g(j)
JOIN customers c ON right(c.id, 12) = lpad(to_hex(((g.j - 1) % :customers) + 1), 12, '0')
"""


def _drop_indexes(c) -> list[str]:
    """Drop the secondary indexes of the loaded tables; returns their definitions (to build again)."""
    rows = c.execute(text(
        "SELECT i.indexname, i.indexdef FROM pg_indexes i LEFT JOIN pg_constraint k ON k.conname = i.indexname "
        "WHERE i.schemaname = 'public' AND i.tablename = ANY(:t) AND k.conname IS NULL"), {"t": list(TABLES)}).all()
    for name, _ in rows:
        c.execute(text(f'DROP INDEX "{name}"'))
    return [d for _, d in rows]


def seed(url: str, customers: int = CUSTOMERS, contacts: int | None = None, *, migrate: bool = True) -> dict:
    """Migrate the customers database at ``url`` and load ``customers`` customers and ``contacts``
    contacts (default twice as many) as described above; returns what was loaded and how long it took.
    Deterministic (``setseed``), so another benchmark (``bench.customers_import``) can rely on the
    shape: customer i has mobile ``+86 139 <i:08>``, contact j phone ``+86 137 <j:08>``."""
    from crm_kit.ops.migrations import upgrade

    contacts = 2 * customers if contacts is None else contacts
    t0 = time.perf_counter()
    if migrate:
        upgrade("customers", url)
    migrated = time.perf_counter() - t0
    engine = create_engine(url)
    now_ms = int(time.time() * 1000)
    start_ms = now_ms - 366 * 86400 * 1000
    step_ms = max(1, (365 * 86400 * 1000) // max(customers, 1))
    timings = {"migrate_s": round(migrated, 2)}
    with engine.begin() as c:
        c.execute(text("SET LOCAL synchronous_commit = off"))
        c.execute(text("SET LOCAL maintenance_work_mem = '512MB'"))
        t0 = time.perf_counter()
        indexes = _drop_indexes(c)
        for stmt in CUSTOMERS_SQL.split(";\n", 1):
            c.execute(text(stmt), {"rows": customers, "start_ms": start_ms, "step_ms": step_ms, "owners": OWNERS,
                                   "depts": DEPARTMENTS, "pools": POOLS})
        timings["customers_s"] = round(time.perf_counter() - t0, 2)
        t0 = time.perf_counter()
        c.execute(text(_contacts_sql()), {"rows": contacts, "customers": customers})
        timings["contacts_s"] = round(time.perf_counter() - t0, 2)
        t0 = time.perf_counter()
        c.execute(text(
            "INSERT INTO customer_tags (customer_id, tag) SELECT id, (ARRAY['vip','key_account','partner',"
            "'distributor','overseas'])[1 + (abs(hashtext(id)) % 5)] FROM customers WHERE abs(hashtext(id)) % 10 < 3"))
        c.execute(text(
            "INSERT INTO customer_pools (id, name, claiming_enabled, reclaim_cooldown_days, protection_days, "
            "recycle_enabled, recycle_rules, recycle_department_ids, priority, hidden_fields, return_reasons, "
            "version, created_at, updated_at) SELECT '00000000-0000-7000-a000-' || lpad(p::text, 12, '0'), "
            "'Pool ' || p, true, 0, 0, false, '[]', '[]', 0, '[]', '[]', 1, now(), now() "
            "FROM generate_series(0, :n - 1) p"), {"n": POOLS})
        c.execute(text(
            "INSERT INTO customer_pool_users (pool_id, user_id, role, department_id) "
            "SELECT '00000000-0000-7000-a000-' || lpad((u % :pools)::text, 12, '0'), "
            "'00000000-0000-7000-8000-' || lpad(u::text, 12, '0'), "
            "CASE WHEN u < :pools THEN 'admin' ELSE 'member' END, "
            "'00000000-0000-7000-9000-' || lpad((u % :depts)::text, 12, '0') FROM generate_series(0, :owners - 1) u"),
            {"pools": POOLS, "depts": DEPARTMENTS, "owners": OWNERS})
        c.execute(text(
            "INSERT INTO customers_team (record_id, user_id, access, granted_by, granted_at) "
            "SELECT id, '00000000-0000-7000-8000-' || lpad(((abs(hashtext(id)) % :owners + 7) % :owners)::text, 12, "
            "'0'), CASE WHEN random() < 0.5 THEN 'read' ELSE 'read_write' END, owner_id, now() "
            "FROM customers WHERE owner_id IS NOT NULL AND random() < 0.01 ON CONFLICT DO NOTHING"), {"owners": OWNERS})
        timings["tags_pools_team_s"] = round(time.perf_counter() - t0, 2)
        t0 = time.perf_counter()
        for definition in indexes:
            c.execute(text(definition))
        timings["indexes_s"] = round(time.perf_counter() - t0, 2)
    t0 = time.perf_counter()
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as c:
        for table in TABLES:
            c.execute(text(f"VACUUM ANALYZE {table}"))
        counts = {t: c.execute(text(f"SELECT count(*) FROM {t}")).scalar() for t in TABLES}
        sizes = {t: c.execute(text(f"SELECT pg_size_pretty(pg_total_relation_size('{t}'))")).scalar()
                 for t in ("customers", "contacts")}
        located = c.execute(text("SELECT count(*) FROM customers WHERE latitude IS NOT NULL")).scalar()
    timings["vacuum_analyze_s"] = round(time.perf_counter() - t0, 2)
    engine.dispose()
    return {"customers": customers, "contacts": contacts, "counts": counts, "located": located,
            "sizes": sizes, "indexes_rebuilt": len(indexes), **timings}


def describe(url: str) -> dict:
    """What an already seeded database holds, in :func:`seed`'s shape (no load timings)."""
    engine = create_engine(url)
    with engine.connect() as c:
        counts = {t: c.execute(text(f"SELECT count(*) FROM {t}")).scalar() for t in TABLES}
        sizes = {t: c.execute(text(f"SELECT pg_size_pretty(pg_total_relation_size('{t}'))")).scalar()
                 for t in ("customers", "contacts")}
        located = c.execute(text("SELECT count(*) FROM customers WHERE latitude IS NOT NULL")).scalar()
    engine.dispose()
    return {"customers": counts["customers"], "contacts": counts["contacts"], "counts": counts, "located": located,
            "sizes": sizes, "indexes_rebuilt": "?", **dict.fromkeys(
                ("migrate_s", "customers_s", "contacts_s", "tags_pools_team_s", "indexes_s", "vacuum_analyze_s"), "?")}


# -- latency at the service ----------------------------------------------------------------------------
def principals():
    from crm_kit.context import Principal
    admin = Principal(user_id=user_id(0), role="admin", department_id=dept_id(0), scope_department_ids=(dept_id(0),))
    # A manager of department 7 whose subtree is 7, 8, 9 (30 % of the owned customers), member of pool 2.
    manager = Principal(user_id=user_id(7), role="manager", department_id=dept_id(7),
                        scope_department_ids=(dept_id(7), dept_id(8), dept_id(9)))
    return admin, manager


def cursor_after(factory, principal, query: dict, n: int) -> str | None:
    """The cursor after the first ``n`` rows of the list (principal, query), as the list writes it."""
    from crm_kit.records.schemas import load
    from crm_kit.records.scopes import scoped_select
    from services.customers.application import queries
    from services.customers.application.access import read_extra
    from services.customers.models import Customer
    from services.customers.schemas import CustomerListQuery
    params = load(CustomerListQuery(), query)
    sort = queries.CUSTOMER_SORTS.get(params["sort"]) or queries.Sort(None, None)
    stmt = queries.customer_statement(principal, params, scoped_select(Customer, principal, read_extra(principal)))
    col = sort.column if sort.column is not None else Customer.id
    desc = params["direction"] == "desc"
    order = (col.desc().nulls_first(), Customer.id.desc()) if desc else (col.asc().nulls_last(), Customer.id.asc())
    with factory() as s:
        row = s.scalars(stmt.order_by(*order).offset(n - 1).limit(1)).first()
        return queries._cursor(row, sort, params["direction"]) if row is not None else None


class Statements:
    """The SQL statements (with their parameters) one call runs, for EXPLAIN."""

    def __init__(self, engine):
        self.engine, self.seen, self.on = engine, [], False
        event.listen(engine, "before_cursor_execute", self._record)

    def _record(self, conn, cursor, statement, parameters, context, executemany):
        if self.on and statement.lstrip().upper().startswith("SELECT"):
            self.seen.append((statement, parameters))

    def explain(self, run) -> str:
        self.seen, self.on = [], True
        try:
            run()
        finally:
            self.on = False
        plans = []
        raw = self.engine.raw_connection()
        try:
            cur = raw.cursor()
            for statement, parameters in self.seen:
                cur.execute("EXPLAIN (ANALYZE, BUFFERS) " + statement, parameters)
                plans.append("\n".join(r[0] for r in cur.fetchall()))
            raw.rollback()
        finally:
            raw.close()
        return "\n\n".join(plans)


def cases(factory, customers: int) -> list[tuple]:
    admin, manager = principals()
    mid = max(customers // 2, 1)
    mobile = f"+86 139 {mid + (mid % 2 == 0) * 3:08d}"          # an odd customer: mobile only
    contact_phone = f"137-{(7 * 31) % customers + 1:08d}"       # a contact, as typed
    prefix = "Company 4242" if customers >= 100_000 else "Company 42"   # ~111 (or ~1,111) of 1,000,000 names
    sub_deep = max(int(customers * 0.3 * 0.9 * 0.5), 1)          # half-way through the view's ~30 % of rows
    # ascending: the rows with a last follow-up first (a row-value keyset on (last_followed_at, id)), then
    # the never followed ones
    deep_query = {"scope": "subordinates", "sort": "last_followed_at", "direction": "asc", "limit": 50}
    return [
        ("find_by_phone", f"admin, phone={mobile!r} (a customer's mobile; also matched against telephones and "
         "contacts' phones)", admin, {"phone": mobile}, 1),
        ("find_by_contact_phone", f"manager, phone={contact_phone!r} (a contact's phone, as typed)", manager,
         {"phone": contact_phone}, None),
        ("name_prefix", f"manager, name={prefix!r} (prefix of the normalised name), sort=name asc, limit 50",
         manager, {"name": prefix, "sort": "name", "direction": "asc", "limit": 50}, None),
        ("name_sorted", "manager, sort=name asc, limit 50, first page (the name sort: (name_key, id), byte order)",
         manager, {"sort": "name", "direction": "asc", "limit": 50}, 50),
        ("deal_status_filter", "manager, deal_status=deal (a filter without an index of its own: read along the "
         "primary key), limit 50", manager, {"deal_status": "deal", "limit": 50}, 50),
        ("subordinates", "manager (dept subtree of 3 of 10 departments), scope=subordinates, limit 50, first page",
         manager, {"scope": "subordinates", "limit": 50}, 50),
        ("subordinates_deep_sorted", f"manager, scope=subordinates, sort=last_followed_at asc, limit 50, cursor "
         f"after {sub_deep:,} rows", manager,
         {**deep_query, "cursor": cursor_after(factory, manager, deep_query, sub_deep)}, 50),
        ("near_radius", f"manager, lat={NEAR['lat']} lng={NEAR['lng']} radius_km={NEAR['radius_km']} "
         "(bounding box on the latitude/longitude index, then haversine), limit 50", manager,
         {**NEAR, "limit": 50}, None),
        ("near_radius_admin", "admin, the same radius (every customer within 5 km), limit 50", admin,
         {**NEAR, "limit": 50}, None),
    ]


def measure(url: str, customers: int) -> list[dict]:
    from crm_kit.records.db import make_engine
    from crm_kit.runtime.uow import UnitOfWork
    from services.customers import application as app
    from services.customers.models import Base

    engine = make_engine(url)
    factory = sessionmaker(engine, expire_on_commit=False)
    uow = UnitOfWork(factory, "customers", Base.metadata)
    statements = Statements(engine)
    backends: set[int] = set()

    @event.listens_for(engine, "connect")
    def _backend_pid(dbapi_connection, record):
        cur = dbapi_connection.cursor()
        cur.execute("SELECT pg_backend_pid()")
        backends.add(cur.fetchone()[0])
        cur.close()

    def backends_cpu() -> float:
        return sum(proc_cpu(pid) for pid in backends)
    out = []
    for key, what, principal, query, expect in cases(factory, customers):
        for _ in range(WARMUP):
            page = app.list_customers(uow, principal, query)
        assert page["items"], (key, "empty page")
        if expect is not None:
            assert len(page["items"]) == expect, (key, len(page["items"]))
        timings = []
        cpu0, pg0, busy0, wall0 = time.process_time(), backends_cpu(), machine_cpu()[0], time.perf_counter()
        for _ in range(REPS):
            t0 = time.perf_counter()
            app.list_customers(uow, principal, query)
            timings.append((time.perf_counter() - t0) * 1000)
        wall = time.perf_counter() - wall0
        own_cpu, pg_cpu = time.process_time() - cpu0, backends_cpu() - pg0
        foreign = max(0.0, (machine_cpu()[0] - busy0) / TICK - own_cpu - pg_cpu) / wall
        plan = statements.explain(lambda: app.list_customers(uow, principal, query))
        p50, p99 = percentile(timings, 0.5), percentile(timings, 0.99)
        out.append({"query": key, "what": what, "repetitions": REPS, "warmup": WARMUP, "rows": len(page["items"]),
                    "p50_ms": round(p50, 2), "p99_ms": round(p99, 2), "max_ms": round(max(timings), 2),
                    "mean_ms": round(statistics.fmean(timings), 2), "target_p99_ms": TARGET_P99_MS,
                    "meets_target": p99 < TARGET_P99_MS, "service_cpu_ms_per_call": round(own_cpu / REPS * 1000, 2),
                    "postgresql_cpu_ms_per_call": round(pg_cpu / REPS * 1000, 2), "foreign_cores": round(foreign, 2),
                    "explain_analyze": plan})
        print(f"  {key:26s} rows {len(page['items']):3d}  p50 {p50:7.2f} ms  p99 {p99:7.2f} ms  CPU/call: service "
              f"{own_cpu / REPS * 1000:.2f} ms, PostgreSQL {pg_cpu / REPS * 1000:.2f} ms; other work meanwhile "
              f"{foreign:.2f} cores", flush=True)
    engine.dispose()
    return out


# -- report ------------------------------------------------------------------------------------------
def write_report(doc: dict) -> None:
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / f"{SCENARIO}.json").write_text(json.dumps(doc, indent=2, default=str) + "\n")
    m, ld = doc["machine"], doc["load"]
    lines = [
        f"# {SCENARIO}: customer lists at scale on PostgreSQL ({ld['customers']:,} customers, "
        f"{ld['contacts']:,} contacts)",
        "",
        f"{doc['stamp']} · commit `{(doc['commit'] or '?')[:12]}`{' (dirty)' if doc['dirty'] else ''} · "
        f"{m['cpus']} CPUs ({m['cpu_model']}) · {m['memory']} · PostgreSQL {doc['postgres_version']} · "
        f"load average at the end {m['loadavg_at_end']}",
        "",
        f"Data (`bench.customers_scale.seed`): {ld['counts']['customers']:,} customers ({ld['sizes']['customers']} "
        f"with indexes; {ld['located']:,} located), {ld['counts']['contacts']:,} contacts "
        f"({ld['sizes']['contacts']}), {ld['counts']['customer_tags']:,} tags, {ld['counts']['customers_team']:,} "
        f"team rows. Loaded with INSERT ... SELECT generate_series: customers {ld['customers_s']} s, contacts "
        f"{ld['contacts_s']} s, the rest {ld['tags_pools_team_s']} s, {ld['indexes_rebuilt']} indexes built "
        f"{ld['indexes_s']} s, VACUUM ANALYZE {ld['vacuum_analyze_s']} s.",
        "",
        "## List at the service",
        "",
        "`services.customers.application.list_customers(uow, principal, query)` called in-process with a "
        "`UnitOfWork` on the database (what the `list_customers` RPC entrypoint runs; no RabbitMQ or HTTP): "
        "session, data scope + view + filters, keyset page (+1), the tags of the page (selectin; a list item has "
        "no contacts), `CustomerListItemOut` dump, masking, rollback. "
        f"{WARMUP} warm-up calls, then {REPS} timed calls per query.",
        "",
        "| query | what | rows | p50 ms | p99 ms | max ms | target p99 | met | CPU ms/call: service, PostgreSQL | "
        "other work meanwhile (cores) |",
        "|---|---|---:|---:|---:|---:|---:|---|---:|---:|",
    ]
    for q in doc["lists"]:
        lines.append(f"| {q['query']} | {q['what']} | {q['rows']} | {q['p50_ms']:.2f} | {q['p99_ms']:.2f} | "
                     f"{q['max_ms']:.2f} | < {q['target_p99_ms']:g} ms | {'yes' if q['meets_target'] else 'NO'} | "
                     f"{q['service_cpu_ms_per_call']}, {q['postgresql_cpu_ms_per_call']} | {q['foreign_cores']} |")
    lines += [
        "",
        "Timings are wall clock on a shared machine: `other work meanwhile` is the CPU the rest of the machine used "
        f"during the timed calls, in cores (of {m['cpus']}); when it is near the core count, every figure is "
        "stretched by the wait for a CPU. The CPU per call (this process: the service's work; its PostgreSQL "
        "backends) is what a call costs whatever else runs.",
        "",
        "## EXPLAIN (ANALYZE, BUFFERS) of the statements of one call (after the timed calls)",
        "",
    ]
    for q in doc["lists"]:
        lines += [f"### {q['query']}", "", "```", q["explain_analyze"], "```", ""]
    (RESULTS / f"{SCENARIO}.md").write_text("\n".join(lines))


def main() -> int:
    sys.path.insert(0, str(ROOT))
    given = os.environ.get("BENCH_CUSTOMERS_URL")
    name = f"crm_bench_customers_{os.getpid()}"
    print(f"bench {SCENARIO}: customers={CUSTOMERS:,} contacts={CONTACTS:,} reps={REPS} warmup={WARMUP}", flush=True)
    stamp = dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    if given:
        url, info = given, json.loads(os.environ.get("BENCH_CUSTOMERS_LOAD", "{}")) or describe(given)
    else:
        try:
            url = create_database(name)
        except Exception as exc:   # no PostgreSQL here: nothing to measure
            print(f"  skipped: PostgreSQL not reachable at {ADMIN_URL} ({str(exc).splitlines()[0]})", flush=True)
            return 0
    try:
        if not given:
            t0 = time.perf_counter()
            info = seed(url, CUSTOMERS, CONTACTS)
            print(f"  seeded in {time.perf_counter() - t0:.1f} s: {json.dumps(info)}", flush=True)
        lists = measure(url, info.get("customers", CUSTOMERS))
        engine = create_engine(url)
        with engine.connect() as c:
            pg = c.execute(text("SHOW server_version")).scalar()
        engine.dispose()
    finally:
        if KEEP or given:
            print(f"database kept: {url}", flush=True)
        else:
            drop_database(name)
    commit, dirty = git_commit()
    doc = {"scenario": SCENARIO, "stamp": stamp, "commit": commit, "dirty": dirty, "machine": machine(),
           "postgres_version": pg, "load": info, "lists": lists, "targets": {"list_p99_ms_below": TARGET_P99_MS},
           "all_met": all(q["meets_target"] for q in lists)}
    write_report(doc)
    print()
    for q in lists:
        print(f"{q['query']:26s} p50 {q['p50_ms']:7.2f} ms  p99 {q['p99_ms']:7.2f} ms  "
              f"{'ok' if q['meets_target'] else 'ABOVE'} (< {TARGET_P99_MS:g} ms)")
    print(f"results: {RESULTS / (SCENARIO + '.json')}, {RESULTS / (SCENARIO + '.md')}")
    return 0


if __name__ == "__main__":
    import eventlet
    eventlet.monkey_patch()        # as crm_kit.ops.runner does for every service process
    from crm_kit.records.db import make_green
    make_green()
    sys.exit(main())
