"""``python -m bench.sales_orders``: the order flow through the gateway against a bare nameko baseline.

One flow = three calls: ``POST /api/v1/orders`` (10 lines, priced by the server from its products),
``POST /api/v1/orders/{id}/submit`` (by the order's owner, a member: the approval engine's default
flow makes the owner's manager the approver) and ``POST /api/v1/orders/{id}/approve`` (by that
manager: the order becomes approved and ``order_approved`` leaves through the outbox). The same
client (``bench/order_flow.py``, its own process, ``BENCH_CONCURRENCY`` threads) drives:

- ``baseline``: ``bench/baseline.py sales_http`` + ``sales_rpc``, a bare nameko HTTP service calling
  three bare ``@rpc`` methods that keep the order in memory (no database, logging or metrics), run
  before and after the platform and averaged (the same baseline drifts on a shared 2-core machine);
- ``platform-postgresql``: the real gateway and sales processes (``tests.integration.harness.Platform``,
  fresh PostgreSQL databases, its own vhost, the production relay settings).

Target (issue 12): platform calls/s >= 0.5 x baseline calls/s, the three calls together. CPU per
flow of each process group read from /proc, as ``bench/run.py`` does. Results:
``bench/results/sales_orders.json`` and ``.md``.

Environment: BENCH_CONCURRENCY (default 8), BENCH_SECONDS (20), BENCH_WARMUP (3), BENCH_LINES (10).
"""
from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import quote

import requests

from bench.run import CpuMeter, _stop, git_commit, pids_by_comm

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
SCENARIO = "sales_orders"
CONCURRENCY = int(os.environ.get("BENCH_CONCURRENCY") or 8)
SECONDS = float(os.environ.get("BENCH_SECONDS") or 20)
WARMUP = float(os.environ.get("BENCH_WARMUP") or 3)
LINES = int(os.environ.get("BENCH_LINES") or 10)
TARGET_RATIO = 0.5
PASSWORD = "bench-password-123"


def flow(base_url: str, seconds: float, env: dict) -> dict:
    proc = subprocess.run([sys.executable, "-m", "bench.order_flow", base_url, str(CONCURRENCY), str(seconds)],
                          cwd=str(ROOT), env=dict(os.environ, **env), capture_output=True, text=True,
                          timeout=seconds + 180)
    if proc.returncode != 0:
        raise RuntimeError(f"order_flow failed: {proc.stderr[-2000:]}")
    line = next(x for x in proc.stdout.splitlines() if x.startswith("BENCH_JSON "))
    return json.loads(line[len("BENCH_JSON "):])


def measure(label: str, base_url: str, groups: dict, env: dict) -> dict:
    if WARMUP > 0:
        flow(base_url, WARMUP, env)
    meter = CpuMeter(dict(groups, rabbitmq=pids_by_comm("beam.smp"), postgres=pids_by_comm("postgres")))
    before = meter.snapshot()
    res = flow(base_url, SECONDS, env)
    after = meter.snapshot()
    duration = res["duration_us"] / 1e6
    ok_calls = 3 * res["flows"]
    errors = sum(v for call in res["statuses"].values() for k, v in call.items() if k not in ("200", "201"))
    out = {"target": label, "duration_s": round(duration, 2), "flows": res["flows"], "calls_ok": ok_calls,
           "errors": errors + res["errors"]["transport"], "statuses": res["statuses"],
           "flows_per_s": round(res["flows"] / duration, 1), "calls_per_s": round(ok_calls / duration, 1),
           "latency_ms": {c: {k: round(v / 1000, 2) for k, v in p.items()} for c, p in res["latency_us"].items()}}
    cpu = CpuMeter.delta(before, after, res["flows"], duration)
    cpu["cpu_ms_per_flow"] = cpu.pop("cpu_ms_per_request")
    out.update(cpu)
    print(f"  {label:<20} {out['calls_per_s']:>7.1f} calls/s ({out['flows_per_s']} flows/s)  flow p50 "
          f"{out['latency_ms']['flow']['p50']} ms p99 {out['latency_ms']['flow']['p99']} ms  errors {out['errors']}"
          f"  CPU ms/flow {cpu['cpu_ms_per_flow']}  foreign cores {cpu['foreign_cores']}", flush=True)
    return out


def run_baseline(workdir: Path) -> dict:
    from tests.integration.harness import RABBIT_HOST, create_vhost, delete_vhost, free_port

    vhost, port = create_vhost(), free_port()
    env = dict(os.environ, AMQP_URI=f"amqp://guest:guest@{RABBIT_HOST}:5672/{quote(vhost, safe='')}",
               BENCH_BASELINE_PORT=str(port), PYTHONPATH=str(ROOT))
    procs = {}
    try:
        for which in ("sales_rpc", "sales_http"):
            log = open(workdir / f"baseline-{which}.log", "ab")
            procs[which] = subprocess.Popen([sys.executable, "-m", "bench.baseline", which], env=env, cwd=str(ROOT),
                                            stdout=log, stderr=subprocess.STDOUT)
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while True:
            try:
                if requests.post(base + "/orders", json={"probe": True}, timeout=5).status_code == 201:
                    break
            except requests.RequestException:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("baseline not ready after 60 s")
            time.sleep(0.2)
        return measure("baseline", base, {"gateway": [procs["sales_http"].pid], "sales": [procs["sales_rpc"].pid]},
                       {"BENCH_ORDER_BODY": json.dumps(_order_body("customer", [f"p{i}" for i in range(LINES)])),
                        "BENCH_SUBMIT_BODY": "{}"})
    finally:
        _stop(procs.values())
        delete_vhost(vhost)


def _order_body(customer_id: str, product_ids: list[str]) -> dict:
    return {"customer_id": customer_id, "currency": "CNY", "discount_percent": "5", "payment_terms": "30 days",
            "due_days": 30, "lines": [{"product_id": p, "quantity": str(1 + i), "discount_percent": str(i % 4)}
                                      for i, p in enumerate(product_ids)]}


def _check(response, status: int, what: str) -> dict:
    if response.status_code != status:
        raise RuntimeError(f"{what} answered {response.status_code}: {response.text[:500]}")
    return response.json()


def run_platform(workdir: Path) -> dict:
    from tests.integration.harness import Platform

    plat = Platform(workdir / "platform-postgresql", backend="postgresql", services=("sales", "gateway"),
                    extra_env={"LOG_LEVEL": "INFO", "OUTBOX_SWEEP_INTERVAL_SECONDS": "2",
                               "OUTBOX_SWEEP_MIN_AGE_SECONDS": "5", "RATE_LIMIT_API_PER_USER": "10000000/minute",
                               "RATE_LIMIT_API_PER_IP": "10000000/minute"})
    try:
        plat.start()
        admin = plat.admin_token
        department = _check(plat.post("/api/v1/departments", token=admin, json={"name": "Bench sales"}), 201,
                            "POST /api/v1/departments")
        for username, role in (("bench.manager", "manager"), ("bench.member", "member")):
            _check(plat.post("/api/v1/users", token=admin, json={
                "username": username, "password": PASSWORD, "role": role, "department_id": department["id"]}),
                201, "POST /api/v1/users")
        member, manager = plat.login("bench.member", PASSWORD), plat.login("bench.manager", PASSWORD)
        products = [_check(plat.post("/api/v1/products", token=admin, json={
            "sku": f"BENCH-{i:03d}", "name": f"Bench product {i}", "unit_price": f"{100 + i}.50",
            "currency": "CNY"}), 201, "POST /api/v1/products")["id"] for i in range(LINES)]
        body = _order_body("01933b50-1f00-7a00-8000-00000000c001", products)
        # one flow end to end before measuring (it also checks the approval goes to the manager)
        order = _check(plat.post("/api/v1/orders", token=member, json=body), 201, "POST /api/v1/orders")
        submitted = _check(plat.post(f"/api/v1/orders/{order['id']}/submit", token=member, json={}), 200, "submit")
        if submitted["status"] != "pending_approval":
            raise RuntimeError(f"the submitted order is {submitted['status']}, not pending_approval")
        approved = _check(plat.post(f"/api/v1/orders/{order['id']}/approve", token=manager, json={}), 200, "approve")
        if approved["status"] != "approved":
            raise RuntimeError(f"the approved order is {approved['status']}")
        groups = {"gateway": [p.pid for p in plat.procs["gateway"]], "sales": [p.pid for p in plat.procs["sales"]]}
        return measure("platform-postgresql", plat.base_url + "/api/v1", groups, {
            "BENCH_ORDER_BODY": json.dumps(body), "BENCH_SUBMIT_BODY": "{}",
            "BENCH_CREATE_AUTHORIZATION": f"Bearer {member}", "BENCH_APPROVE_AUTHORIZATION": f"Bearer {manager}"})
    finally:
        plat.destroy()


def report(baselines: list[dict], platform: dict) -> dict:
    commit, dirty = git_commit()
    stamp = dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
    base_cps = round(sum(b["calls_per_s"] for b in baselines) / len(baselines), 1)
    ratio = round(platform["calls_per_s"] / base_cps, 3) if base_cps else None
    doc = {"scenario": SCENARIO, "timestamp": stamp, "git_commit": commit, "git_dirty": dirty,
           "cpu_count": os.cpu_count(), "concurrency": CONCURRENCY, "seconds": SECONDS, "lines": LINES,
           "baseline_calls_per_s": base_cps, "baselines": baselines, "platform": platform, "ratio": ratio,
           "target_ratio": TARGET_RATIO, "meets_target": ratio is not None and ratio >= TARGET_RATIO}
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / f"{SCENARIO}.json").write_text(json.dumps(doc, indent=2) + "\n")

    def row(d, r):
        c = {k: ("-" if v is None else f"{v:.2f}") for k, v in d["cpu_ms_per_flow"].items()}
        lat = d["latency_ms"]
        return (f"| {d['target']} | {d['calls_per_s']} | {d['flows_per_s']} | {lat['create']['p50']} / "
                f"{lat['create']['p99']} | {lat['submit']['p50']} / {lat['submit']['p99']} | {lat['approve']['p50']} / "
                f"{lat['approve']['p99']} | {lat['flow']['p99']} | {d['errors']} | {r} | {c['gateway']} | "
                f"{c['sales']} | {c['rabbitmq']} | {c['postgres']} | {d['foreign_cores']:.2f} |")
    met = "met" if doc["meets_target"] else "**not met**"
    lines = [f"# {SCENARIO}: create an order with {LINES} lines, submit it, approve it, through the gateway", "",
             f"{stamp} · commit `{(commit or '?')[:12]}`{' (dirty)' if dirty else ''} · {os.cpu_count()} CPUs · "
             f"{CONCURRENCY} concurrent clients · {SECONDS:g} s measured after {WARMUP:g} s warm-up · client "
             "`bench/order_flow.py` (Python threads, its own process) for both targets", "",
             "| target | calls/s | flows/s | create p50 / p99 ms | submit p50 / p99 | approve p50 / p99 | flow p99 | "
             "errors | ratio | CPU ms/flow gateway | sales | rabbitmq | postgres | foreign cores |",
             "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for b in baselines:
        lines.append(row(b, "-"))
    lines.append(row(platform, f"{ratio} ({met}: >= {TARGET_RATIO})"))
    lines += ["", f"Ratio: platform calls/s over the mean of the baseline runs ({base_cps} calls/s), the three calls "
              "together, counting only flows whose three calls answered 201, 200, 200. The baseline keeps the order "
              "in memory; the platform prices the lines from the products, computes the totals, numbers the order, "
              "runs the approval engine (the owner's manager, from the gateway's org chart, cached per process), "
              "writes the order, its lines, the approval request, audit and outbox rows, and relays "
              "`order_submitted`, `approval_requested`, `approval_decided` and `order_approved`.", ""]
    (RESULTS / f"{SCENARIO}.md").write_text("\n".join(lines))
    return doc


def main() -> int:
    sys.path.insert(0, str(ROOT))
    from tests.integration.harness import postgres_reachable
    if not postgres_reachable():
        print("bench sales_orders: PostgreSQL not reachable, skipped", flush=True)
        return 0
    print(f"bench {SCENARIO}: concurrency={CONCURRENCY} seconds={SECONDS:g} lines={LINES}", flush=True)
    with tempfile.TemporaryDirectory(prefix="crm-bench-orders-") as tmp:
        workdir = Path(tmp)
        baselines = [run_baseline(workdir)]
        platform = run_platform(workdir)
        baselines.append(run_baseline(workdir))
    doc = report(baselines, platform)
    print((RESULTS / f"{SCENARIO}.md").read_text())
    return 0 if doc["meets_target"] else 1


if __name__ == "__main__":
    sys.exit(main())
