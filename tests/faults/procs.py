"""Processes and ports of the fault suite's servers: the ``CRM_FAULTS_ROOT`` marker every process
started for the suite carries, and ending them (:func:`kill_marked`, :func:`sweep_stale`)."""
from __future__ import annotations

import os
import shutil
import signal
import socket
import tempfile
import time
from pathlib import Path

MARKER = "CRM_FAULTS_ROOT"
PREFIX = "crm-faults-"
SHARED_PORTS = {5672, 5432, 25672, 15672, 4369}     # the shared servers' (AMQP, PostgreSQL, dist, HTTP, epmd)


class ServerError(RuntimeError):
    pass


def free_port(avoid: set[int] = frozenset()) -> int:
    while True:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        if port not in SHARED_PORTS and port not in avoid:
            return port


def port_open(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex(("127.0.0.1", port)) == 0


def make_root() -> Path:
    root = Path(tempfile.mkdtemp(prefix=PREFIX, dir="/tmp"))
    root.chmod(0o755)                      # the postgres user must reach its directory below
    (root / "owner.pid").write_text(f"{os.getpid()}\n")
    return root


# --------------------------------------------------------------------------
# processes marked with CRM_FAULTS_ROOT
# --------------------------------------------------------------------------
def _environ(pid: int) -> bytes:
    try:
        return Path(f"/proc/{pid}/environ").read_bytes()
    except OSError:
        return b""


def marked_pids(root: Path) -> list[int]:
    needle = f"{MARKER}={root}".encode()
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and int(entry.name) != os.getpid():
            if needle in _environ(int(entry.name)).split(b"\0"):
                found.append(int(entry.name))
    return found


def kill_marked(root: Path, timeout: float = 10) -> list[int]:
    """SIGKILL (after SIGCONT, in case one is stopped) every process carrying this root's marker."""
    deadline = time.monotonic() + timeout
    killed: list[int] = []
    while time.monotonic() < deadline:
        pids = marked_pids(root)
        if not pids:
            return killed
        for pid in pids:
            for sig in (signal.SIGCONT, signal.SIGKILL):
                try:
                    os.kill(pid, sig)
                except OSError:
                    pass
            killed.append(pid)
        time.sleep(0.2)
    raise ServerError(f"processes of {root} survive SIGKILL: {marked_pids(root)}")


def pid_alive(pid: int) -> bool:
    """Alive and not a zombie (PID 1 of a container may be slow to reap, or never reap)."""
    try:
        os.kill(pid, 0)
    except OSError:
        return False
    return state(pid) not in ("Z", "X", None)


def sweep_stale() -> list[Path]:
    """Directories of earlier runs whose pytest is gone: end their processes, remove them."""
    swept = []
    for root in Path("/tmp").glob(PREFIX + "*"):
        try:
            owner = int((root / "owner.pid").read_text().strip())
        except (OSError, ValueError):
            owner = None
        if owner is not None and owner != os.getpid() and pid_alive(owner):
            continue
        try:
            kill_marked(root)
        except ServerError:
            continue
        shutil.rmtree(root, ignore_errors=True)
        swept.append(root)
    return swept


def wait_gone(pid: int, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if os.waitpid(pid, os.WNOHANG)[0] == pid:
                return True
        except ChildProcessError:
            if not pid_alive(pid) or state(pid) in ("Z", None):
                return True
        time.sleep(0.05)
    return False


def state(pid: int) -> str | None:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return stat[stat.rindex(")") + 2:].split(" ", 1)[0]


def ppid(pid: int) -> int | None:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return int(stat[stat.rindex(")") + 2:].split(" ")[1])
