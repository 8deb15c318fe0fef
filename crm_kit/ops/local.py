"""``crm run`` / ``make run``: every service and the gateway, each in its own
process on the embedded defaults; Ctrl-C stops them all cleanly."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

from crm_kit.config import ALL_PROCESSES, DEFAULT_METRICS_PORTS, env_int


def run_all(port: int | None = None) -> int:
    from crm_kit.ops.provision import migrate

    port = port or env_int("GATEWAY_PORT", 8000)
    for name in ALL_PROCESSES:
        migrate(name)
    env = dict(os.environ, GATEWAY_PORT=str(port))
    procs: dict[str, subprocess.Popen] = {}
    for name in ALL_PROCESSES:
        penv = dict(env)
        if name != "gateway" and "METRICS_PORT" not in os.environ:
            penv["METRICS_PORT"] = str(DEFAULT_METRICS_PORTS[name])
        procs[name] = subprocess.Popen([sys.executable, "-m", "crm_kit.ops.cli", "serve", name], env=penv)
    base = f"http://127.0.0.1:{port}"
    print(f"""
CRM platform starting ({len(procs)} processes). Ctrl-C stops everything.
  API            {base}/api/v1
  API docs       {base}/docs   (OpenAPI: {base}/openapi.json)
  health         {base}/healthz   readiness: {base}/readyz
  metrics        {base}/metrics   services: """ + ", ".join(
        f"{n}:{DEFAULT_METRICS_PORTS[n]}" for n in DEFAULT_METRICS_PORTS) + "\n", flush=True)

    def _stop(*_):
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, _stop)
    try:
        while True:
            for name, proc in procs.items():
                if proc.poll() is not None:
                    print(f"{name} exited with {proc.returncode}; stopping the platform", file=sys.stderr)
                    raise KeyboardInterrupt
            time.sleep(0.5)
    except KeyboardInterrupt:
        pass
    finally:
        for proc in procs.values():
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + 40
        for proc in procs.values():
            try:
                proc.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                proc.kill()
        print("CRM platform stopped.", file=sys.stderr)
    return 0
