"""``python -m bench.webhooks``: webhook delivery throughput and latency from commit to the receiver.

1. A platform (``tests.integration.harness.Platform``: leads, webhooks, gateway; SQLite, its own
   RabbitMQ vhost) with ``WEBHOOKS_ALLOW_PRIVATE`` on and one subscription to ``lead_created`` for a
   real HTTP receiver on loopback that verifies every signature (``tests/integration/webhook_receiver.py``).
2. Leads are created through the gateway at ``BENCH_WEBHOOKS_RATE`` per second (default 100) for
   ``BENCH_WEBHOOKS_SECONDS`` (default 30), paced by a clock, ``BENCH_WEBHOOKS_CLIENTS`` threads.
3. Each event's latency is the receiver's arrival time minus the event's ``occurred_at`` (set in the
   producer's transaction, just before its commit: "commit -> receiver"). Throughput is deliveries per
   second over the window from the first event to the last arrival. Target (issue 15): keep up with
   100 events/s, p99 stated.
4. ``bench/results/webhooks.json`` and ``.md``, and a summary on stdout.
"""
from __future__ import annotations

import datetime as dt
import json
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from bench.leads_scale import env_int, git_commit, machine, percentile

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"


def run() -> dict:
    from tests.integration.harness import Platform
    from tests.integration.webhook_receiver import Receiver

    rate, seconds = env_int("BENCH_WEBHOOKS_RATE", 100), env_int("BENCH_WEBHOOKS_SECONDS", 30)
    clients = env_int("BENCH_WEBHOOKS_CLIENTS", 16)
    receiver = Receiver().start()
    plat = Platform(Path(tempfile.mkdtemp(prefix="bench-webhooks-")), backend="sqlite",
                    services=("leads", "webhooks", "gateway"),
                    extra_env={"WEBHOOKS_ALLOW_PRIVATE": "true", "WEBHOOKS_SEND_INTERVAL_SECONDS": "0.2",
                               "LOG_LEVEL": "WARNING",
                               # one admin making 100 leads a second is the load generator, not a user:
                               # the default 3,000 a minute per user would refuse the 3,001st (429)
                               "RATE_LIMIT_API_PER_USER": "60000/minute", "RATE_LIMIT_API_PER_IP": "60000/minute"})
    try:
        plat.start()
        created = plat.post("/api/v1/webhooks", json={"url": receiver.url, "event_types": ["lead_created"]})
        assert created.status_code == 201, created.text
        receiver.secret = created.json()["secret"]
        token = plat.admin_token
        errors, answered = [], []
        lock = threading.Lock()

        def create(i: int) -> None:
            resp = plat.post("/api/v1/leads", token=token, json={"name": f"Bench {i}", "phone": f"+1555{i:07d}"})
            with lock:
                (answered if resp.status_code == 201 else errors).append(resp.status_code)

        total = rate * seconds
        started = time.time()
        with ThreadPoolExecutor(clients) as pool:
            for i in range(total):
                delay = started + i / rate - time.time()
                if delay > 0:
                    time.sleep(delay)
                pool.submit(create, i)
        sent_seconds = time.time() - started
        deadline = time.time() + 120
        while len(receiver.events) < len(answered) and time.time() < deadline:
            time.sleep(0.2)
        latencies = []
        for msg_id, at in receiver.arrived:
            occurred = dt.datetime.fromisoformat(receiver.events[msg_id]["occurred_at"]).timestamp()
            latencies.append(at - occurred)
        first = min((dt.datetime.fromisoformat(e["occurred_at"]).timestamp() for e in receiver.events.values()),
                    default=started)
        last = max((at for _, at in receiver.arrived), default=first)
        delivered = len(receiver.events)
        return {
            "scenario": "webhooks", "rate_target": rate, "seconds": seconds, "leads_created": len(answered),
            "create_errors": len(errors), "create_error_statuses": sorted(set(errors)),
            "offered_rate": round(len(answered) / sent_seconds, 1),
            "delivered": delivered, "missing": len(answered) - delivered,
            "duplicates_received": len(receiver.requests) - delivered, "bad_signatures": receiver.bad_signatures,
            "throughput_per_s": round(delivered / max(0.001, last - first), 1),
            "latency_p50_ms": round(1000 * percentile(latencies, 0.5), 1) if latencies else None,
            "latency_p99_ms": round(1000 * percentile(latencies, 0.99), 1) if latencies else None,
            "latency_max_ms": round(1000 * max(latencies), 1) if latencies else None,
            "machine": machine(), "commit": git_commit()[0],
        }
    finally:
        receiver.stop()
        plat.destroy()


def main() -> int:
    result = run()
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "webhooks.json").write_text(json.dumps(result, indent=2) + "\n")
    lines = ["# webhooks: delivery throughput and commit -> receiver latency", "",
             "| figure | value |", "|---|---|"] + [f"| {k} | {v} |" for k, v in result.items() if k != "machine"]
    (RESULTS / "webhooks.md").write_text("\n".join(lines) + "\n")
    print(json.dumps({k: v for k, v in result.items() if k != "machine"}, indent=1))
    return 0 if result["missing"] == 0 and result["bad_signatures"] == 0 else 1


if __name__ == "__main__":
    raise SystemExit(main())
