"""``python -m bench.customers_import``: the customer CSV import at scale, on PostgreSQL.

1. A fresh database (``crm_bench_cimport_<pid>``, dropped at the end) loaded as ``customers_scale``
   loads its own (``bench.customers_scale.seed``: migrated, ``BENCH_CUSTOMERS`` customers, default
   1,000,000, and two contacts each, the real indexes, ``VACUUM ANALYZE``).
2. Import: CSV files of ``MAX_IMPORT_ROWS`` (5,000) rows, each a customer with its contact (name, kind,
   industry, level, region, address, mobile, telephone, email, source, tags, contact name / title / phone
   / email), ~2 % duplicates of loaded customers (by name, mobile or contact phone), ~1 % invalid rows, the
   rest new; imported one after the other with ``application.import_customers(uow, admin, csv_text)``,
   twice ``BENCH_IMPORT_ROWS`` rows in all (default 100,000):
   - **alone**: the first half, the outbox rows left unpublished: the import's own cost;
   - **as in the service** (RabbitMQ reachable): the second half, each commit handing its outbox rows to
     the service's relay loop (``OutboxRelay``, as ``crm_kit.runtime.dependencies.Database`` runs it),
     which publishes them with confirms to a subscriber's queue and marks them meanwhile.
   rows/s over the whole import; target >= 5,000 rows/s. Each run checks the report's counts against
   what was generated and the ``customer_created`` / ``contact_created`` outbox rows against what was
   created, and reports CPU per 1,000 rows (this process, PostgreSQL, RabbitMQ) as ``leads_scale`` does.
3. ``bench/results/customers_import.json`` and ``.md``.

It runs as a service process does: eventlet monkey-patched, psycopg2 green (psycogreen).

Environment: BENCH_CUSTOMERS, BENCH_IMPORT_ROWS, BENCH_PG_ADMIN_URL, BENCH_SCALE_KEEP=1 keeps the
database; BENCH_CUSTOMERS_TEMPLATE=<name>: step 1 copies that database (one ``seed`` loaded before, with
no connection open to it: ``CREATE DATABASE ... TEMPLATE``) and migrates the copy to the head, instead of
loading its own (minutes). Quick run: ``BENCH_CUSTOMERS=50000 BENCH_IMPORT_ROWS=10000 .venv/bin/python -m
bench.customers_import``.
"""
from __future__ import annotations

import csv
import datetime as dt
import functools
import io
import json
import os
import random
import sys
import time
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.orm import sessionmaker

from bench.leads_scale import (
    ADMIN_URL,
    KEEP,
    cpu_figures,
    cpu_snapshot,
    create_database,
    drop_database,
    env_int,
    git_commit,
    machine,
    percentile,
    rabbit_cpu,
)

ROOT = Path(__file__).resolve().parent.parent
RESULTS = Path(__file__).resolve().parent / "results"
SCENARIO = "customers_import"
ROWS = env_int("BENCH_CUSTOMERS", 1_000_000)
IMPORT_ROWS = env_int("BENCH_IMPORT_ROWS", 100_000)
IMPORT_TARGET_RPS = 5000.0
TEMPLATE = os.environ.get("BENCH_CUSTOMERS_TEMPLATE")

def load(url: str) -> dict:
    """The database ``customers_scale`` measures its lists on (``bench.customers_scale.seed``): customer i
    has the name ``Company <i>`` and the mobile ``+86 139 <i:08>``, contact j the phone ``+86 137 <j:08>``."""
    from bench.customers_scale import describe, seed
    if not TEMPLATE:
        return seed(url, ROWS)
    from crm_kit.ops.migrations import upgrade
    upgrade("customers", url)            # the revisions after the template's (its indexes as the head's)
    engine = create_engine(url, isolation_level="AUTOCOMMIT")
    with engine.connect() as c:
        c.execute(text("VACUUM ANALYZE"))
    engine.dispose()
    return dict(describe(url), copied_from=TEMPLATE)


def copy_database(name: str, template: str) -> str:
    """A fresh database ``name``, a copy of ``template`` (a database loaded by ``seed`` before)."""
    admin_engine = create_engine(ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin_engine.connect() as c:
        c.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        c.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{template}"'))
    admin_engine.dispose()
    return ADMIN_URL.rsplit("/", 1)[0] + "/" + name


HEADER = ["name", "kind", "industry", "level", "region", "address", "mobile", "telephone", "email", "source", "tags",
          "contact_name", "contact_title", "contact_phone", "contact_email"]


def import_csvs(n: int, chunk: int) -> tuple[list[str], list[dict]]:
    """CSV files of ``chunk`` rows (~2 % duplicates of loaded customers by name, mobile or contact
    phone, ~1 % invalid rows, the others new and distinct) and what each file's report should count."""
    rng = random.Random(11)
    sources = ("trade_show", "campaign", "web_form", "advertisement", "purchased_list", "referral", "other")
    files, expected = [], []
    for start in range(0, n, chunk):
        counts = {"created": 0, "duplicates": 0, "invalid": 0}
        expected.append(counts)
        buf = io.StringIO()
        w = csv.writer(buf, lineterminator="\r\n")
        w.writerow(HEADER)
        for i in range(start, min(start + chunk, n)):
            r = rng.random()
            row = [f"Imported {i} Ltd", "company", ("retail", "software", "finance")[i % 3], "ABC"[i % 3],
                   ("north", "south", "east")[i % 3], f"{i} Import Road", f"+86 135 {i:08d}", f"010-{i:08d}",
                   f"info{i}@imported.example", sources[i % len(sources)], "imported;2026" if i % 4 == 0 else "",
                   f"Person {i}", "Buyer", f"134 {i:08d}", f"p{i}@imported.example"]
            if r < 0.02 and ROWS > 0:
                k = 1 + rng.randrange(ROWS)
                which = i % 3
                if which == 0:
                    row[0] = f"company  {k}"                          # a loaded customer's name (normalised)
                elif which == 1:
                    row[6] = f"139{k:08d}"                             # a loaded customer's mobile
                else:
                    row[13] = f"137 {k:08d}"                          # a loaded contact's phone
                counts["duplicates"] += 1
            elif r < 0.03:
                kind = i % 4
                if kind == 0:
                    row[0] = ""                                       # name is required
                elif kind == 1:
                    row[8] = "not-an-email"
                elif kind == 2:
                    row[3] = "Z"                                      # not a level
                else:
                    row[6] = "12"                                     # not a phone
                counts["invalid"] += 1
            else:
                counts["created"] += 1
            w.writerow(row)
        files.append(buf.getvalue())
    return files, expected


def admin():
    from crm_kit.context import Principal
    return Principal(user_id="00000000-0000-7000-8000-000000000000", role="admin",
                     department_id="00000000-0000-7000-9000-000000000000",
                     scope_department_ids=("00000000-0000-7000-9000-000000000000",))


def backends_cpu(url: str) -> float:
    """CPU seconds of the PostgreSQL backends serving this database (the import's pooled
    connections): the server's figure without the other databases' work on a shared machine."""
    from bench.run import proc_cpu
    name = url.rsplit("/", 1)[1]
    engine = create_engine(ADMIN_URL)
    with engine.connect() as c:
        pids = c.execute(text("SELECT pid FROM pg_stat_activity WHERE datname = :n"), {"n": name}).scalars().all()
    engine.dispose()
    return sum(proc_cpu(pid) for pid in pids)


def outbox_counts(session) -> dict:
    return dict(session.execute(text("SELECT event_type, count(*) FROM outbox GROUP BY event_type")).all())


def measure_import(url: str, files: list[str], expected: list[dict], relay_uri: str | None = None) -> dict:
    """Import ``files`` one after the other, as many RPC calls would; with ``relay_uri``, as in the
    service (its outbox relay publishing meanwhile), as ``bench.leads_scale.measure_import``."""
    from crm_kit.records.db import make_engine
    from crm_kit.runtime.uow import UnitOfWork
    from services.customers import application as app
    from services.customers.application.imports import MAX_IMPORT_ROWS
    from services.customers.models import Base

    principal = admin()
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
        relay = OutboxRelay("customers", factory, Base.metadata, ConfirmingPublisher(relay_uri), min_age=5.0)
        handed, running = LightQueue(), [True]
        loop = eventlet.spawn(relay.run, handed, 1.0, lambda: running[0])
    uow = UnitOfWork(factory, "customers", Base.metadata,
                     on_commit=functools.partial(relay.hand_over, queue=handed) if relay else None)
    with factory() as s:
        before = outbox_counts(s)
    got = {"created": 0, "duplicates": 0, "invalid": 0, "contacts_created": 0}
    per_file = []
    with factory() as s1, factory() as s2, factory() as s3, factory() as s4:   # the pool's connections, open
        for session in (s1, s2, s3, s4):
            session.execute(text("SELECT 1"))
    cpu_before, rabbit_before, own_pg_before = cpu_snapshot(), rabbit_cpu(), backends_cpu(url)
    t_all = time.perf_counter()
    for body in files:
        t0 = time.perf_counter()
        report = app.import_customers(uow, principal, body)
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
    cpu["postgresql_this_database_ms_per_1000_rows"] = round((backends_cpu(url) - own_pg_before) * 1e6 / rows, 1)
    if relay is not None:
        running[0] = False
        handed.put(None)
        loop.wait()
        relay.publisher.close()
    with factory() as s:
        after = outbox_counts(s)
    engine.dispose()
    events = {k: after.get(k, 0) - before.get(k, 0) for k in ("customer_created", "contact_created")}
    reported = {k: got[k] for k in expected_total}
    rps = rows / elapsed if elapsed else 0.0
    print(f"  import {rows} rows{' with the relay' if relay else ''} in {elapsed:.1f} s = {rps:,.0f} rows/s "
          f"({got['created']} created, {got['duplicates']} duplicates, {got['invalid']} invalid, "
          f"{got['contacts_created']} contacts); "
          + (f"all events published after {published:.1f} s; " if relay else "")
          + f"CPU per 1,000 rows: {cpu}", flush=True)
    return {"rows": rows, "files": len(files), "rows_per_file": MAX_IMPORT_ROWS, "seconds": round(elapsed, 2),
            "rows_per_s": round(rps, 1), "target_rows_per_s": IMPORT_TARGET_RPS,
            "meets_target": rps >= IMPORT_TARGET_RPS, "expected": expected_total, "reported": reported,
            "contacts_created": got["contacts_created"], "report_matches": reported == expected_total,
            "outbox_rows": events,
            "outbox_matches": events == {"customer_created": got["created"],
                                         "contact_created": got["contacts_created"]},
            "file_seconds_p50": round(percentile(per_file, 0.5), 3), "file_seconds_max": round(max(per_file), 3),
            "cpu": cpu, "with_relay": relay is not None,
            "all_published_after_s": round(published, 2) if published is not None else None}


def measure_imports(url: str) -> tuple[dict, dict | None]:
    """The import alone, then (RabbitMQ reachable) as the service does it, with its relay."""
    from urllib.parse import quote

    from kombu import Connection

    from crm_kit.runtime.amqp import HandlerQueue
    from services.customers.application.imports import MAX_IMPORT_ROWS
    from tests.integration.harness import RABBIT_HOST, create_vhost, delete_vhost

    files, expected = import_csvs(2 * IMPORT_ROWS, MAX_IMPORT_ROWS)
    half = len(files) // 2
    alone = measure_import(url, files[:half], expected[:half])
    try:
        vhost = create_vhost()
    except Exception as exc:
        print(f"  import with the relay skipped: no RabbitMQ to publish to ({exc!r})", flush=True)
        return alone, None
    # Nobody published the first half's events: marked here at once, and the table vacuumed.
    engine = create_engine(url, isolation_level="AUTOCOMMIT")
    with engine.connect() as c:
        c.execute(text("UPDATE outbox SET published_at = now() WHERE published_at IS NULL"))
        c.execute(text("VACUUM ANALYZE outbox"))
    engine.dispose()
    try:
        uri = f"amqp://guest:guest@{RABBIT_HOST}:5672/{quote(vhost, safe='')}"
        with Connection(uri) as conn:      # subscribers: the events are routed to and stored in their queues
            for event in ("customer_created", "contact_created"):
                HandlerQueue("customers", event, "bench", "subscriber").declare(conn)
        return alone, measure_import(url, files[half:], expected[half:], relay_uri=uri)
    finally:
        delete_vhost(vhost)


def write_report(doc: dict) -> None:
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / f"{SCENARIO}.json").write_text(json.dumps(doc, indent=2, default=str) + "\n")
    m, ld, imp = doc["machine"], doc["load"], doc["import"]
    lines = [
        f"# {SCENARIO}: the customer CSV import on PostgreSQL ({ld['customers']:,} customers, "
        f"{ld['contacts']:,} contacts)",
        "",
        f"{doc['stamp']} · commit `{(doc['commit'] or '?')[:12]}`{' (dirty)' if doc['dirty'] else ''} · "
        f"{m['cpus']} CPUs ({m['cpu_model']}) · {m['memory']} · PostgreSQL {doc['postgres_version']} · "
        f"load average at the end {m['loadavg_at_end']}",
        "",
        f"Data: {ld['customers']:,} customers and {ld['contacts']:,} contacts (customers {ld['sizes']['customers']}, "
        f"contacts {ld['sizes']['contacts']} with indexes), loaded by `bench.customers_scale.seed` (as the list "
        "benchmark's).",
        "",
        f"`application.import_customers(uow, admin, csv_text)` on the loaded database: {imp['rows']:,} CSV rows "
        f"per run in files of {imp['rows_per_file']:,} rows (`MAX_IMPORT_ROWS`, the most one call accepts), each "
        "a customer with its contact (15 columns), ~2 % duplicates of loaded customers (name, mobile or contact "
        "phone), ~1 % invalid rows. A created row writes a customer, its contact, its owner's first stretch, "
        "its tags (a quarter have two), two audit entries and two outbox rows (`customer_created`, "
        "`contact_created`).",
        "",
        "| how | rows | seconds | rows/s | target | met | created | duplicates | invalid | report as expected | "
        "outbox rows as created | every event published after |",
        "|---|---:|---:|---:|---:|---|---:|---:|---:|---|---|---:|",
    ]
    runs = [("alone", imp)] + ([("as in the service: its outbox relay publishes meanwhile", doc["import_with_relay"])]
                               if doc.get("import_with_relay") else [])
    for how, run in runs:
        lines.append(
            f"| {how} | {run['rows']:,} | {run['seconds']} | {run['rows_per_s']:,.0f} | "
            f">= {run['target_rows_per_s']:,.0f} | {'yes' if run['meets_target'] else 'NO'} | "
            f"{run['reported']['created']:,} | {run['reported']['duplicates']:,} | {run['reported']['invalid']:,} | "
            f"{'yes' if run['report_matches'] else 'NO (expected ' + json.dumps(run['expected']) + ')'} | "
            f"{'yes' if run['outbox_matches'] else 'NO ' + json.dumps(run['outbox_rows'])} | "
            f"{str(run['all_published_after_s']) + ' s' if run['all_published_after_s'] is not None else '-'} |")
    lines += [""]
    for how, run in runs:
        c = run["cpu"]
        lines.append(
            f"CPU per 1,000 rows ({how}): this process {c['import_process_ms_per_1000_rows']} ms, PostgreSQL "
            f"{c['postgresql_ms_per_1000_rows']} ms (the whole server; its backends serving this database: "
            f"{c['postgresql_this_database_ms_per_1000_rows']} ms)"
            + (f", RabbitMQ {c['rabbitmq_ms_per_1000_rows']} ms" if "rabbitmq_ms_per_1000_rows" in c else "")
            + f"; other work on the machine meanwhile: {c['foreign_cores']} cores. Median file "
            f"({run['rows_per_file']:,} rows): {run['file_seconds_p50']} s.")
        lines.append("")
    lines += ["Timings are wall clock on a shared machine (see the load average and the foreign cores); the CPU "
              "per row moves much less than the rate.", ""]
    (RESULTS / f"{SCENARIO}.md").write_text("\n".join(lines))


def main() -> int:
    sys.path.insert(0, str(ROOT))
    name = f"crm_bench_cimport_{os.getpid()}"
    print(f"bench {SCENARIO}: customers={ROWS:,} import_rows={IMPORT_ROWS:,} database={name}", flush=True)
    stamp = dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    try:
        url = copy_database(name, TEMPLATE) if TEMPLATE else create_database(name)
    except Exception as exc:   # no PostgreSQL here: nothing to measure
        print(f"  skipped: PostgreSQL not reachable at {ADMIN_URL} ({str(exc).splitlines()[0]})", flush=True)
        return 0
    try:
        t0 = time.perf_counter()
        info = load(url)
        print(f"  loaded {info['customers']:,} customers, {info['contacts']:,} contacts in "
              f"{time.perf_counter() - t0:.1f} s ({info['sizes']})", flush=True)
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
           "postgres_version": pg, "load": info, "import": imp, "import_with_relay": imp_relay,
           "targets": {"import_rows_per_s_at_least": IMPORT_TARGET_RPS},
           "all_met": imp["meets_target"] and (imp_relay is None or imp_relay["meets_target"])}
    write_report(doc)
    print()
    for label, run in (("import", imp), ("import with the relay", imp_relay)):
        if run:
            print(f"{label:22s} {run['rows_per_s']:,.0f} rows/s  {'ok' if run['meets_target'] else 'BELOW'} "
                  f"(>= {IMPORT_TARGET_RPS:,.0f}); report as expected: {run['report_matches']}; "
                  f"outbox rows = created: {run['outbox_matches']}")
    print(f"results: {RESULTS / (SCENARIO + '.json')}, {RESULTS / (SCENARIO + '.md')}")
    return 0


if __name__ == "__main__":
    import eventlet
    eventlet.monkey_patch()        # as crm_kit.ops.runner does for every service process
    from crm_kit.records.db import make_green
    make_green()
    sys.exit(main())
