"""Load generator for ``POST <url>`` with a unique lead per request.

Always runs in its own process (never inside the orchestrator or a server):

- ``wrk`` (preferred, C, epoll; installed with apt-get when missing and we
  are root) driven by ``bench/post_lead.lua``;
- fallback: this module as a script, ``python -m bench.loadgen URL C SECONDS TAG``,
  a thread pool of keep-alive ``http.client`` connections.

Both print one line ``BENCH_JSON {...}`` with requests, duration, per-status
counts, transport errors and latency percentiles (microseconds).
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path
from urllib.parse import urlsplit

HERE = Path(__file__).resolve().parent
WRK_THREADS = int(os.environ.get("BENCH_WRK_THREADS", "2"))


def ensure_wrk() -> str | None:
    """Path to wrk, installing it with apt-get if missing (root only); None if unavailable."""
    if os.environ.get("BENCH_LOADGEN", "").lower() == "python":
        return None
    path = shutil.which("wrk")
    if path:
        return path
    if hasattr(os, "geteuid") and os.geteuid() == 0 and shutil.which("apt-get"):
        print("bench: installing wrk with apt-get ...", file=sys.stderr)
        env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
        try:
            r = subprocess.run(["apt-get", "install", "-y", "-qq", "wrk"], env=env,
                               capture_output=True, timeout=300)
            if r.returncode != 0:
                subprocess.run(["apt-get", "update", "-qq"], env=env, capture_output=True, timeout=300)
                subprocess.run(["apt-get", "install", "-y", "-qq", "wrk"], env=env,
                               capture_output=True, timeout=300)
        except Exception as exc:  # pragma: no cover
            print(f"bench: could not install wrk: {exc!r}", file=sys.stderr)
    return shutil.which("wrk")


def _parse(stdout: str) -> dict:
    for line in stdout.splitlines():
        if line.startswith("BENCH_JSON "):
            return json.loads(line[len("BENCH_JSON "):])
    raise RuntimeError(f"load generator printed no result:\n{stdout[-2000:]}")


def run(url: str, concurrency: int, seconds: float, tag: int) -> dict:
    """Run one load phase in a separate process; returns the parsed result + which tool."""
    wrk = ensure_wrk()
    if wrk:
        threads = max(1, min(WRK_THREADS, concurrency))
        cmd = [wrk, f"-t{threads}", f"-c{concurrency}", f"-d{max(1, round(seconds))}s", "--timeout", "15s",
               "-s", str(HERE / "post_lead.lua"), url, "--", str(tag)]
        tool = "wrk"
    else:
        cmd = [sys.executable, "-m", "bench.loadgen", url, str(concurrency), str(seconds), str(tag)]
        tool = "python"
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            cwd=str(HERE.parent))
    result = {"pid": proc.pid}
    out, err = proc.communicate(timeout=seconds + 120)
    if proc.returncode != 0:
        raise RuntimeError(f"{tool} failed ({proc.returncode}): {err[-2000:]}\n{out[-2000:]}")
    result.update(_parse(out))
    result["tool"] = tool
    return result


# -- the Python fallback client -------------------------------------------------

def _python_client(url: str, concurrency: int, seconds: float, tag: int) -> dict:
    import http.client

    parts = urlsplit(url)
    path = parts.path or "/"
    deadline = time.monotonic() + seconds
    lock = threading.Lock()
    latencies: list[float] = []
    statuses: dict[str, int] = {}
    errors = {"connect": 0, "read": 0, "write": 0, "status": 0, "timeout": 0}
    headers = {"Content-Type": "application/json", "Connection": "keep-alive"}
    if os.environ.get("BENCH_AUTHORIZATION"):
        headers["Authorization"] = os.environ["BENCH_AUTHORIZATION"]

    def worker(tid: int):
        conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=15)
        lat, st, n = [], {}, 0
        while time.monotonic() < deadline:
            n += 1
            phone = f"+1{tag:02d}{tid:02d}{n:08d}"
            body = json.dumps({"name": f"Bench Lead {tid}-{n}", "company": "Bench Co",
                               "phone": phone, "source": "web_form"})
            t0 = time.perf_counter()
            try:
                conn.request("POST", path, body=body, headers=headers)
                resp = conn.getresponse()
                resp.read()
            except Exception:
                with lock:
                    errors["read"] += 1
                conn.close()
                conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=15)
                continue
            lat.append(time.perf_counter() - t0)
            st[str(resp.status)] = st.get(str(resp.status), 0) + 1
            if resp.status >= 400:
                with lock:
                    errors["status"] += 1
        conn.close()
        with lock:
            latencies.extend(lat)
            for k, v in st.items():
                statuses[k] = statuses.get(k, 0) + v

    started = time.monotonic()
    pool = [threading.Thread(target=worker, args=(i,)) for i in range(concurrency)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    duration = time.monotonic() - started
    latencies.sort()

    def pct(p):
        if not latencies:
            return 0
        return int(latencies[min(len(latencies) - 1, int(len(latencies) * p / 100))] * 1e6)

    return {
        "requests": len(latencies), "duration_us": int(duration * 1e6), "bytes": 0,
        "errors": errors, "statuses": statuses,
        "latency_us": {"min": pct(0), "mean": (sum(latencies) / len(latencies) * 1e6) if latencies else 0,
                       "max": int(latencies[-1] * 1e6) if latencies else 0,
                       "p50": pct(50), "p90": pct(90), "p99": pct(99), "p999": pct(99.9)},
    }


if __name__ == "__main__":
    url, c, s, tag = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), int(sys.argv[4])
    print("BENCH_JSON " + json.dumps(_python_client(url, c, s, tag)))
