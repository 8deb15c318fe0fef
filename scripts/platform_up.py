#!/usr/bin/env python3
"""``make up`` / ``make down``: run the platform the way Kubernetes runs it.

    python scripts/platform_up.py up       # create + migrate databases, start everything detached
    python scripts/platform_up.py status   # what runs, and whether it is ready
    python scripts/platform_up.py down     # SIGTERM, wait, SIGKILL leftovers
    python scripts/platform_up.py reset    # drop the crm_<name> databases (when stopped)
    python scripts/platform_up.py start leads-0 customers-1   # (re)start instances that are not running

Unlike ``make run`` (SQLite files, one foreground process tree), ``up`` gives
every service and the gateway its own process *and its own PostgreSQL
database* (``crm_<name>`` on 127.0.0.1:5432 as user ``postgres``), runs
several replicas of ``customers`` (the consumer of ``lead_converted``)
competing for the same quorum queues, detaches them all and returns once each
one answers ``/readyz``.

Files: ``var/up/<name>-<i>.log`` (JSON log lines), ``var/up/<name>-<i>.pid``.

Environment:

  UP_DATABASE_URL_BASE    postgresql+psycopg2://postgres@127.0.0.1:5432  (server, without database)
  UP_DB_PREFIX            crm             -> databases crm_leads, ..., crm_gateway
  UP_REPLICAS_<NAME>      replicas per service (UP_REPLICAS_CUSTOMERS defaults to 2, others to 1)
  UP_METRICS_PORT_BASE    9101            replica r of the i-th service: BASE + i + 100*r
  UP_VAR_DIR              var/up          logs and pid files
  UP_READY_TIMEOUT        90              seconds to wait for /readyz
  UP_STOP_TIMEOUT         40              seconds between SIGTERM and SIGKILL (workers may take 30 s)
  GATEWAY_PORT            8000            the HTTP API
  UP_PROCESS_ENV          {}              JSON, extra environment per instance, e.g.
                                          {"leads-0": {"AMQP_URI": "amqp://...:5673/"}} (tests/faults)
  AMQP_URI, LOG_LEVEL, ...                passed through to every process (see README)
"""
from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from urllib.error import URLError
from urllib.request import urlopen

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from crm_kit.config import ALL_PROCESSES, SERVICES  # noqa: E402

DEFAULT_PG_BASE = "postgresql+psycopg2://postgres@127.0.0.1:5432"
DEFAULT_REPLICAS = {"customers": 2}


class UpError(Exception):
    """A failure with a message meant for the operator (no traceback)."""


# --------------------------------------------------------------------------
# configuration
# --------------------------------------------------------------------------
def _env(name: str, default: str) -> str:
    value = os.environ.get(name)
    return value if value not in (None, "") else default


def var_dir() -> Path:
    path = Path(_env("UP_VAR_DIR", str(REPO / "var" / "up")))
    if not path.is_absolute():
        path = REPO / path
    return path


def pg_base() -> str:
    return _env("UP_DATABASE_URL_BASE", DEFAULT_PG_BASE).rstrip("/")


def db_name(name: str) -> str:
    return f"{_env('UP_DB_PREFIX', 'crm')}_{name}"


def database_urls() -> dict[str, str]:
    return {name: f"{pg_base()}/{db_name(name)}" for name in ALL_PROCESSES}


def replicas(name: str) -> int:
    if name == "gateway":
        return 1  # one HTTP port; scale it behind a load balancer in Kubernetes
    count = int(_env(f"UP_REPLICAS_{name.upper()}", str(DEFAULT_REPLICAS.get(name, 1))))
    if count < 1:
        raise UpError(f"UP_REPLICAS_{name.upper()} must be >= 1, got {count}")
    return count


def gateway_port() -> int:
    return int(_env("GATEWAY_PORT", "8000"))


def metrics_port(name: str, replica: int) -> int:
    base = int(_env("UP_METRICS_PORT_BASE", "9101"))
    return base + SERVICES.index(name) + 100 * replica


def instances() -> list[tuple[str, int]]:
    return [(name, r) for name in ALL_PROCESSES for r in range(replicas(name))]


def ready_url(name: str, replica: int) -> str:
    if name == "gateway":
        return f"http://127.0.0.1:{gateway_port()}/readyz"
    return f"http://127.0.0.1:{metrics_port(name, replica)}/readyz"


def pid_file(name: str, replica: int) -> Path:
    return var_dir() / f"{name}-{replica}.pid"


def log_file(name: str, replica: int) -> Path:
    return var_dir() / f"{name}-{replica}.log"


# --------------------------------------------------------------------------
# PostgreSQL
# --------------------------------------------------------------------------
def _admin_connect():
    import psycopg2
    from sqlalchemy.engine import make_url

    url = make_url(pg_base() + "/postgres")
    kwargs = {"host": url.host or "127.0.0.1", "port": url.port or 5432, "user": url.username or "postgres",
              "dbname": "postgres", "connect_timeout": 5}
    if url.password:
        kwargs["password"] = url.password
    try:
        conn = psycopg2.connect(**kwargs)
    except Exception as exc:
        where = f"{kwargs['user']}@{kwargs['host']}:{kwargs['port']}"
        raise UpError(
            f"PostgreSQL is not reachable at {where}: {str(exc).strip()}\n"
            "`make up` runs one PostgreSQL database per service. Start a server "
            "(Debian: `apt-get install postgresql && pg_ctlcluster 15 main start`), or point "
            "UP_DATABASE_URL_BASE at one (e.g. postgresql+psycopg2://user:pass@host:5432). "
            "`make run` needs no PostgreSQL (SQLite files).") from None
    conn.autocommit = True
    return conn


def ensure_databases() -> None:
    conn = _admin_connect()
    try:
        with conn.cursor() as cur:
            for name in ALL_PROCESSES:
                db = db_name(name)
                cur.execute("SELECT 1 FROM pg_database WHERE datname = %s", (db,))
                if cur.fetchone() is None:
                    cur.execute(f'CREATE DATABASE "{db}"')
                    print(f"created database {db}", flush=True)
    finally:
        conn.close()


def drop_databases() -> None:
    conn = _admin_connect()
    try:
        with conn.cursor() as cur:
            for name in ALL_PROCESSES:
                cur.execute(f'DROP DATABASE IF EXISTS "{db_name(name)}" WITH (FORCE)')
                print(f"dropped database {db_name(name)} (if it existed)", flush=True)
    finally:
        conn.close()


# --------------------------------------------------------------------------
# processes
# --------------------------------------------------------------------------
def instance_overrides() -> dict[str, dict[str, str]]:
    raw = _env("UP_PROCESS_ENV", "{}")
    try:
        overrides = json.loads(raw)
    except ValueError as exc:
        raise UpError(f"UP_PROCESS_ENV is not JSON: {exc}") from None
    if not isinstance(overrides, dict) or not all(isinstance(v, dict) for v in overrides.values()):
        raise UpError('UP_PROCESS_ENV must be an object {"<name>-<replica>": {"VAR": "value"}}')
    return {key: {k: str(v) for k, v in values.items()} for key, values in overrides.items()}


def process_env(name: str, replica: int) -> dict:
    env = dict(os.environ)
    for other, url in database_urls().items():
        env[f"{other.upper()}_DATABASE_URL"] = url
    env["GATEWAY_PORT"] = str(gateway_port())
    if name in SERVICES:
        env["METRICS_PORT"] = str(metrics_port(name, replica))
    env.setdefault("PYTHONUNBUFFERED", "1")
    env.update(instance_overrides().get(f"{name}-{replica}", {}))
    return env


def migrate(name: str) -> None:
    env = dict(process_env(name, 0), PYTHONWARNINGS="ignore")
    proc = subprocess.run([sys.executable, "-m", "crm_kit.ops.cli", "migrate", name], cwd=REPO,
                          env=env, capture_output=True, text=True, timeout=300)
    output = (proc.stdout + proc.stderr).strip()
    if proc.returncode != 0:
        raise UpError(f"migrating {name} failed:\n{output[-3000:]}\n\nIf {db_name(name)} was left by another "
                      "checkout, start from empty databases: python scripts/platform_up.py reset")
    # Pass the output on: it may say something once only (e.g. a generated first password).
    print(f"{output or 'migrated ' + name}  [database {db_name(name)}]", flush=True)


def _is_ours(pid: int) -> bool:
    """The pid is alive and is a ``crm_kit.ops.cli serve`` process (not a recycled pid)."""
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        try:
            os.kill(pid, 0)
        except OSError:
            return False
        return True  # no /proc (not Linux): trust the pid file
    if cmdline == [b""]:
        # Empty: a zombie (exited, not reaped yet), or a child still inside exec (its new
        # command line is not mapped yet, right after Popen returned): tell them apart.
        return _state(pid) not in ("Z", "X", None)
    return b"crm_kit.ops.cli" in cmdline and b"serve" in cmdline


def _state(pid: int) -> str | None:
    """The process state letter of /proc/<pid>/stat (R, S, D, Z...), None if it is gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return stat[stat.rindex(")") + 2:].split(" ", 1)[0]


def _read_pid(path: Path) -> int | None:
    try:
        return int(path.read_text().strip())
    except (OSError, ValueError):
        return None


def running() -> dict[tuple[str, int], int]:
    """Live processes from the pid files, keyed by (name, replica)."""
    found = {}
    for path in sorted(var_dir().glob("*.pid")):
        name, _, replica = path.stem.rpartition("-")
        pid = _read_pid(path)
        if pid and replica.isdigit() and _is_ours(pid):
            found[(name, int(replica))] = pid
    return found


def _port_in_use(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex(("127.0.0.1", port)) == 0


def spawn(name: str, replica: int) -> int:
    log = open(log_file(name, replica), "ab")
    try:
        proc = subprocess.Popen([sys.executable, "-m", "crm_kit.ops.cli", "serve", name], cwd=REPO,
                                env=process_env(name, replica), stdin=subprocess.DEVNULL, stdout=log,
                                stderr=subprocess.STDOUT, start_new_session=True, close_fds=True)
    finally:
        log.close()
    pid_file(name, replica).write_text(f"{proc.pid}\n")
    return proc.pid


def _is_ready(url: str) -> bool:
    try:
        with urlopen(url, timeout=3) as resp:
            return resp.status == 200
    except (URLError, OSError, ValueError):
        return False


def wait_ready(pids: dict[tuple[str, int], int], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    pending = dict(pids)
    while pending and time.monotonic() < deadline:
        for key, pid in list(pending.items()):
            if not _is_ours(pid):
                tail = log_file(*key).read_text(errors="replace")[-3000:] if log_file(*key).exists() else ""
                raise UpError(f"{key[0]} replica {key[1]} exited during start-up; end of "
                              f"{log_file(*key)}:\n{tail}")
            if _is_ready(ready_url(*key)):
                del pending[key]
        if pending:
            time.sleep(0.3)
    if pending:
        names = ", ".join(f"{n}-{r} ({ready_url(n, r)})" for n, r in sorted(pending))
        raise UpError(f"not ready after {timeout:.0f}s: {names}; see the logs in {var_dir()}")


def _signal(pid: int, sig: int) -> None:
    try:
        os.killpg(pid, sig)  # started with start_new_session: the pid leads its own group
    except OSError:
        try:
            os.kill(pid, sig)
        except OSError:
            pass


def stop(pids: dict[tuple[str, int], int], timeout: float) -> None:
    for pid in pids.values():
        _signal(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    alive = dict(pids)
    while alive and time.monotonic() < deadline:
        alive = {k: p for k, p in alive.items() if _alive(p)}
        if alive:
            time.sleep(0.2)
    for (name, replica), pid in alive.items():
        print(f"{name}-{replica} (pid {pid}) ignored SIGTERM for {timeout:.0f}s: SIGKILL", flush=True)
        _signal(pid, signal.SIGKILL)


def _alive(pid: int) -> bool:
    try:
        # Reap it if it is our child (only when `up` rolls back a failed start).
        if os.waitpid(pid, os.WNOHANG)[0] == pid:
            return False
    except ChildProcessError:
        pass
    except OSError:
        return False
    try:
        os.kill(pid, 0)
    except OSError:
        return False
    return _is_ours(pid)


# --------------------------------------------------------------------------
# commands
# --------------------------------------------------------------------------
def describe() -> str:
    base = f"http://127.0.0.1:{gateway_port()}"
    lines = [
        "",
        f"CRM platform is up ({len(instances())} processes, PostgreSQL databases {db_name('<name>')}).",
        f"  API            {base}/api/v1",
        f"  API docs       {base}/docs   (OpenAPI: {base}/openapi.json)",
        f"  health         {base}/healthz   readiness: {base}/readyz",
        f"  metrics        {base}/metrics",
    ]
    for name in SERVICES:
        ports = ", ".join(f"http://127.0.0.1:{metrics_port(name, r)}/metrics" for r in range(replicas(name)))
        lines.append(f"  {name:<14} {ports}")
    lines += [f"  logs           {var_dir()}/<name>-<replica>.log",
              "  stop with      make down   (or: python scripts/platform_up.py down)", ""]
    return "\n".join(lines)


def cmd_up() -> int:
    var_dir().mkdir(parents=True, exist_ok=True)
    live = running()
    if live:
        wanted = set(instances())
        if set(live) == wanted:
            print("already up (make down first to restart)")
            print(describe())
            return 0
        raise UpError(f"a partial platform is running ({', '.join(f'{n}-{r}' for n, r in sorted(live))}); "
                      "run `make down` first")
    for path in var_dir().glob("*.pid"):
        path.unlink()  # stale
    busy = [f"{n}-{r}:{p}" for n, r in instances()
            for p in [gateway_port() if n == "gateway" else metrics_port(n, r)] if _port_in_use(p)]
    if busy:
        raise UpError(f"port(s) already in use: {', '.join(busy)} (is `make run` running? "
                      "set GATEWAY_PORT / UP_METRICS_PORT_BASE)")

    ensure_databases()
    for name in ALL_PROCESSES:
        migrate(name)
    pids = {}
    try:
        for name, replica in instances():
            pids[(name, replica)] = spawn(name, replica)
            print(f"started {name}-{replica} (pid {pids[(name, replica)]})", flush=True)
        wait_ready(pids, float(_env("UP_READY_TIMEOUT", "90")))
    except BaseException:
        print("start-up failed: stopping what was started", file=sys.stderr, flush=True)
        stop(pids, 10)
        for key in pids:
            pid_file(*key).unlink(missing_ok=True)
        raise
    print(describe(), flush=True)
    return 0


def cmd_start(names: list[str]) -> int:
    """(Re)start the given instances of a running platform that are not running (a pod the kubelet
    restarts after a crash); no migration, the databases are there."""
    wanted = set(instances())
    keys = []
    for label in names:
        name, _, replica = label.rpartition("-")
        if not replica.isdigit() or (name, int(replica)) not in wanted:
            raise UpError(f"no instance {label!r}; instances: {', '.join(f'{n}-{r}' for n, r in instances())}")
        keys.append((name, int(replica)))
    live = running()
    pids = {}
    for key in keys:
        if key in live:
            print(f"{key[0]}-{key[1]} is running (pid {live[key]})", flush=True)
            continue
        pids[key] = spawn(*key)
        print(f"started {key[0]}-{key[1]} (pid {pids[key]})", flush=True)
    wait_ready(pids, float(_env("UP_READY_TIMEOUT", "90")))
    return 0


def cmd_down() -> int:
    live = running()
    if not live:
        print("nothing is running")
    else:
        print(f"stopping {len(live)} process(es) ...", flush=True)
        stop(live, float(_env("UP_STOP_TIMEOUT", "40")))
        print("CRM platform stopped.")
    for path in var_dir().glob("*.pid") if var_dir().is_dir() else []:
        path.unlink()
    return 0


def cmd_reset() -> int:
    if running():
        raise UpError("the platform is running: make down first")
    drop_databases()
    return 0


def cmd_status() -> int:
    live = running()
    if not live:
        print("not running")
        return 3
    ok = True
    for name, replica in instances():
        pid = live.get((name, replica))
        state = "ready" if pid and _is_ready(ready_url(name, replica)) else ("not ready" if pid else "stopped")
        ok = ok and state == "ready"
        label = f"{name}-{replica}"
        print(f"{label:<14} {('pid ' + str(pid)) if pid else '':<11} {state:<10} {ready_url(name, replica)}")
    return 0 if ok else 1


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("command", choices=("up", "down", "status", "reset", "start"))
    parser.add_argument("instances", nargs="*", metavar="NAME-REPLICA", help="for start: e.g. leads-0")
    args = parser.parse_args(argv)
    if bool(args.instances) != (args.command == "start"):
        parser.error("start takes one or more NAME-REPLICA, the other commands none")
    try:
        if args.command == "start":
            return cmd_start(args.instances)
        return {"up": cmd_up, "down": cmd_down, "status": cmd_status, "reset": cmd_reset}[args.command]()
    except UpError as exc:
        print(f"platform_up: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
