"""The report of ``python -m bench.support``: ``bench/results/support.json`` and ``.md`` -- each figure
beside its target (met or MISSED), the wall times with this process's CPU (on SQLite the database's
work is this process's too: the figure a loaded machine disturbs least) and the load average around
each timed part (a shared machine's wall times move with it)."""
from __future__ import annotations

import json
from pathlib import Path


def write_report(doc: dict, results: Path, scenario: str, sla_reps: int, articles: int) -> None:
    results.mkdir(parents=True, exist_ok=True)
    (results / f"{scenario}.json").write_text(json.dumps(doc, indent=2, default=str) + "\n")
    lines = [f"# Support at scale ({doc['when']})", "",
             f"`python -m bench.support`; commit {doc['commit']}{' (dirty)' if doc['dirty'] else ''}; "
             f"{doc['machine']}.", "",
             "| backend | tickets | watched | due | find every due ticket (median / max) | target < 1 s | "
             "articles | search p50 / p99 / max | use case p99 | target p99 < 50 ms |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for backend, r in doc["backends"].items():
        if "skipped" in r:
            lines.append(f"| {backend} | skipped: {r['skipped']} |||||||||")
            continue
        s, k = r["sla"], r["kb"]
        lines.append(
            f"| {backend}{' (an earlier run: below)' if r.get('from_run') else ''} | {s['tickets']:,} | "
            f"{s['watched']:,} | "
            f"{s['due']:,} | {s['find_due_median_s']} s / {s['find_due_max_s']} s | "
            f"{'met' if s['met'] else 'MISSED'} | {articles:,} | "
            f"{k['search_articles']['p50_ms']} / {k['search_articles']['p99_ms']} / "
            f"{k['search_articles']['max_ms']} ms | "
            f"{k['list_articles_use_case']['p99_ms']} ms | {'met' if k['met'] else 'MISSED'} |")
    for backend, r in doc["backends"].items():
        if "skipped" not in r:
            lines += ["", f"## {backend}", "", *_backend(r, sla_reps)]
    (results / f"{scenario}.md").write_text("\n".join(lines) + "\n")


def _backend(r: dict, sla_reps: int) -> list[str]:
    s, k = r["sla"], r["kb"]
    search, cpu = k["search_articles"], k.get("search_articles_cpu")
    run = r.get("from_run")
    out = [f"Figures of an earlier run of one backend: {run}.", ""] if isinstance(run, dict) else []
    if isinstance(r.get("sla_from_run"), dict):       # a run of the search only (BENCH_TICKETS shrunk)
        out += [f"The SLA timer's figures (and the tickets' load) are of an earlier run: {r['sla_from_run']}.", ""]
    out += [f"**SLA timer**: every due ticket ({s['due']:,} of {s['tickets']:,}) found in {s['find_due_max_s']} s at "
           f"worst of {sla_reps} walks (median {s['find_due_median_s']} s) against a target of < 1 s: "
           f"**{'met' if s['met'] else 'MISSED'}**"
           + (f"; CPU of this process per walk {s['find_due_cpu_s']} s" if s.get("find_due_cpu_s") else "")
           + (f"; load average (1, 5, 15 min) before / after the walks {s['loadavg_before_after']}"
              if s.get("loadavg_before_after") else "") + ".", "",
           f"**Knowledge-base search**: `kb_search.search_articles` p99 {search['p99_ms']} ms (p50 "
           f"{search['p50_ms']}, max {search['max_ms']}) against a target of p99 < 50 ms: "
           f"**{'met' if k['met'] else 'MISSED'}**"
           + (f"; CPU of this process per query p50 {cpu['p50_ms']} / p99 {cpu['p99_ms']} / max {cpu['max_ms']} ms"
              if cpu else "")
           + (f"; load average before / after the queries {k['loadavg_before_after']}"
              if k.get("loadavg_before_after") else "") + ".", ""]
    if "ranked_at_most" in k:
        out += [f"At most the {k['ranked_at_most']:,} newest matching articles (of those the filters let through) "
                f"are ranked (`crm_kit.records.fulltext.RANKED_AT_MOST`, `FullTextIndex.ranked`): "
                f"{k['queries_over_the_cap']} of the {k['queries']} queries match more (matching articles per "
                f"query p50 / p99 / max: {k['matching_p50_p99_max']}) and rank the newest "
                f"{k['ranked_at_most']:,} of them; the others are ranked exactly.", ""]
    out += [f"Loads: tickets {r['tickets_load']}, articles {r['articles_load']}.", "",
            "The SLA timer's first batch (`sla_run.flag_sla`, `sla_run.due_batch`), plan:", "", "```",
            *s["plan_first_batch"], "```", "",
            "A later batch (keyset after a (time, id)):", "", "```", *s["plan_next_batch"], "```", ""]
    if s.get("plan_find_next_batch"):
        out += ["A later batch of the walk that finds them (selecting `(next_sla_check_at, id)`):", "", "```",
                *s["plan_find_next_batch"], "```", ""]
    out += [f"Every due ticket found with the timer's query, {sla_reps} walks: {s['find_due_s']} s; every "
            f"due ticket loaded as the timer loads them (ORM tickets with their pauses and flags, "
            f"batches of 200): {s.get('load_every_due_as_orm_s')} s. A whole `flag_sla` run (judging "
            f"each ticket's clocks; on a preview unit of work: the flags and events not committed) over "
            f"the tickets due an hour into the window (a backlog): {s['preview_run_backlog']}. "
            f"Due in the last minute (what a timer every 60 s finds at each run): {s['due_in_last_minute']}.", "",
            f"Knowledge-base search: {k['queries']} queries ({k['with_hits']} with hits), e.g. "
            f"{k['sample_queries']}; `kb_search.search_articles` {search}; the use case "
            f"`knowledge.list_articles` as a reader {k['list_articles_use_case']}. Slowest: {k['slowest']} "
            f"(matching articles: {k['slowest_matching']})."]
    return out
