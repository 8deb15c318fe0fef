"""``python -m bench.customers_recycle``: a recycle run over a million customers, on PostgreSQL.

1. ``bench.customers_scale.seed`` makes a fresh database (``crm_bench_recycle_<pid>``, dropped at the
   end) with ``BENCH_CUSTOMERS`` customers (default 1,000,000) and ``BENCH_CONTACTS`` contacts
   (default twice as many); then the clocks are set so that exactly ``BENCH_RECYCLE_DUE`` of them
   (default 100,000) are due: every owned customer received a day ago, and ``BENCH_RECYCLE_DUE``
   owned, unlocked prospects, chosen by hash (spread over the whole id range), received 40 days ago
   and not followed up since; every owned customer has its open owner history stretch. One pool
   recycles every department's customers by a rule of 30 days without a follow-up; locked customers
   and deal customers (20 %) are there too, and stay.
2. The run AT THE SERVICE: ``services.customers.application.recycle_all_pools(uow, as_of)`` -- what
   the ``recycle_customers`` periodic job runs -- with a ``UnitOfWork`` on that database (no
   RabbitMQ: the outbox rows are written, not relayed). Every transaction the run opens is timed
   from its BEGIN to its COMMIT / ROLLBACK (SQLAlchemy connection events), independently of the
   run's own report. Targets: the run under 60 s, no transaction open longer than 1 s.
3. Checked afterwards: exactly the due customers are in the pool, each with one ``customer_recycled``
   and one ``customer_owner_changed`` outbox row, its audit entry naming the rule and its owner history
   stretch ended; a second run as of the same time recycles nothing.
4. ``bench/results/customers_recycle.json`` and ``.md``, and a summary on stdout.

Environment: BENCH_CUSTOMERS, BENCH_CONTACTS, BENCH_RECYCLE_DUE, BENCH_RECYCLE_BATCH and
BENCH_RECYCLE_WORKERS (default: the service's ``BATCH_SIZE``, ``WORKERS``), BENCH_PG_ADMIN_URL,
BENCH_SCALE_KEEP=1 keeps the database; BENCH_CUSTOMERS_URL uses an already seeded database (its
clocks are set again).
"""
from __future__ import annotations

import datetime as dt
import json
import os
import sys
import time
from pathlib import Path

from sqlalchemy import create_engine, event, text
from sqlalchemy.orm import sessionmaker

from bench.customers_scale import seed
from bench.leads_scale import (
    ADMIN_URL,
    cpu_snapshot,
    create_database,
    drop_database,
    env_int,
    git_commit,
    machine,
    percentile,
)
from bench.run import TICK

ROOT = Path(__file__).resolve().parent.parent
RESULTS = Path(__file__).resolve().parent / "results"
SCENARIO = "customers_recycle"

CUSTOMERS = env_int("BENCH_CUSTOMERS", 1_000_000)
CONTACTS = env_int("BENCH_CONTACTS", 2 * CUSTOMERS)
DUE = env_int("BENCH_RECYCLE_DUE", CUSTOMERS // 10)
BATCH = env_int("BENCH_RECYCLE_BATCH", 0)
WORKERS = env_int("BENCH_RECYCLE_WORKERS", 0)
KEEP = os.environ.get("BENCH_SCALE_KEEP") == "1"
TARGET_RUN_S, TARGET_TRANSACTION_S = 60.0, 1.0
POOL_ID = "00000000-0000-7000-a000-00000000ffff"
RULE = {"level": None, "no_follow_up_days": 30, "no_opportunity_days": None, "no_deal_days": None,
        "exempt_deals": True, "exempt_open_opportunities": False, "warning_days": 3}


def prepare(url: str, due: int, as_of: dt.datetime) -> dict:
    """The clocks (see the module's doc) and the recycling pool; returns the counts."""
    engine = create_engine(url)
    t0 = time.perf_counter()
    with engine.begin() as c:
        c.execute(text("SET LOCAL synchronous_commit = off"))
        c.execute(text("DELETE FROM customer_pools WHERE id = :p"), {"p": POOL_ID})
        c.execute(text("UPDATE customer_pools SET recycle_enabled = false"))
        c.execute(text("UPDATE customers SET owner_since = :t WHERE owner_id IS NOT NULL"),
                  {"t": as_of - dt.timedelta(days=1)})
        c.execute(text(
            "UPDATE customers SET owner_since = :received, last_followed_at = CASE WHEN last_followed_at > :received "
            "THEN :received - interval '1 day' ELSE last_followed_at END WHERE id IN (SELECT id FROM customers "
            "WHERE owner_id IS NOT NULL AND NOT locked AND deal_status <> 'deal' ORDER BY md5(id) LIMIT :due)"),
            {"received": as_of - dt.timedelta(days=40), "due": due})
        c.execute(text("DELETE FROM customer_ownership"))       # each owner's open stretch of the owner history
        c.execute(text(
            "INSERT INTO customer_ownership (id, customer_id, owner_id, department_id, started_at, start_kind, "
            "started_by) SELECT gen_random_uuid()::text, id, owner_id, department_id, owner_since, 'created', owner_id "
            "FROM customers WHERE owner_id IS NOT NULL"))
        c.execute(text(
            "INSERT INTO customer_pools (id, name, claiming_enabled, reclaim_cooldown_days, protection_days, "
            "recycle_enabled, recycle_rules, recycle_department_ids, priority, hidden_fields, return_reasons, "
            "version, created_at, updated_at) VALUES (:p, 'Recycle bench pool', true, 0, 0, true, :rules, '[]', 0, "
            "'[]', '[]', 1, now(), now())"), {"p": POOL_ID, "rules": json.dumps([RULE])})
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as c:
        c.execute(text("VACUUM ANALYZE customers"))
        c.execute(text("VACUUM ANALYZE customer_ownership"))
        counts = dict(c.execute(text(
            "SELECT count(*) FILTER (WHERE owner_id IS NOT NULL) AS owned, count(*) FILTER (WHERE locked) AS locked, "
            "count(*) FILTER (WHERE deal_status = 'deal' AND owner_id IS NOT NULL) AS owned_deals, "
            "count(*) FILTER (WHERE owner_since < :cut AND owner_id IS NOT NULL) AS received_over_30_days_ago "
            "FROM customers"), {"cut": as_of - dt.timedelta(days=30)}).one()._mapping)
    engine.dispose()
    return {**counts, "prepare_s": round(time.perf_counter() - t0, 2)}


def backends_cpu(url: str) -> dict:
    """CPU seconds of each PostgreSQL backend serving this database, by pid: the server's figure
    without the other databases' work on a shared machine (``bench.customers_import.backends_cpu``)."""
    from bench.run import proc_cpu
    engine = create_engine(ADMIN_URL)
    with engine.connect() as c:
        pids = c.execute(text("SELECT pid FROM pg_stat_activity WHERE datname = :n"),
                         {"n": url.rsplit("/", 1)[1]}).scalars().all()
    engine.dispose()
    return {pid: proc_cpu(pid) for pid in pids}


class TransactionClock:
    """Times every transaction on an engine, BEGIN to COMMIT / ROLLBACK."""

    def __init__(self, engine):
        self.durations: list[float] = []
        self._open: dict[int, float] = {}
        event.listen(engine, "begin", self._begin)
        event.listen(engine, "commit", self._end)
        event.listen(engine, "rollback", self._end)

    def _begin(self, conn):
        self._open[id(conn)] = time.perf_counter()

    def _end(self, conn):
        started = self._open.pop(id(conn), None)
        if started is not None:
            self.durations.append(time.perf_counter() - started)


def run(url: str, as_of: dt.datetime) -> dict:
    from crm_kit.records.db import make_engine
    from crm_kit.runtime.uow import UnitOfWork
    from services.customers import application as app
    from services.customers.application import recycling

    engine = make_engine(url)
    clock = TransactionClock(engine)
    factory = sessionmaker(engine, expire_on_commit=False)
    from services.customers.models import Base
    batch, workers = BATCH or recycling.BATCH_SIZE, WORKERS or recycling.WORKERS
    cpu_before, own_pg_before = cpu_snapshot(), backends_cpu(url)
    t0 = time.perf_counter()
    result = app.recycle_all_pools(UnitOfWork(factory, "customers", Base.metadata), as_of, batch_size=batch,
                                   workers=workers)
    elapsed = time.perf_counter() - t0
    cpu_after, own_pg_after = cpu_snapshot(), backends_cpu(url)
    own_pg = sum(cpu - own_pg_before.get(pid, 0.0) for pid, cpu in own_pg_after.items())
    durations = list(clock.durations)
    (own0, pg0, (busy0, _)), (own1, pg1, (busy1, _)) = cpu_before, cpu_after
    recycled = sum(result["recycled"].values()) or 1
    cpu = {"process_s": round(own1 - own0, 2), "postgresql_s": round(pg1 - pg0, 2),
           "process_ms_per_1000": round((own1 - own0) * 1e6 / recycled, 1),
           "postgresql_ms_per_1000": round((pg1 - pg0) * 1e6 / recycled, 1),
           "postgresql_this_database_s": round(own_pg, 2),
           "postgresql_this_database_ms_per_1000": round(own_pg * 1e6 / recycled, 1),
           "foreign_cores": round(max((busy1 - busy0) / TICK - (own1 - own0) - (pg1 - pg0), 0.0) / elapsed, 2)
           if elapsed else None}
    t0 = time.perf_counter()
    again = app.recycle_all_pools(UnitOfWork(factory, "customers", Base.metadata), as_of, batch_size=batch,
                                  workers=workers)
    second = time.perf_counter() - t0
    engine.dispose()
    return {"batch_size": batch, "workers": workers, "run_s": round(elapsed, 2), "result": result,
            "recycled": sum(result["recycled"].values()),
            "rate_per_s": round(sum(result["recycled"].values()) / elapsed, 1) if elapsed else None,
            "cpu": cpu, "transactions": len(durations), "longest_transaction_s": round(max(durations, default=0), 3),
            "transaction_p50_ms": round(1000 * (percentile(durations, 0.5) or 0), 1),
            "transaction_p99_ms": round(1000 * (percentile(durations, 0.99) or 0), 1),
            "second_run": {"recycled": sum(again["recycled"].values()), "run_s": round(second, 2)}}


def check(url: str, due: int) -> dict:
    """What the run left: the due customers in the pool, an event pair and an audit entry each."""
    engine = create_engine(url)
    with engine.connect() as c:
        in_pool = c.execute(text("SELECT count(*) FROM customers WHERE pool_id = :p"), {"p": POOL_ID}).scalar()
        still_due = c.execute(text(
            "SELECT count(*) FROM customers WHERE owner_id IS NOT NULL AND NOT locked AND deal_status <> 'deal' "
            "AND owner_since < now() - interval '30 days'")).scalar()
        events = dict(c.execute(text("SELECT event_type, count(*) FROM outbox GROUP BY event_type")).all())
        ended = c.execute(text("SELECT count(*) FROM customer_ownership WHERE end_kind = 'recycle' AND ended_at "
                               "IS NOT NULL")).scalar()
        audited = c.execute(text("SELECT count(*) FROM audit_log WHERE action = 'recycle' AND "
                                 "CAST(changes AS text) LIKE '%recycle_rule%'")).scalar()
    engine.dispose()
    ok = (in_pool == due and still_due == 0 and events.get("customer_recycled") == due
          and events.get("customer_owner_changed") == due and audited == due and ended == due)
    return {"in_pool": in_pool, "still_due": still_due, "events": events, "audited_with_rule": audited,
            "owner_history_ended": ended, "ok": ok}


def write_report(doc: dict) -> None:
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / f"{SCENARIO}.json").write_text(json.dumps(doc, indent=2, default=str) + "\n")
    r, load, c = doc["run"], doc["load"], doc["check"]
    lines = [
        f"# {SCENARIO}: one recycle run over {load['customers']:,} customers ({doc['due']:,} due)",
        "",
        f"{doc['stamp']}, commit {doc['commit']}{' (dirty)' if doc['dirty'] else ''}, load average at the end "
        f"{doc.get('load_average')}, PostgreSQL "
        f"{doc['postgres_version']}, {doc['machine'].get('cpu_model', '')} ({doc['machine'].get('cpus', '?')} cpus). "
        "`recycle_all_pools` (the `recycle_customers` job) called at the service, no broker.",
        "",
        "| measure | value | target | met |",
        "|---|---:|---:|:-:|",
        f"| run, recycling {r['recycled']:,} customers | {r['run_s']} s | < {TARGET_RUN_S:g} s | "
        f"{'yes' if doc['meets']['run'] else 'NO'} |",
        f"| longest transaction (of {r['transactions']:,}, batches of {r['batch_size']}, {r['workers']} in flight) | "
        f"{r['longest_transaction_s']} s | < {TARGET_TRANSACTION_S:g} s | "
        f"{'yes' if doc['meets']['transaction'] else 'NO'} |",
        f"| transaction p50 / p99 | {r['transaction_p50_ms']} / {r['transaction_p99_ms']} ms | | |",
        f"| customers recycled per second | {r['rate_per_s']:,} | | |",
        *([f"| CPU per 1,000 recycled: this process, PostgreSQL (its backends serving this database; the whole "
           f"server) | {r['cpu']['process_ms_per_1000']} ms, {r['cpu'].get('postgresql_this_database_ms_per_1000')} "
           f"ms ({r['cpu']['postgresql_ms_per_1000']} ms) | | |",
           f"| other work on the machine meanwhile | {r['cpu']['foreign_cores']} cores (of "
           f"{doc['machine'].get('cpus', '?')}) | | |"] if r.get("cpu") else []),
        f"| second run as of the same time | {r['second_run']['recycled']} recycled, "
        f"{r['second_run']['run_s']} s | 0 | "
        f"{'yes' if r['second_run']['recycled'] == 0 else 'NO'} |",
        "",
        f"Checked: {c['in_pool']:,} customers in the pool, {c['still_due']} still due, outbox {c['events']}, "
        f"{c['audited_with_rule']:,} audit entries naming the rule, {c['owner_history_ended']:,} owner history "
        f"stretches ended by the recycle: {'ok' if c['ok'] else 'MISMATCH'}.",
        "",
        f"Load: {json.dumps(load)}; clocks: {json.dumps(doc['prepared'])}.",
        "",
    ]
    (RESULTS / f"{SCENARIO}.md").write_text("\n".join(lines))


def main() -> int:
    sys.path.insert(0, str(ROOT))
    given = os.environ.get("BENCH_CUSTOMERS_URL")
    name = f"crm_bench_recycle_{os.getpid()}"
    print(f"bench {SCENARIO}: customers={CUSTOMERS:,} contacts={CONTACTS:,} due={DUE:,}", flush=True)
    stamp = dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    if given:
        url, info = given, json.loads(os.environ.get("BENCH_CUSTOMERS_LOAD", "{}")) or {"customers": CUSTOMERS}
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
            print(f"  seeded in {time.perf_counter() - t0:.1f} s", flush=True)
        as_of = dt.datetime.now(dt.timezone.utc)
        prepared = prepare(url, DUE, as_of)
        print(f"  clocks set: {json.dumps(prepared)}", flush=True)
        measured = run(url, as_of)
        print(f"  run: {json.dumps(measured)}", flush=True)
        checked = check(url, DUE)
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
    meets = {"run": measured["run_s"] < TARGET_RUN_S,
             "transaction": measured["longest_transaction_s"] < TARGET_TRANSACTION_S}
    doc = {"scenario": SCENARIO, "stamp": stamp, "commit": commit, "dirty": dirty, "machine": machine(),
           "postgres_version": pg, "load": info, "due": DUE, "prepared": prepared, "run": measured,
           "check": checked, "targets": {"run_s_below": TARGET_RUN_S, "transaction_s_below": TARGET_TRANSACTION_S},
           "meets": meets, "all_met": all(meets.values()) and checked["ok"],
           "load_average": [round(x, 2) for x in os.getloadavg()]}
    write_report(doc)
    print()
    print((RESULTS / f"{SCENARIO}.md").read_text())
    return 0 if doc["all_met"] else 1


if __name__ == "__main__":
    import eventlet
    eventlet.monkey_patch()        # as crm_kit.ops.runner does for every service process
    from crm_kit.records.db import make_green
    make_green()
    sys.exit(main())
