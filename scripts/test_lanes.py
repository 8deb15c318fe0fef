#!/usr/bin/env python3
"""``make test``: the whole suite in two lanes at once, each a sequence of pytest runs.

The suite is mostly waiting -- on platforms starting, on events crossing the broker, on
eventual reads -- so one pytest process leaves a core idle much of the time. Two lanes:

- ``platform-postgresql``: the tests of the shared platform on PostgreSQL (the session fixture
  ``backend`` of ``tests/integration/conftest.py`` = ``postgresql``), then the unit, contract and
  deploy tiers;
- ``rest``: every other integration test (the shared platform on SQLite and the modules' own
  platforms), then the fault suite.

A lane's selection is made by ``tests/conftest.py`` from ``CRM_TEST_LANE``, so the two lanes
together run every test once. Each lane writes ``var/test-lanes/<lane>.log``; the first lane's
output is shown as it goes, the second's when it ends (so the console reads in order), and the
exit status fails when either lane failed. ``PYTEST_ARGS`` go to every run.
"""
from __future__ import annotations

import os
import shlex
import subprocess
import sys
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
LOGS = REPO / "var" / "test-lanes"

LANES = {
    "platform-postgresql": [("platform-postgresql", ["tests/integration"]),
                            (None, ["tests/unit", "tests/contract", "tests/deploy"])],
    "rest": [("rest", ["tests/integration", "tests/faults"])],
}


def run_lane(name: str, steps, extra: list[str], echo: bool, results: dict) -> None:
    LOGS.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    code = 0
    with open(LOGS / f"{name}.log", "w") as log:
        for lane, paths in steps:
            env = dict(os.environ)
            env.pop("CRM_TEST_LANE", None)
            if lane:
                env["CRM_TEST_LANE"] = lane
            cmd = [sys.executable, "-m", "pytest", "-q", *paths, *extra]
            header = f"== lane {name}: {shlex.join(cmd[2:])}" + (f" (CRM_TEST_LANE={lane})" if lane else "") + "\n"
            log.write(header)
            log.flush()
            if echo:
                sys.stdout.write(header)
                sys.stdout.flush()
            proc = subprocess.Popen(cmd, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
            # as it comes, not a line at a time: pytest's progress dots end their line every 72 tests
            while chunk := os.read(proc.stdout.fileno(), 65536):
                text = chunk.decode(errors="replace")
                log.write(text)
                log.flush()
                if echo:
                    sys.stdout.write(text)
                    sys.stdout.flush()
            rc = proc.wait()
            if rc not in (0, 5):           # 5: nothing collected (a selection that is empty)
                code = code or rc
    results[name] = (code, time.monotonic() - started)


def main() -> int:
    extra = shlex.split(os.environ.get("PYTEST_ARGS", ""))
    results: dict = {}
    names = list(LANES)
    threads = [threading.Thread(target=run_lane, args=(name, LANES[name], extra, i == 0, results))
               for i, name in enumerate(names)]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for name in names[1:]:
        sys.stdout.write((LOGS / f"{name}.log").read_text())
    print()
    for name in names:
        code, seconds = results[name]
        print(f"lane {name}: {'passed' if code == 0 else f'FAILED (exit {code})'} in {seconds / 60:.1f} min "
              f"(log: {(LOGS / f'{name}.log').relative_to(REPO)})")
    print(f"the suite: {(time.monotonic() - started) / 60:.1f} min")
    return 0 if all(code == 0 for code, _ in results.values()) else 1


if __name__ == "__main__":
    raise SystemExit(main())
