"""``python -m bench.tracing``: what tracing costs ``leads_create`` (issue 15: off < 2 %, on stated).

The ``leads_create`` measurement (``bench.run.measure``: wrk at ``BENCH_CONCURRENCY`` against
``POST /api/v1/leads``, gateway + leads on SQLite, CPU read from ``/proc``) on three targets:

- ``before``: the same platform from the source tree of ``BENCH_BEFORE_TREE`` (a checkout of the
  commit before tracing existed, e.g. ``git worktree add /tmp/crm-before base``), run from there;
- ``off``: this tree, no ``OTEL_EXPORTER_OTLP_ENDPOINT`` (the default);
- ``on``: this tree exporting every span over OTLP/HTTP to a receiver in this process
  (``tests/integration/otlp_receiver.py``, which only keeps the bodies during the window: a
  collector's work is not the platform's).

The targets are interleaved over ``BENCH_ROUNDS`` rounds (before, off, on; then off, before, on; ...),
each on a fresh platform, because on a shared 2-core machine throughput drifts between runs by more
than the effect measured; the report gives each run and the means, and CPU ms per request of the
gateway and leads processes, which other load disturbs less than req/s.

Environment: ``BENCH_BEFORE_TREE`` (required), ``BENCH_ROUNDS`` (3), ``BENCH_TRACING_REUSE=1`` (keep the
platform windows of the last ``tracing.json``, measure the hooks and spans again), and those of ``bench.run``
(``BENCH_CONCURRENCY``, ``BENCH_SECONDS``, ``BENCH_WARMUP``). Results: ``bench/results/tracing.json``
and ``tracing.md``.
"""
from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import statistics
import sys
import tempfile
from pathlib import Path

from bench import loadgen
from bench.run import CONCURRENCY, RESULTS, ROOT, SECONDS, WARMUP, git_commit, measure

ROUNDS = int(os.environ.get("BENCH_ROUNDS") or 3)
BEFORE_TREE = os.environ.get("BENCH_BEFORE_TREE")
REUSE = os.environ.get("BENCH_TRACING_REUSE") == "1"
ORDERS = (("before", "off", "on"), ("off", "before", "on"), ("on", "off", "before"))


def run_target(target: str, workdir: Path, tag: int, receiver) -> dict:
    from tests.integration.harness import Platform

    tree = Path(BEFORE_TREE).resolve() if target == "before" else ROOT
    extra = {"LOG_LEVEL": "INFO", "OUTBOX_SWEEP_INTERVAL_SECONDS": "2", "OUTBOX_SWEEP_MIN_AGE_SECONDS": "5",
             "RATE_LIMIT_API_PER_USER": "10000000/minute", "RATE_LIMIT_API_PER_IP": "10000000/minute",
             "PYTHONPATH": str(tree)}
    if target == "on":
        extra["OTEL_EXPORTER_OTLP_ENDPOINT"] = receiver.endpoint
    plat = Platform(workdir / f"{target}-{tag}", backend="sqlite", services=("leads", "gateway"), extra_env=extra)
    for name in list(plat.env):
        if name.startswith("OTEL_") and name not in extra:
            del plat.env[name]
    cwd = os.getcwd()
    os.chdir(tree)               # ``python -m`` puts the working directory first on sys.path
    try:
        plat.start()
    finally:
        os.chdir(cwd)
    try:
        for _ in range(5):       # a loaded machine: the first request may outlive the RPC deadline
            r = plat.post("/api/v1/leads", json={"name": "probe", "phone": "+1999000000", "source": "other"},
                          headers={"Idempotency-Key": f"probe-{tag}"})
            if r.status_code != 503:
                break
        if r.status_code != 201:
            raise RuntimeError(f"probe POST /api/v1/leads answered {r.status_code}: {r.text[:500]}")
        os.environ["BENCH_AUTHORIZATION"] = f"Bearer {plat.admin_token}"
        groups = {"gateway": [p.pid for p in plat.procs["gateway"]], "leads": [p.pid for p in plat.procs["leads"]]}
        before_bodies = receiver.requests
        out = measure(target, plat.base_url + "/api/v1/leads", groups, tag=tag)
        out["otlp_requests_during_run"] = receiver.requests - before_bodies
        return out
    finally:
        plat.destroy()


def off_path_cost(loops: int = 200_000) -> dict:
    """CPU the off mode adds to one ``POST /api/v1/leads``, measured on the hooks themselves (which
    the machine's other load disturbs far less than throughput): per worker (two: the gateway's
    and the leads service's), nameko calls the ``Tracing`` provider's four methods and sets its
    attribute; on the path, ten ``tracing.enabled`` tests (gateway route, RPC client, RPC
    entrypoint, unit of work enter, emit, relay, log filter x ~4 lines)."""
    import time
    from types import SimpleNamespace

    from crm_kit.runtime import tracing
    assert not tracing.enabled
    provider = tracing.Tracing()
    ctx = SimpleNamespace(entrypoint=SimpleNamespace(trace_kind="server", method_name="create_lead"),
                          data={"request_id": "r"})
    service = SimpleNamespace()
    started = time.process_time()
    for _ in range(loops):
        for _worker in range(2):
            setattr(service, "tracing", provider.get_dependency(ctx))
            provider.worker_setup(ctx)
            provider.worker_result(ctx, None, None)
            provider.worker_teardown(ctx)
    workers = (time.process_time() - started) / loops
    started = time.process_time()
    for _ in range(loops):
        for _check in range(10):
            if tracing.enabled:
                raise AssertionError
    checks = (time.process_time() - started) / loops
    return {"workers_us": round(workers * 1e6, 3), "checks_us": round(checks * 1e6, 3),
            "total_us_per_request": round((workers + checks) * 1e6, 3)}


def on_path_cost(requests: int = 3000) -> dict:
    """CPU tracing on adds per request, measured in one process without the machine's other load in
    the figure as much: the spans one ``POST /api/v1/leads`` makes (the gateway's route and RPC
    client, the leads worker, its transaction, the relay's publish: 5, with their attributes and
    traceparents) through the SDK's ``BatchSpanProcessor`` into an exporter that encodes them as OTLP
    protobuf (what ``OTLPSpanExporter`` sends) and drops the bytes."""
    import time

    from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
    from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult

    from crm_kit.runtime import tracing

    class Encoding(SpanExporter):
        encoded = 0

        def export(self, spans):
            self.encoded += len(encode_spans(spans).SerializeToString())
            return SpanExportResult.SUCCESS

    exporter = Encoding()
    tracing.configure("bench", environ={}, exporter=exporter)
    try:
        started = time.process_time()
        for _ in range(requests):
            route = tracing.start_span("POST /api/v1/leads", "server", attributes={
                "http.request.method": "POST", "url.path": "/api/v1/leads", "crm.request_id": "r"})
            token = tracing.activate(route)
            client = tracing.start_span("leads.create_lead", "client", attributes={
                "rpc.system": "nameko", "rpc.service": "leads", "rpc.method": "create_lead"})
            parent = tracing.extract(tracing.traceparent_of(client))
            worker = tracing.start_span("leads.create_lead", "server", parent=parent, attributes={
                "rpc.system": "nameko", "rpc.service": "leads", "rpc.method": "create_lead", "crm.request_id": "r"})
            inner = tracing.activate(worker)
            tx = tracing.start_span("transaction leads", attributes={"db.system.name": "sqlite"})
            envelope_parent = tracing.extract(tracing.traceparent_of(tx))
            tracing.finish(tx, **{"crm.committed": True, "crm.events": 1})
            tracing.deactivate(inner)
            tracing.finish(worker)
            tracing.finish(client, **{"crm.outcome": "success"})
            publish = tracing.start_span("publish lead_created", "producer", parent=envelope_parent, attributes={
                "messaging.system": "rabbitmq", "messaging.message.id": "e"})
            tracing.traceparent_of(publish)
            tracing.finish(publish)
            route.update_name("POST /api/v1/leads")
            route.set_attributes({"http.route": "/api/v1/leads", "http.response.status_code": 201})
            route.end()
            tracing.deactivate(token)
        tracing.force_flush(30000)
        cpu = (time.process_time() - started) / requests
    finally:
        tracing.shutdown()
    return {"spans_per_request": 5, "cpu_us_per_request": round(cpu * 1e6, 1),
            "otlp_bytes_per_request": round(exporter.encoded / requests)}


def summary(runs: list[dict]) -> dict:
    def mean(key):
        return round(statistics.fmean(r[key] for r in runs), 2)

    def cpu(group):
        return round(statistics.fmean(r["cpu_ms_per_request"][group] for r in runs), 3)
    return {"runs": len(runs), "rps": mean("rps"), "p50_ms": mean("p50_ms"), "p99_ms": mean("p99_ms"),
            "rps_each": [r["rps"] for r in runs], "errors": sum(r["errors"] for r in runs),
            "cpu_ms_per_request": {g: cpu(g) for g in ("gateway", "leads")},
            "cpu_ms_per_request_app": round(cpu("gateway") + cpu("leads"), 3),
            "foreign_cores_max": max(r["foreign_cores"] for r in runs)}


def measure_windows() -> tuple[dict, int]:
    from tests.integration.otlp_receiver import OtlpReceiver
    receiver = OtlpReceiver().start()
    workdir = Path(tempfile.mkdtemp(prefix="crm-bench-tracing-"))
    runs: dict[str, list[dict]] = {"before": [], "off": [], "on": []}
    try:
        tag = 100
        for round_no in range(ROUNDS):
            for target in ORDERS[round_no % len(ORDERS)]:
                runs[target].append(run_target(target, workdir, tag, receiver))
                tag += 10
        return runs, len(receiver.spans())
    finally:
        receiver.stop()
        shutil.rmtree(workdir, ignore_errors=True)


def main() -> int:
    if not REUSE and not BEFORE_TREE or not REUSE and not (Path(BEFORE_TREE) / "crm_kit").is_dir():
        print("BENCH_BEFORE_TREE must name a checkout of the platform before tracing "
              "(git worktree add /tmp/crm-before <commit>)", file=sys.stderr)
        return 2
    sys.path.insert(0, str(ROOT))

    if REUSE:        # the platform windows of the last run, the in-process measurements anew
        previous = json.loads((RESULTS / "tracing.json").read_text())
        runs, spans_received, tool = previous["runs"], previous["spans_received_total"], previous["load_generator"]
        windows_at = previous.get("windows_measured_at") or previous["timestamp"]
    else:
        tool = "wrk" if loadgen.ensure_wrk() else "python"
        print(f"bench tracing: rounds={ROUNDS} concurrency={CONCURRENCY} seconds={SECONDS:g} loadgen={tool}",
              flush=True)
        runs, spans_received = measure_windows()
        windows_at = dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")

    s = {target: summary(r) for target, r in runs.items()}
    base = s["before"]

    def rel(target, key):
        return round(100.0 * (s[target][key] - base[key]) / base[key], 2)

    def rel_cpu(target):
        return round(100.0 * (s[target]["cpu_ms_per_request_app"] - base["cpu_ms_per_request_app"])
                     / base["cpu_ms_per_request_app"], 2)
    costs = {t: {"rps_change_pct": rel(t, "rps"), "p99_change_pct": rel(t, "p99_ms"),
                 "cpu_per_request_change_pct": rel_cpu(t)} for t in ("off", "on")}
    hooks = off_path_cost()
    hooks["share_of_before_cpu_pct"] = round(100.0 * hooks["total_us_per_request"] / 1000
                                             / base["cpu_ms_per_request_app"], 3)
    spans_cost = on_path_cost()
    spans_cost["share_of_before_cpu_pct"] = round(100.0 * spans_cost["cpu_us_per_request"] / 1000
                                                  / base["cpu_ms_per_request_app"], 2)
    commit, dirty = git_commit()
    stamp = dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
    doc = {"scenario": "tracing", "timestamp": stamp, "git_commit": commit, "git_dirty": dirty,
           "cpu_count": os.cpu_count(), "concurrency": CONCURRENCY, "duration_s": SECONDS, "warmup_s": WARMUP,
           "windows_measured_at": windows_at, "rounds": ROUNDS, "load_generator": tool, "summary": s,
           "costs_vs_before": costs,
           "off_path_hooks": hooks, "on_path_spans": spans_cost,
           "spans_received_total": spans_received, "runs": runs}
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "tracing.json").write_text(json.dumps(doc, indent=2) + "\n")
    lines = [
        "# tracing: what OpenTelemetry costs leads_create (POST /api/v1/leads)", "",
        f"{stamp} · commit `{(commit or '?')[:12]}`{' (dirty)' if dirty else ''} · {os.cpu_count()} CPUs · "
        f"{CONCURRENCY} concurrent clients · {SECONDS:g} s measured after {WARMUP:g} s warm-up · {ROUNDS} rounds, "
        f"targets interleaved · gateway + leads on SQLite · load generator: {tool} · platform windows measured "
        f"{windows_at}", "",
        "| target | runs | req/s (mean) | each run | p50 ms | p99 ms | CPU ms/req gateway | leads | "
        "vs before: req/s | CPU/req | foreign cores (max) |",
        "|---|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|"]
    for target in ("before", "off", "on"):
        x = s[target]
        change = ("-", "-") if target == "before" else (f"{costs[target]['rps_change_pct']:+.2f} %",
                                                        f"{costs[target]['cpu_per_request_change_pct']:+.2f} %")
        lines.append(f"| {target} | {x['runs']} | {x['rps']:.1f} | {', '.join(f'{v:.0f}' for v in x['rps_each'])} "
                     f"| {x['p50_ms']:.2f} | {x['p99_ms']:.2f} | {x['cpu_ms_per_request']['gateway']:.2f} "
                     f"| {x['cpu_ms_per_request']['leads']:.2f} | {change[0]} | {change[1]} "
                     f"| {x['foreign_cores_max']:.2f} |")
    lines += ["", f"`before`: the platform at the commit before tracing; `off`: this commit without "
              f"`OTEL_EXPORTER_OTLP_ENDPOINT`; `on`: every span exported (OTLP/HTTP, batch processor) to a "
              f"receiver on loopback ({spans_received} spans received over all `on` runs and probes). "
              "CPU ms/req: user+system CPU of the process over the measured window / completed requests.", "",
              f"Off path measured on the hooks themselves (`off_path_cost`: the `Tracing` provider of two workers "
              f"and ten `tracing.enabled` tests per request): {hooks['total_us_per_request']:.2f} µs of CPU per "
              f"request, {hooks['share_of_before_cpu_pct']:.3f} % of the {base['cpu_ms_per_request_app']:.2f} ms "
              "the gateway and leads processes spend on one request before tracing.", "",
              f"On path measured in one process (`on_path_cost`: the {spans_cost['spans_per_request']} spans of one "
              f"request through the SDK's batch processor, encoded as OTLP protobuf): "
              f"{spans_cost['cpu_us_per_request']:.0f} µs of CPU and {spans_cost['otlp_bytes_per_request']} bytes "
              f"of OTLP per request, {spans_cost['share_of_before_cpu_pct']:.1f} % of the "
              f"{base['cpu_ms_per_request_app']:.2f} ms before tracing (the HTTP post to the collector comes on "
              "top, once per batch).", ""]
    foreign = max(x["foreign_cores_max"] for x in s.values())
    if foreign > 0.2:
        lines += [f"**Disturbed**: processes outside the benchmark used up to {foreign:.2f} of the "
                  f"{os.cpu_count()} cores during the windows, so req/s and CPU ms/req swing between runs by far "
                  "more than the effect measured; the hook and span measurements above are the figures to "
                  "read, and the req/s columns should be measured again on a quiet machine.", ""]
    (RESULTS / "tracing.md").write_text("\n".join(lines))
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
