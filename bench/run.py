"""``make bench`` / ``python -m bench.run``: performance scenarios.

Scenario ``leads_create``: ``POST /api/v1/leads`` throughput and latency at a
fixed concurrency against the real platform (gateway + leads processes only,
started by ``tests.integration.harness.Platform`` in an isolated vhost with
fresh databases), on SQLite and on PostgreSQL (when reachable), compared with
a bare nameko HTTP -> RPC baseline (``bench/baseline.py``) on the same machine.

Environment:
  BENCH_CONCURRENCY   concurrent clients (default 16)
  BENCH_SECONDS       measured seconds per target (default 15)
  BENCH_WARMUP        warm-up seconds per target, not measured (default 3)
  BENCH_BACKENDS      comma list of sqlite,postgresql (default both)
  BENCH_LOG_LEVEL     LOG_LEVEL for the platform processes (default INFO, as deployed)
  BENCH_LOADGEN       "python" to force the Python client instead of wrk
  BENCH_KEEP          1 to keep the platform work directories (logs, SQLite files)
  BENCH_STRICT        1 to exit non-zero when a request did not answer 201 or ratio < 0.6
  BENCH_PYSPY         path to py-spy: record a flame graph of gateway and leads
                      during each measured platform run (bench/results/*.svg)
  BENCH_PYSPY_FORMAT  "raw" for collapsed stacks (bench/results/*.txt) instead of the SVG
"""
from __future__ import annotations

import datetime as dt
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests

from bench import loadgen

ROOT = Path(__file__).resolve().parent.parent
RESULTS = Path(__file__).resolve().parent / "results"
SCENARIO = "leads_create"
TICK = os.sysconf("SC_CLK_TCK")


def env_int(name, default):
    raw = os.environ.get(name)
    return int(raw) if raw else default


def env_float(name, default):
    raw = os.environ.get(name)
    return float(raw) if raw else default


CONCURRENCY = env_int("BENCH_CONCURRENCY", 16)
SECONDS = env_float("BENCH_SECONDS", 15)
WARMUP = env_float("BENCH_WARMUP", 3)
BACKENDS = [b.strip() for b in os.environ.get("BENCH_BACKENDS", "sqlite,postgresql").split(",") if b.strip()]
LOG_LEVEL = os.environ.get("BENCH_LOG_LEVEL", "INFO")
KEEP = os.environ.get("BENCH_KEEP") == "1"
PYSPY = os.environ.get("BENCH_PYSPY")
PYSPY_FORMAT = os.environ.get("BENCH_PYSPY_FORMAT", "flamegraph")
STRICT = os.environ.get("BENCH_STRICT") == "1"
TARGET_RATIO = 0.6


# -- CPU accounting (read from /proc, nothing injected into the processes) -------

def proc_cpu(pid: int) -> float:
    """user+system CPU seconds of one process (0 if gone)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / TICK
    except (OSError, IndexError, ValueError):
        return 0.0


def pids_by_comm(*prefixes) -> list[int]:
    pids = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            comm = Path(f"/proc/{entry}/comm").read_text().strip()
        except OSError:
            continue
        if comm.startswith(prefixes):
            pids.append(int(entry))
    return pids


def machine_cpu() -> tuple[float, float]:
    """(busy, total) jiffies of the whole machine."""
    with open("/proc/stat") as f:
        vals = [int(v) for v in f.readline().split()[1:]]
    idle = vals[3] + (vals[4] if len(vals) > 4 else 0)
    return sum(vals) - idle, sum(vals)


class CpuMeter:
    def __init__(self, groups: dict[str, list[int]]):
        self.groups = groups

    def snapshot(self):
        return ({name: sum(proc_cpu(p) for p in pids) for name, pids in self.groups.items()},
                machine_cpu(), resource.getrusage(resource.RUSAGE_CHILDREN))

    @staticmethod
    def delta(before, after, requests: int, seconds: float) -> dict:
        (g0, (b0, t0), r0), (g1, (b1, t1), r1) = before, after
        per = {name: g1[name] - g0[name] for name in g0}
        # the load generator is the only child reaped between the two snapshots
        per["loadgen"] = (r1.ru_utime + r1.ru_stime) - (r0.ru_utime + r0.ru_stime)
        busy_cores = (b1 - b0) / TICK / seconds
        ours = sum(per.values()) / seconds
        return {
            # CPU used by processes outside this benchmark (other jobs on the machine): if this is
            # large, the figures are disturbed and should be re-measured on a quiet machine.
            "foreign_cores": round(max(busy_cores - ours, 0.0), 3),
            "cpu_seconds": {k: round(v, 3) for k, v in per.items()},
            "cpu_ms_per_request": {k: (round(v * 1000 / requests, 3) if requests else None) for k, v in per.items()},
            "cpu_cores_used": {k: round(v / seconds, 3) for k, v in per.items()},
            "machine_busy_pct": round(100.0 * (b1 - b0) / max(t1 - t0, 1), 1),
        }


# -- one measured target -----------------------------------------------------

def measure(label: str, url: str, groups: dict[str, list[int]], tag: int, profile_pids=None) -> dict:
    if WARMUP > 0:
        loadgen.run(url, CONCURRENCY, WARMUP, tag)
    meter = CpuMeter(dict(groups, rabbitmq=pids_by_comm("beam.smp"), postgres=pids_by_comm("postgres")))
    spies = []
    for name, pid in (profile_pids or {}).items():
        out = RESULTS / f"{SCENARIO}_{label}_{name}.{'txt' if PYSPY_FORMAT == 'raw' else 'svg'}"
        spies.append(subprocess.Popen([PYSPY, "record", "-p", str(pid), "-d", str(int(SECONDS)), "-r", "200",
                                       "-o", str(out), "--nonblocking", "--format", PYSPY_FORMAT],
                                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
    before = meter.snapshot()
    res = loadgen.run(url, CONCURRENCY, SECONDS, tag + 1)
    after = meter.snapshot()
    for spy in spies:
        spy.wait(timeout=60)
    duration = res["duration_us"] / 1e6
    ok = res["statuses"].get("201", 0)
    transport_errors = sum(v for k, v in res["errors"].items() if k != "status")
    completed = sum(res["statuses"].values())
    lat = res["latency_us"]
    stalled = completed == 0
    out = {
        "target": label,
        "load_generator": res["tool"],
        "duration_s": round(duration, 3),
        "requests": completed,
        "ok_201": ok,
        # nothing completed: every client's request was still in flight when the window closed
        "errors": (completed - ok) + transport_errors + (CONCURRENCY if stalled else 0),
        "stalled": stalled,
        "statuses": res["statuses"],
        "transport_errors": res["errors"],
        "rps": round(ok / duration, 1) if duration else 0.0,
        "p50_ms": round(lat["p50"] / 1000, 2),
        "p90_ms": round(lat["p90"] / 1000, 2),
        "p99_ms": round(lat["p99"] / 1000, 2),
        "max_ms": round(lat["max"] / 1000, 2),
        "mean_ms": round(lat["mean"] / 1000, 2),
    }
    out.update(CpuMeter.delta(before, after, completed, duration))
    print(f"  {label:<22} {out['rps']:>8.1f} req/s  p50 {out['p50_ms']:>7.2f} ms  p99 {out['p99_ms']:>7.2f} ms"
          f"  errors {out['errors']}  CPU ms/req {out['cpu_ms_per_request']}"
          f"  foreign cores {out['foreign_cores']}", flush=True)
    return out


# -- baseline -------------------------------------------------------------------

def run_baseline(workdir: Path) -> dict:
    from urllib.parse import quote

    from tests.integration.harness import RABBIT_HOST, create_vhost, delete_vhost, free_port

    vhost = create_vhost()
    port = free_port()
    env = dict(os.environ, AMQP_URI=f"amqp://guest:guest@{RABBIT_HOST}:5672/{quote(vhost, safe='')}",
               BENCH_BASELINE_PORT=str(port), PYTHONPATH=str(ROOT))
    procs = {}
    try:
        for which in ("rpc", "http"):
            log = open(workdir / f"baseline-{which}.log", "ab")
            procs[which] = subprocess.Popen([sys.executable, "-m", "bench.baseline", which], env=env,
                                            cwd=str(ROOT), stdout=log, stderr=subprocess.STDOUT)
        url = f"http://127.0.0.1:{port}/leads"
        deadline = time.monotonic() + 60
        while True:
            for which, p in procs.items():
                if p.poll() is not None:
                    raise RuntimeError(f"baseline {which} exited early: "
                                       f"{(workdir / f'baseline-{which}.log').read_text()[-2000:]}")
            try:
                r = requests.post(url, json={"name": "x", "phone": "+100000"}, timeout=5)
                if r.status_code == 201:
                    break
            except requests.RequestException:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("baseline not ready after 60s")
            time.sleep(0.2)
        return measure("baseline", url, {"gateway": [procs["http"].pid], "leads": [procs["rpc"].pid]}, tag=10)
    finally:
        _stop(procs.values())
        delete_vhost(vhost)


def _stop(procs):
    for p in procs:
        if p.poll() is None:
            p.terminate()
    for p in procs:
        try:
            p.wait(20)
        except subprocess.TimeoutExpired:
            p.kill()


# -- platform -------------------------------------------------------------------

def run_platform(backend: str, workdir: Path, tag: int) -> dict:
    from tests.integration.harness import Platform

    plat = Platform(workdir / f"platform-{backend}", backend=backend, services=("leads", "gateway"),
                    extra_env={"LOG_LEVEL": LOG_LEVEL,
                               # production relay settings, not the integration tests' fast sweep
                               "OUTBOX_SWEEP_INTERVAL_SECONDS": "2", "OUTBOX_SWEEP_MIN_AGE_SECONDS": "5",
                               # the limiter still runs on every request, with room for the load
                               "RATE_LIMIT_API_PER_USER": "10000000/minute",
                               "RATE_LIMIT_API_PER_IP": "10000000/minute"})
    try:
        plat.start()
        # one request end to end before measuring (also checks the route answers 201)
        r = plat.post("/api/v1/leads", json={"name": "probe", "phone": "+1999000000", "source": "other"})
        if r.status_code != 201:
            raise RuntimeError(f"probe POST /api/v1/leads answered {r.status_code}: {r.text[:500]}")
        os.environ["BENCH_AUTHORIZATION"] = f"Bearer {plat.admin_token}"  # read by the load generator
        groups = {"gateway": [p.pid for p in plat.procs["gateway"]], "leads": [p.pid for p in plat.procs["leads"]]}
        profile = {n: pids[0] for n, pids in groups.items()} if PYSPY else None
        return measure(f"platform-{backend}", plat.base_url + "/api/v1/leads", groups, tag=tag,
                       profile_pids=profile)
    finally:
        plat.destroy()


# -- report -------------------------------------------------------------------

def git_commit() -> tuple[str | None, bool | None]:
    try:
        commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True,
                                timeout=10).stdout.strip() or None
        dirty = bool(subprocess.run(["git", "status", "--porcelain"], cwd=ROOT, capture_output=True, text=True,
                                    timeout=10).stdout.strip())
        return commit, dirty
    except Exception:
        return None, None


def mean_baseline(runs: list[dict]) -> dict:
    """The baseline as the mean of its runs (before and after the platform), each kept in ``runs``."""
    merged = dict(runs[-1])
    for key in ("rps", "p50_ms", "p99_ms"):
        values = [r[key] for r in runs if r.get(key) is not None]
        merged[key] = round(sum(values) / len(values), 2) if values else None
    for key in ("requests", "errors"):
        merged[key] = sum(r[key] for r in runs)
    merged["runs"] = [{k: r[k] for k in ("rps", "p50_ms", "p99_ms", "requests", "errors")} for r in runs]
    return merged


def write_report(baseline: dict, platforms: list[dict], skipped: dict) -> dict:
    commit, dirty = git_commit()
    stamp = dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
    results = []
    for p in platforms:
        ratio = round(p["rps"] / baseline["rps"], 3) if baseline["rps"] else None
        results.append(dict(
            scenario=SCENARIO, backend=p["target"].split("-", 1)[1], concurrency=CONCURRENCY,
            duration_s=p["duration_s"], requests=p["requests"], errors=p["errors"], rps=p["rps"],
            p50_ms=p["p50_ms"], p99_ms=p["p99_ms"],
            baseline_rps=baseline["rps"], baseline_p50_ms=baseline["p50_ms"], baseline_p99_ms=baseline["p99_ms"],
            ratio=ratio, target_ratio=TARGET_RATIO, meets_target=(ratio is not None and ratio >= TARGET_RATIO),
            timestamp=stamp, git_commit=commit, git_dirty=dirty, cpu_count=os.cpu_count(),
            detail=p))
    doc = {
        "scenario": SCENARIO,
        "description": "POST /api/v1/leads (gateway -> RPC -> leads: validate, dedupe by phone, insert lead + "
                       "outbox row in one transaction) vs. a bare nameko HTTP -> RPC baseline",
        "timestamp": stamp, "git_commit": commit, "git_dirty": dirty, "cpu_count": os.cpu_count(),
        "concurrency": CONCURRENCY, "duration_s": SECONDS, "warmup_s": WARMUP, "platform_log_level": LOG_LEVEL,
        "baseline": dict(scenario=SCENARIO, backend="none", concurrency=CONCURRENCY, **{
            k: baseline[k] for k in ("duration_s", "requests", "errors", "rps", "p50_ms", "p99_ms")},
            detail=baseline),
        "results": results,
        "skipped": skipped,
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / f"{SCENARIO}.json").write_text(json.dumps(doc, indent=2) + "\n")

    lines = [
        f"# {SCENARIO}: POST /api/v1/leads",
        "",
        f"{stamp} · commit `{(commit or '?')[:12]}`{' (dirty)' if dirty else ''} · {os.cpu_count()} CPUs · "
        f"{CONCURRENCY} concurrent clients · {SECONDS:g} s measured after {WARMUP:g} s warm-up · "
        f"load generator: {baseline['load_generator']} · platform LOG_LEVEL={LOG_LEVEL}",
        "",
        "| target | req/s | p50 ms | p99 ms | requests | errors | ratio vs baseline "
        "| CPU ms/req gateway | leads | rabbitmq | postgres | foreign cores |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]

    def row(d, ratio):
        c = {k: ("-" if v is None else f"{v:.2f}") for k, v in d["cpu_ms_per_request"].items()}
        lat = ("-", "-") if d["stalled"] else (f"{d['p50_ms']:.2f}", f"{d['p99_ms']:.2f}")
        return (f"| {d['target']} | {d['rps']:.1f} | {lat[0]} | {lat[1]} | {d['requests']} | "
                f"{d['errors']} | {ratio} | {c['gateway']} | {c['leads']} | {c['rabbitmq']} | "
                f"{c['postgres']} | {d['foreign_cores']:.2f} |")

    lines.append(row(baseline, "1.00"))
    for r in results:
        mark = "" if r["meets_target"] else " (below 0.6)"
        lines.append(row(r["detail"], f"{r['ratio']:.2f}{mark}"))
    for name, why in skipped.items():
        lines.append(f"| platform-{name} | skipped: {why} | | | | | | | | | | |")
    for d in [baseline] + [r["detail"] for r in results]:
        if d["stalled"]:
            lines += ["", f"**{d['target']}: no request completed during the measured window** (all "
                      f"{CONCURRENCY} clients were waiting; counted as {CONCURRENCY} errors)."]
    if baseline.get("runs"):
        lines += ["", "Baseline runs (before, after the platform targets; the row above is their mean): " +
                  ", ".join(f"{r['rps']} req/s (p50 {r['p50_ms']} ms, p99 {r['p99_ms']} ms)" for r in baseline["runs"])]
    lines += ["", f"Target: platform req/s >= {TARGET_RATIO} x baseline req/s (req/s counts 201 answers only). "
              "CPU ms/req: user+system CPU of each process group over the measured window divided by completed "
              "requests (rabbitmq and postgres are the whole servers). Foreign cores: machine CPU used by "
              "processes outside the benchmark during the window (high = disturbed measurement).", ""]
    (RESULTS / f"{SCENARIO}.md").write_text("\n".join(lines))
    return doc


def main() -> int:
    sys.path.insert(0, str(ROOT))
    from tests.integration.harness import postgres_reachable

    tool = "wrk" if loadgen.ensure_wrk() else "python"
    print(f"bench {SCENARIO}: concurrency={CONCURRENCY} seconds={SECONDS:g} warmup={WARMUP:g} "
          f"loadgen={tool} cpus={os.cpu_count()}", flush=True)
    workdir = Path(tempfile.mkdtemp(prefix="crm-bench-"))
    skipped = {}
    platforms = []
    failed = False
    try:
        # The baseline runs before and after the platform targets, and the platform is compared
        # with their mean: on a 2-core machine the same baseline drifts by a third between runs.
        baseline_runs = [run_baseline(workdir)]
        for i, backend in enumerate(BACKENDS):
            if backend == "postgresql" and not postgres_reachable():
                skipped[backend] = "PostgreSQL not reachable"
                print("  platform-postgresql     skipped (PostgreSQL not reachable)", flush=True)
                continue
            try:
                platforms.append(run_platform(backend, workdir, tag=20 + 10 * i))
            except Exception as exc:
                failed = True
                skipped[backend] = f"failed: {exc}"[:500]
                print(f"  platform-{backend} FAILED: {exc}", file=sys.stderr, flush=True)
        baseline_runs.append(run_baseline(workdir))
        baseline = mean_baseline(baseline_runs)
        doc = write_report(baseline, platforms, skipped)
    finally:
        if KEEP or failed:
            print(f"work directory kept: {workdir}", flush=True)
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    print()
    print((RESULTS / f"{SCENARIO}.md").read_text())
    errors = sum(r["errors"] for r in doc["results"]) + doc["baseline"]["errors"]
    below = [r["backend"] for r in doc["results"] if not r["meets_target"]]
    if errors:
        print(f"WARNING: {errors} request(s) did not answer 201 (see 'statuses' in {SCENARIO}.json)",
              file=sys.stderr)
    if below:
        print(f"WARNING: ratio below {TARGET_RATIO} on: {', '.join(below)}", file=sys.stderr)
    foreign = max([r["detail"]["foreign_cores"] for r in doc["results"]] + [doc["baseline"]["detail"]["foreign_cores"]])
    if foreign > 0.2:
        print(f"WARNING: other processes used up to {foreign:.2f} cores during the measurements; "
              "the figures are disturbed", file=sys.stderr)
    print(f"results: {RESULTS / (SCENARIO + '.json')}, {RESULTS / (SCENARIO + '.md')}")
    if os.environ.get("BENCH_SCALE") != "0":
        # Its own process: it runs as a service process does (eventlet, green psycopg2).
        subprocess.run([sys.executable, "-m", "bench.leads_scale"], cwd=ROOT, check=False)
        subprocess.run([sys.executable, "-m", "bench.customers_scale"], cwd=ROOT, check=False)
        # the customer CSV import at scale (bench/customers_import.py), its own process too
        subprocess.run([sys.executable, "-m", "bench.customers_import"], cwd=ROOT, check=False)
        # a recycle run over the customers (bench/customers_recycle.py), its own process too
        subprocess.run([sys.executable, "-m", "bench.customers_recycle"], cwd=ROOT, check=False)
        # the order flow (create with 10 lines, submit, approve) against its bare nameko baseline
        subprocess.run([sys.executable, "-m", "bench.sales_orders"], cwd=ROOT, check=False)
        # opportunity kanban and lists at a million opportunities
        subprocess.run([sys.executable, "-m", "bench.sales_opportunities"], cwd=ROOT, check=False)
        # the lead-to-cash chain across five processes at a fixed offered rate (bench/lead_to_cash.py)
        subprocess.run([sys.executable, "-m", "bench.lead_to_cash"], cwd=ROOT, check=False)
        # support: the SLA timer over 1,000,000 tickets, the knowledge-base search over 100,000 articles
        subprocess.run([sys.executable, "-m", "bench.support"], cwd=ROOT, check=False)
    if failed:
        return 1
    return 1 if STRICT and (errors or below) else 0


if __name__ == "__main__":
    sys.exit(main())
