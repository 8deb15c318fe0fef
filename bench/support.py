"""``python -m bench.support``: support at scale -- the SLA timer over 1,000,000 tickets and the
knowledge-base search over 100,000 articles (issue 14, item 10), on SQLite (the embedded default; a
file migrated with ``crm_kit.ops.migrations.upgrade("support", url)``) and on PostgreSQL when
reachable (a fresh database ``crm_bench_support_<pid>``).

1. Tickets (``BENCH_TICKETS``, default 1,000,000), loaded in SQL: a real ticket opened through
   ``create_ticket`` lends its SLA policy and calendar snapshot to every row; 72 % closed, 8 %
   resolved, 4 % waiting on the customer (clocks paused: nothing to check), 16 % open (new,
   assigned, in progress) with ``next_sla_check_at`` spread over the 10 days around now (from 1 day
   ago to 9 days on): about 1.6 % of all tickets are due; categories, priorities, channels, 20 groups
   and 200 agents in proportions of a help desk; time-ordered ids over a year.
2. The SLA timer's query (``services.support.application.sla_run.flag_sla``: the tickets whose
   ``next_sla_check_at`` has come, keyset batches of 200 by (time, id)): ``EXPLAIN`` of its
   statement (the plan must use ``ix_tickets_next_sla_check``), then the time to **find every due
   ticket** with that query (its WHERE, ORDER BY and batches; selecting ``(next_sla_check_at, id)``),
   ``BENCH_SLA_REPS`` times (default 5); once, the time to load them all as the timer does (ORM
   tickets with their pauses and flags, nothing judged); one real ``flag_sla`` run on a preview unit of work
   (``dry_run``) over the tickets that came due in the window's first hour (a backlog; each ticket's
   clocks judged), and how many came due in the last minute (what a timer every 60 s finds at each
   run). Target: every due ticket found in under 1 s.
3. Articles (``BENCH_ARTICLES``, default 100,000), mixed Chinese and English vocabulary (600 Chinese
   words of 2-4 characters, 300 English words, picked with a Zipf-like skew), title 3-8 words, body
   30-150 words, 90 % published; indexed with the kit's terms (``crm_kit.records.fulltext.terms``),
   the rows ``FullTextIndex.put_row`` writes. Then ``BENCH_KB_QUERIES`` (default 1000) queries of 1 to
   3 words (Chinese, English, mixed; common and rare words alike), each timed through
   ``services.support.application.kb_search.search_articles`` (what ``GET /api/v1/kb/articles?q=``
   runs: published only, first page of 20) and through the whole use case
   ``knowledge.list_articles`` as a reader; p50 / p99 / max in ms. Target: p99 < 50 ms.
4. ``bench/results/support.json`` and ``.md`` (``bench/support_report.py``): wall times and this
   process's CPU (on SQLite the database's work too: the figure a loaded machine disturbs least), the
   load average around each timed part.

Environment: BENCH_TICKETS, BENCH_ARTICLES, BENCH_KB_QUERIES, BENCH_SLA_REPS, BENCH_SUPPORT_BACKENDS
(default ``sqlite,postgresql``), BENCH_PG_ADMIN_URL, BENCH_SUPPORT_KEEP=1 keeps the databases.
"""
from __future__ import annotations

import datetime as dt
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

from sqlalchemy import select, text
from sqlalchemy.orm import sessionmaker

from bench.leads_scale import create_database, drop_database, env_int, git_commit, machine, percentile
from bench.support_data import load_articles, load_tickets, make_queries
from bench.support_report import write_report

ROOT = Path(__file__).resolve().parent.parent
RESULTS = Path(__file__).resolve().parent / "results"
SCENARIO = "support"
TICKETS = env_int("BENCH_TICKETS", 1_000_000)
ARTICLES = env_int("BENCH_ARTICLES", 100_000)
QUERIES = env_int("BENCH_KB_QUERIES", 1000)
SLA_REPS = env_int("BENCH_SLA_REPS", 5)
BACKENDS = [b.strip() for b in os.environ.get("BENCH_SUPPORT_BACKENDS", "sqlite,postgresql").split(",") if b.strip()]
KEEP = os.environ.get("BENCH_SUPPORT_KEEP") == "1"
SLA_TARGET_S = 1.0
KB_TARGET_P99_MS = 50.0

# -- databases ---------------------------------------------------------------------------------------

def _database(backend: str, workdir: Path) -> tuple[str, callable]:
    from crm_kit.ops.migrations import upgrade
    if backend == "sqlite":
        url = f"sqlite:///{workdir / 'support.db'}"
        cleanup = lambda: None  # noqa: E731
    else:
        name = f"crm_bench_support_{os.getpid()}"
        url = create_database(name)
        cleanup = (lambda: None) if KEEP else (lambda: drop_database(name))
    upgrade("support", url)
    return url, cleanup


def _engine(url: str):
    from crm_kit.records.db import make_engine
    return make_engine(url)


# -- tickets ---------------------------------------------------------------------------------------

def _due_statement(as_of, after=None, batch=200, columns=None):
    """The statement of ``sla_run.flag_sla``'s batches (``sla_run.due_batch``; the platform's run:
    every ticket), selecting ``columns`` (default the tickets)."""
    from services.support.application.sla_run import due_batch
    from services.support.models import Ticket
    return due_batch(select(*columns) if columns else select(Ticket), as_of, after, batch)


def _plan(engine, stmt) -> list[str]:
    compiled = stmt.compile(dialect=engine.dialect, compile_kwargs={"literal_binds": True})
    with engine.connect() as c:
        if engine.dialect.name == "sqlite":
            return [r[-1] for r in c.execute(text(f"EXPLAIN QUERY PLAN {compiled}")).all()]
        return [r[0] for r in c.execute(text(f"EXPLAIN (ANALYZE, BUFFERS) {compiled}")).all()]


def find_due(engine, as_of) -> tuple[int, float, float]:
    """Find every due ticket with the timer's query (its WHERE, ORDER BY and keyset batches of 200),
    selecting what identifies them: (next_sla_check_at, id). ``(found, wall s, CPU s of this process)``
    (on SQLite the database's work is this process's CPU too)."""
    from services.support.models import Ticket
    factory = sessionmaker(engine, expire_on_commit=False)
    found, after = 0, None
    t0, c0 = time.perf_counter(), time.process_time()
    while True:
        stmt = _due_statement(as_of, after, columns=(Ticket.next_sla_check_at, Ticket.id))
        with factory() as s:
            batch = s.execute(stmt).all()
        if not batch:
            break
        found += len(batch)
        after = tuple(batch[-1])
    return found, time.perf_counter() - t0, time.process_time() - c0


def load_due(engine, as_of) -> tuple[int, float]:
    """Walk every due ticket as ``flag_sla`` does (batches of 200 loaded as ORM tickets with their
    pauses and flags), judging nothing."""
    factory = sessionmaker(engine, expire_on_commit=False)
    found, after = 0, None
    t0 = time.perf_counter()
    while True:
        with factory() as s:
            batch = s.scalars(_due_statement(as_of, after)).all()
        if not batch:
            break
        found += len(batch)
        after = (batch[-1].next_sla_check_at, batch[-1].id)
    return found, time.perf_counter() - t0


def bench_sla(engine, as_of) -> dict:
    from crm_kit.runtime.preview import PreviewUnitOfWork
    from crm_kit.runtime.uow import UnitOfWork
    from services.support.application import sla_run
    from services.support.models import Base, Ticket

    with engine.connect() as c:
        total = c.execute(text("SELECT count(*) FROM tickets")).scalar()
        watched = c.execute(text("SELECT count(*) FROM tickets WHERE next_sla_check_at IS NOT NULL")).scalar()
    plan = _plan(engine, _due_statement(as_of))
    plan_next = _plan(engine, _due_statement(as_of, (as_of - dt.timedelta(hours=5), "0")))
    plan_find = _plan(engine, _due_statement(as_of, (as_of - dt.timedelta(hours=5), "0"),
                                             columns=(Ticket.next_sla_check_at, Ticket.id)))
    load_before = _load()
    runs = [find_due(engine, as_of) for _ in range(SLA_REPS)]
    due = runs[0][0]
    times = [t for _, t, _ in runs]
    cpu = [c for _, _, c in runs]
    load_after = _load()
    _, loaded_s = load_due(engine, as_of)
    # the steady state: a timer every 60 s finds what came due in the last minute, and judges it
    factory = sessionmaker(engine, expire_on_commit=False)
    previewed: list = []
    window_start = as_of - dt.timedelta(seconds=60)
    with engine.connect() as c:
        minute = c.execute(select(text("count(*)")).select_from(text("tickets")).where(
            text("next_sla_check_at > :a AND next_sla_check_at <= :b")),
            {"a": _param(engine, window_start), "b": _param(engine, as_of)}).scalar()
    # and a whole run, judging each ticket, over the tickets of the window's first hour (a backlog)
    uow = PreviewUnitOfWork.of(UnitOfWork(factory, "support", Base.metadata), previewed)
    backlog_as_of = as_of - dt.timedelta(hours=23)
    t0 = time.perf_counter()
    result = sla_run.flag_sla(uow, backlog_as_of)
    full_run = time.perf_counter() - t0
    return {"tickets": total, "watched": watched, "due": due, "find_due_s": [round(t, 3) for t in times],
            "find_due_median_s": round(statistics.median(times), 3), "find_due_max_s": round(max(times), 3),
            "find_due_cpu_s": [round(c, 3) for c in cpu], "loadavg_before_after": [load_before, load_after],
            "target_s": SLA_TARGET_S, "met": max(times) < SLA_TARGET_S,
            "load_every_due_as_orm_s": round(loaded_s, 2),
            "plan_first_batch": plan, "plan_next_batch": plan_next, "plan_find_next_batch": plan_find,
            "preview_run_backlog": {"as_of": backlog_as_of.isoformat(), "checked": result["checked"],
                                    "flags": result["count"], "seconds": round(full_run, 2)},
            "due_in_last_minute": minute}


def _load() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def _param(engine, value: dt.datetime):
    return value.replace(tzinfo=None).isoformat(sep=" ") if engine.dialect.name == "sqlite" else value


# -- articles ---------------------------------------------------------------------------------------

def bench_kb(engine, chinese, english) -> dict:
    from crm_kit.context import Principal
    from crm_kit.records import fulltext
    from crm_kit.runtime.uow import UnitOfWork
    from services.support.application import kb_search, knowledge
    from services.support.models import Base

    factory = sessionmaker(engine, expire_on_commit=False)
    queries = make_queries(chinese, english, QUERIES)
    for q in queries[:50]:                    # warm-up
        with factory() as s:
            kb_search.search_articles(s, q, limit=20)
    search_ms, search_cpu_ms, hits = [], [], []
    load_before = _load()
    for q in queries:
        with factory() as s:
            t0, c0 = time.perf_counter(), time.process_time()
            rows, _ = kb_search.search_articles(s, q, limit=20)
            search_ms.append((time.perf_counter() - t0) * 1000)
            search_cpu_ms.append((time.process_time() - c0) * 1000)
            hits.append(len(rows))
    load_after = _load()
    reader = Principal("reader-1", "member", "d1", ("d1",))
    use_case_ms = []
    for q in queries:
        t0 = time.perf_counter()
        knowledge.list_articles(UnitOfWork(factory, "support", Base.metadata), reader, {"q": q, "limit": 20})
        use_case_ms.append((time.perf_counter() - t0) * 1000)
    slowest = sorted(zip(search_ms, queries), reverse=True)[:5]

    def matching(s, q):
        stmt, _rank = kb_search.articles(s, kb_search.query_terms(q), "all")
        return s.execute(select(text("count(*)")).select_from(stmt.subquery())).scalar()
    with factory() as s:
        matches = [{"q": q, "matching": matching(s, q)} for _, q in slowest[:3]]
        counts = [matching(s, q) for q in queries]

    def stats(values):
        return {"p50_ms": round(percentile(values, 0.5), 2), "p99_ms": round(percentile(values, 0.99), 2),
                "max_ms": round(max(values), 2), "mean_ms": round(statistics.mean(values), 2)}
    search = stats(search_ms)
    return {"queries": len(queries), "with_hits": sum(1 for h in hits if h), "search_articles": search,
            "search_articles_cpu": stats(search_cpu_ms), "loadavg_before_after": [load_before, load_after],
            "ranked_at_most": fulltext.RANKED_AT_MOST,
            "queries_over_the_cap": sum(1 for n in counts if n > fulltext.RANKED_AT_MOST),
            "matching_p50_p99_max": [round(percentile(counts, q)) for q in (0.5, 0.99, 1.0)],
            "list_articles_use_case": stats(use_case_ms), "target_p99_ms": KB_TARGET_P99_MS,
            "met": search["p99_ms"] < KB_TARGET_P99_MS,
            "slowest": [{"q": q, "ms": round(ms, 1)} for ms, q in slowest], "slowest_matching": matches,
            "sample_queries": queries[:8]}


# -- the run ------------------------------------------------------------------------------------------

def run_backend(backend: str) -> dict:
    from tests.integration.harness import postgres_reachable
    if backend == "postgresql" and not postgres_reachable():
        return {"skipped": "PostgreSQL is not reachable"}
    workdir = Path(tempfile.mkdtemp(prefix="bench-support-"))
    url, cleanup = _database(backend, workdir)
    engine = _engine(url)
    as_of = dt.datetime.now(dt.timezone.utc).replace(microsecond=0)
    try:
        print(f"[{backend}] loading {TICKETS} tickets ...", flush=True)
        out = {"database": "SQLite file" if backend == "sqlite" else "PostgreSQL", "as_of": as_of.isoformat(),
               "tickets_load": load_tickets(engine, TICKETS, as_of)}
        print(f"[{backend}] SLA timer ...", flush=True)
        out["sla"] = bench_sla(engine, as_of)
        print(f"[{backend}] loading {ARTICLES} articles ...", flush=True)
        out["articles_load"], chinese, english = load_articles(engine, ARTICLES)
        print(f"[{backend}] knowledge-base search ...", flush=True)
        out["kb"] = bench_kb(engine, chinese, english)
        if backend == "sqlite":
            out["database_bytes"] = (workdir / "support.db").stat().st_size
        return out
    finally:
        engine.dispose()
        if not KEEP:
            cleanup()
            for f in workdir.glob("*"):
                f.unlink()
            workdir.rmdir()


def main() -> int:
    commit, dirty = git_commit()
    doc = {"scenario": SCENARIO, "when": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
           "commit": commit, "dirty": dirty, "machine": machine(),
           "settings": {"tickets": TICKETS, "articles": ARTICLES, "queries": QUERIES, "sla_reps": SLA_REPS},
           "backends": {}}
    previous = RESULTS / f"{SCENARIO}.json"
    if previous.exists():         # a run of one backend keeps the other's last figures
        last = json.loads(previous.read_text())
        run = {k: last.get(k) for k in ("when", "commit", "dirty", "machine")}
        kept = last.get("backends", {})
        doc["backends"].update({b: {**r, "from_run": r.get("from_run") or run} for b, r in kept.items()
                                if b not in BACKENDS})
    for backend in BACKENDS:
        doc["backends"][backend] = run_backend(backend)
        write_report(doc, RESULTS, SCENARIO, SLA_REPS, ARTICLES)
    doc["machine"] = machine()         # the load at the end
    write_report(doc, RESULTS, SCENARIO, SLA_REPS, ARTICLES)
    print(json.dumps({b: ({"sla_find_due_max_s": r["sla"]["find_due_max_s"], "due": r["sla"]["due"],
                           "kb_p99_ms": r["kb"]["search_articles"]["p99_ms"]} if "sla" in r else r)
                      for b, r in doc["backends"].items()}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
