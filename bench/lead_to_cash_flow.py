"""Load generator for the lead-to-cash chain (``bench/lead_to_cash.py`` starts it in its own process)::

    python -m bench.lead_to_cash_flow BASE_URL RATE CONCURRENCY WARMUP SECONDS

One chain, as ``tests/integration/test_lead_to_cash.py`` walks it, as one of the salespeople: create a lead,
convert it with an opportunity, wait for its customer and the opportunity, mark it won, create an order with
one line, submit it (the administrator approves it when the submit leaves it pending), wait for its
receivable, set a two-instalment plan, record two payments (the salesperson, naming the finance clerk as
reviewer: finance may not confirm a payment it recorded), and the clerk confirms both.

Open loop: a scheduler offers a chain every ``1 / RATE`` seconds for ``WARMUP + SECONDS``; ``CONCURRENCY``
worker threads (one keep-alive ``http.client`` connection each) take them in turn. A chain a worker could
not start before the schedule ended is counted ``not_started``; a chain waits in the queue otherwise
(``start_delay``). Chains started in the measured window are ``measured`` (latency, errors); ``chains``
lists every completed chain's payments and when their confirms answered (the report keeps those in the
window). Every answer other than the expected 2xx, every transport error and every wait that times out
is an error of its step, counted; its chain is abandoned there.

Environment: ``BENCH_L2C`` (JSON: ``reps`` tokens, ``clerk`` token, ``clerk_id``, ``admin`` token,
``product_id``, ``tag``), ``BENCH_POLL_MS`` (50: interval of the waits), ``BENCH_WAIT_S`` (30).
Prints ``BENCH_MARK start|end <unix time>`` when the measured window opens and closes, then one line
``BENCH_JSON {...}``.
"""
from __future__ import annotations

import datetime as dt
import http.client
import itertools
import json
import os
import queue
import sys
import threading
import time
from decimal import Decimal
from urllib.parse import urlsplit

PRICE, QUANTITY, FIRST = Decimal("1234.56"), 3, Decimal("1500.00")
TOTAL = PRICE * QUANTITY
POLL = float(os.environ.get("BENCH_POLL_MS") or 50) / 1000
WAIT = float(os.environ.get("BENCH_WAIT_S") or 30)
STEPS = ("lead", "convert", "wait_customer", "wait_opportunity", "won", "order", "submit", "approve",
         "wait_receivable", "plan", "payment", "confirm", "chain")


class StepFailed(Exception):
    def __init__(self, step: str, status: str, detail: str = ""):
        super().__init__(f"{step}: {status} {detail[:300]}")
        self.step, self.status = step, status


class Client:
    """One keep-alive connection; ``call`` answers the JSON or raises ``StepFailed``."""

    def __init__(self, base_url: str):
        parts = urlsplit(base_url)
        self.host, self.port, self.prefix = parts.hostname, parts.port, parts.path.rstrip("/")
        self.conn = http.client.HTTPConnection(self.host, self.port, timeout=30)

    def call(self, step, method, path, token, body=None, want=(200,)):
        headers = {"Authorization": f"Bearer {token}", "Connection": "keep-alive"}
        data = None
        if body is not None:
            data, headers["Content-Type"] = json.dumps(body), "application/json"
        try:
            self.conn.request(method, self.prefix + path, body=data, headers=headers)
            resp = self.conn.getresponse()
            raw = resp.read()
        except Exception as exc:
            self.conn.close()
            self.conn = http.client.HTTPConnection(self.host, self.port, timeout=30)
            raise StepFailed(step, "transport", repr(exc)) from None
        if resp.status not in want:
            raise StepFailed(step, str(resp.status), raw.decode(errors="replace"))
        return json.loads(raw) if raw else None

    def until(self, step, path, token, pick):
        """Poll ``GET path`` until ``pick(answer)`` is truthy (a non-200 is an error, not a retry)."""
        deadline = time.monotonic() + WAIT
        while True:
            found = pick(self.call(step, "GET", path, token))
            if found:
                return found
            if time.monotonic() > deadline:
                raise StepFailed(step, "timeout", path)
            time.sleep(POLL)


_serial = itertools.count(1)


def run_chain(client: Client, cfg: dict, rep: str, lat: dict) -> dict:
    """One chain; ``lat[step]`` gets each step's seconds. Answers what the report needs afterwards."""
    n = next(_serial)
    tag = f"{cfg['tag']}{n:07d}"
    clock = [time.perf_counter()]

    def took(step):
        now = time.perf_counter()
        lat.setdefault(step, []).append(now - clock[0])
        clock[0] = now

    lead = client.call("lead", "POST", "/leads", rep, {
        "name": "陈静", "company": f"L2C {tag}", "phone": f"13{(cfg['phone_base'] + n) % 10**9:09d}",
        "source": "web_form"}, want=(201,))
    took("lead")
    client.call("convert", "POST", f"/leads/{lead['id']}/convert", rep, {"opportunity": {
        "name": f"Registers {tag}", "amount": str(TOTAL), "expected_close_date": "2027-06-30"}})
    took("convert")
    customer_id = client.until("wait_customer", f"/leads/{lead['id']}", rep, lambda r: r.get("customer_id"))
    took("wait_customer")
    opportunity = client.until("wait_opportunity", f"/opportunities?customer_id={customer_id}", rep,
                               lambda r: (r["items"] or [None])[0])
    took("wait_opportunity")
    client.call("won", "POST", f"/opportunities/{opportunity['id']}/stage", rep, {"stage": "won"})
    took("won")
    order = client.call("order", "POST", "/orders", rep, {
        "customer_id": customer_id, "opportunity_id": opportunity["id"], "due_days": 60,
        "lines": [{"product_id": cfg["product_id"], "quantity": str(QUANTITY)}]}, want=(201,))
    took("order")
    submitted = client.call("submit", "POST", f"/orders/{order['id']}/submit", rep, {})
    took("submit")
    if submitted["status"] != "approved":
        client.call("approve", "POST", f"/orders/{order['id']}/approve", cfg["admin"], {"comment": "ok"})
        took("approve")
    receivable = client.until("wait_receivable", f"/receivables?order_id={order['id']}", rep,
                              lambda r: (r["items"] or [None])[0])
    took("wait_receivable")
    today = dt.date.today()
    plan = client.call("plan", "POST", f"/receivables/{receivable['id']}/plan", rep, {"instalments": [
        {"amount": str(FIRST), "due_date": (today + dt.timedelta(days=30)).isoformat()},
        {"amount": str(TOTAL - FIRST), "due_date": (today + dt.timedelta(days=60)).isoformat()}]})
    took("plan")
    paid_at = (dt.datetime.now(dt.timezone.utc) - dt.timedelta(minutes=5)).isoformat()
    payments = []
    for instalment in plan["instalments"]:
        payments.append(client.call("payment", "POST", "/payments", rep, {
            "receivable_id": receivable["id"], "instalment_id": instalment["id"], "amount": instalment["amount"],
            "paid_at": paid_at, "method": "bank_transfer", "payer": f"L2C {tag}",
            "reviewer_id": cfg["clerk_id"]}, want=(201,))["id"])
        took("payment")
    confirmed_at = []
    for payment_id in payments:
        client.call("confirm", "POST", f"/payments/{payment_id}/confirm", cfg["clerk"], {})
        confirmed_at.append(time.time())
        took("confirm")
    return {"customer_id": customer_id, "payments": payments, "confirmed_at": confirmed_at}


def _percentiles(values: list[float]) -> dict:
    values = sorted(values)
    if not values:
        return {"n": 0}

    def pct(p):
        return round(values[min(len(values) - 1, int(len(values) * p / 100))] * 1000, 2)
    return {"n": len(values), "p50": pct(50), "p90": pct(90), "p99": pct(99), "max": round(values[-1] * 1000, 2),
            "mean": round(sum(values) / len(values) * 1000, 2)}


def run(base_url: str, rate: float, concurrency: int, warmup: float, seconds: float, cfg: dict) -> dict:
    tickets: queue.Queue = queue.Queue()
    lock = threading.Lock()
    reps = itertools.cycle(cfg["reps"])
    latency = {s: [] for s in STEPS + ("start_delay",)}
    errors: dict = {}
    chains, done_times = [], []
    counts = {"offered": 0, "measured_offered": 0, "not_started": 0, "measured_not_started": 0,
              "measured_completed": 0}
    t0 = time.monotonic()
    window = (t0 + warmup, t0 + warmup + seconds)
    stop = object()

    def worker():
        client = Client(base_url)
        while True:
            ticket = tickets.get()
            if ticket is stop:
                break
            due, offered_in_window = ticket
            with lock:
                rep = next(reps)
            lat: dict = {}
            now = time.monotonic()
            measured = window[0] <= now < window[1]     # started in the measured window
            delay, started = max(0.0, now - due), time.perf_counter()
            try:
                outcome = run_chain(client, cfg, rep, lat)
                failure = None
            except StepFailed as exc:
                outcome, failure = None, exc
            ended = time.monotonic()
            with lock:
                if outcome is not None:
                    done_times.append(ended)
                    chains.append(outcome)
                if not measured:
                    continue
                latency["start_delay"].append(delay)
                for step, values in lat.items():
                    latency[step].extend(values)
                if failure is not None:
                    errors.setdefault(failure.step, {}).setdefault(failure.status, 0)
                    errors[failure.step][failure.status] += 1
                    if len(errors.get("samples", [])) < 10:
                        errors.setdefault("samples", []).append(str(failure))
                else:
                    latency["chain"].append(time.perf_counter() - started)
                    counts["measured_completed"] += 1

    pool = [threading.Thread(target=worker, daemon=True) for _ in range(concurrency)]
    for t in pool:
        t.start()
    marks = [(window[0], "start"), (window[1], "end")]
    for i in itertools.count():
        due = t0 + i / rate
        while marks and marks[0][0] <= due:
            at, name = marks.pop(0)
            time.sleep(max(0.0, at - time.monotonic()))
            print(f"BENCH_MARK {name} {time.time()}", flush=True)
        if due >= window[1]:
            break
        time.sleep(max(0.0, due - time.monotonic()))
        measured = due >= window[0]
        counts["offered"] += 1
        counts["measured_offered"] += measured
        tickets.put((due, measured))
    # what no worker took before the schedule ended was not started
    while True:
        try:
            _, measured = tickets.get_nowait()
        except queue.Empty:
            break
        counts["not_started"] += 1
        counts["measured_not_started"] += measured
    for _ in pool:
        tickets.put(stop)
    for t in pool:
        t.join()
    completed_in_window = sum(1 for t in done_times if window[0] <= t < window[1])
    return dict(counts, rate=rate, concurrency=concurrency, seconds=seconds, warmup=warmup,
                completed_in_window=completed_in_window,
                completed_per_s=round(completed_in_window / seconds, 2),
                errors=errors,
                latency_ms={s: _percentiles(v) for s, v in latency.items()}, chains=chains)


if __name__ == "__main__":
    url, rate, conc, warm, secs = sys.argv[1], float(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4]), \
        float(sys.argv[5])
    print("BENCH_JSON " + json.dumps(run(url, rate, conc, warm, secs, json.loads(os.environ["BENCH_L2C"]))),
          flush=True)
