"""Load generator for the order flow: create an order, submit it, approve it (three calls per flow).

Runs in its own process, the same client for the baseline and the platform, so the two are
measured alike::

    python -m bench.order_flow BASE_URL CONCURRENCY SECONDS

``BASE_URL`` is the prefix of ``/orders`` (``http://127.0.0.1:8000/api/v1`` for the platform, the
baseline's root for the baseline). Environment: ``BENCH_ORDER_BODY`` (the JSON body of
``POST /orders``), ``BENCH_SUBMIT_BODY`` (of ``/submit``), ``BENCH_CREATE_AUTHORIZATION`` (the
submitter's ``Authorization``), ``BENCH_APPROVE_AUTHORIZATION`` (the approver's). Each client is a
thread with two keep-alive ``http.client`` connections (one per user). A flow counts when the
create answers 201 and the submit and the approve 200; any other answer is an error of its call
(its flow is abandoned). Prints one line ``BENCH_JSON {...}``: flows, calls, per-status counts by
call, transport errors and latency percentiles (microseconds) of each call and of the whole flow.
"""
from __future__ import annotations

import http.client
import json
import os
import sys
import threading
import time
from urllib.parse import urlsplit

CALLS = ("create", "submit", "approve")


def _percentiles(values: list[float]) -> dict:
    values = sorted(values)
    if not values:
        return {"p50": 0, "p90": 0, "p99": 0, "max": 0, "mean": 0}

    def pct(p):
        return int(values[min(len(values) - 1, int(len(values) * p / 100))] * 1e6)
    return {"p50": pct(50), "p90": pct(90), "p99": pct(99), "max": int(values[-1] * 1e6),
            "mean": int(sum(values) / len(values) * 1e6)}


def run(base_url: str, concurrency: int, seconds: float) -> dict:
    parts = urlsplit(base_url)
    prefix = parts.path.rstrip("/")
    order_body = os.environ.get("BENCH_ORDER_BODY", "{}")
    submit_body = os.environ.get("BENCH_SUBMIT_BODY", "{}")
    auth = {"create": os.environ.get("BENCH_CREATE_AUTHORIZATION"),
            "approve": os.environ.get("BENCH_APPROVE_AUTHORIZATION")}
    deadline = time.monotonic() + seconds
    lock = threading.Lock()
    latencies = {c: [] for c in CALLS + ("flow",)}
    statuses = {c: {} for c in CALLS}
    errors = {"transport": 0}
    flows = [0]

    def headers(user):
        h = {"Content-Type": "application/json", "Connection": "keep-alive"}
        if auth[user]:
            h["Authorization"] = auth[user]
        return h

    def worker():
        conns = {u: http.client.HTTPConnection(parts.hostname, parts.port, timeout=30) for u in auth}
        lat = {c: [] for c in latencies}
        st = {c: {} for c in CALLS}
        done = transport = 0

        def call(call_name, user, path, body):
            nonlocal transport
            t0 = time.perf_counter()
            try:
                conns[user].request("POST", path, body=body, headers=headers(user))
                resp = conns[user].getresponse()
                data = resp.read()
            except Exception:
                transport += 1
                conns[user].close()
                conns[user] = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
                return None, None
            lat[call_name].append(time.perf_counter() - t0)
            st[call_name][str(resp.status)] = st[call_name].get(str(resp.status), 0) + 1
            return resp.status, data

        while time.monotonic() < deadline:
            t0 = time.perf_counter()
            status, data = call("create", "create", f"{prefix}/orders", order_body)
            if status != 201:
                continue
            order_id = json.loads(data)["id"]
            status, _ = call("submit", "create", f"{prefix}/orders/{order_id}/submit", submit_body)
            if status != 200:
                continue
            status, _ = call("approve", "approve", f"{prefix}/orders/{order_id}/approve", "{}")
            if status != 200:
                continue
            lat["flow"].append(time.perf_counter() - t0)
            done += 1
        for conn in conns.values():
            conn.close()
        with lock:
            flows[0] += done
            errors["transport"] += transport
            for c in latencies:
                latencies[c].extend(lat[c])
            for c in CALLS:
                for k, v in st[c].items():
                    statuses[c][k] = statuses[c].get(k, 0) + v

    started = time.monotonic()
    pool = [threading.Thread(target=worker) for _ in range(concurrency)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    duration = time.monotonic() - started
    return {"flows": flows[0], "calls": sum(len(latencies[c]) for c in CALLS), "duration_us": int(duration * 1e6),
            "statuses": statuses, "errors": errors,
            "latency_us": {c: _percentiles(v) for c, v in latencies.items()}}


if __name__ == "__main__":
    url, c, s = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
    print("BENCH_JSON " + json.dumps(run(url, c, s)))
