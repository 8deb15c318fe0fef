"""The fault suite's own PostgreSQL cluster (see ``tests/faults/servers.py``)."""
from __future__ import annotations

import os
import pwd
import signal
import subprocess
from pathlib import Path

from tests.faults.procs import MARKER, ServerError, free_port, pid_alive, port_open, ppid, wait_gone

PG_BIN = Path(os.environ.get("CRM_FAULTS_PG_BIN", "/usr/lib/postgresql/15/bin"))


class PgCluster:
    def __init__(self, root: Path):
        self.root = root
        self.dir = root / "postgresql"
        self.dir.mkdir(parents=True, exist_ok=True)
        self.data = self.dir / "data"
        self.port = free_port()
        user = pwd.getpwnam("postgres")
        os.chown(self.dir, user.pw_uid, user.pw_gid)
        self._initdb()

    @property
    def url_base(self) -> str:
        return f"postgresql+psycopg2://postgres@127.0.0.1:{self.port}"

    def dsn(self, dbname: str = "postgres") -> str:
        return f"host=127.0.0.1 port={self.port} user=postgres dbname={dbname} connect_timeout=5"

    def _run(self, *args: str, timeout: float = 120, check: bool = True) -> subprocess.CompletedProcess:
        env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
        env[MARKER] = str(self.root)
        proc = subprocess.run(["runuser", "-u", "postgres", "--", *args], env=env, cwd=self.dir,
                              capture_output=True, text=True, timeout=timeout)
        if check and proc.returncode != 0:
            raise ServerError(f"{' '.join(args)}: {proc.returncode}\n{proc.stdout}{proc.stderr}")
        return proc

    def _initdb(self) -> None:
        self._run(str(PG_BIN / "initdb"), "-D", str(self.data), "-U", "postgres", "--auth=trust", "-E", "UTF8",
                  "--locale=C.UTF-8", "--no-sync")
        with open(self.data / "postgresql.conf", "a") as conf:
            conf.write("\n".join([
                "", "# the fault suite's cluster",
                f"port = {self.port}",
                "listen_addresses = '127.0.0.1'",
                f"unix_socket_directories = '{self.dir}'",
                "max_connections = 400",
                "shared_buffers = 64MB",
                "fsync = off", "synchronous_commit = off", "full_page_writes = off",
                "log_min_messages = warning",
                "",
            ]))

    def start(self, timeout: float = 60) -> "PgCluster":
        if self.running():
            return self
        self._run(str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-l", str(self.dir / "server.log"), "-w",
                  "-t", str(int(timeout)), "start", timeout=timeout + 10)
        return self

    def postmaster_pid(self) -> int | None:
        try:
            pid = int((self.data / "postmaster.pid").read_text().split("\n", 1)[0])
        except (OSError, ValueError):
            return None
        return pid if pid_alive(pid) else None

    def running(self) -> bool:
        return self.postmaster_pid() is not None and port_open(self.port)

    def stop(self, mode: str = "fast", timeout: float = 60) -> None:
        """``pg_ctl stop -m fast``: open sessions are terminated, new ones refused."""
        if self.postmaster_pid() is None:
            return
        self._run(str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "-t", str(int(timeout)), "stop",
                  timeout=timeout + 10, check=False)
        if self.postmaster_pid() is not None:
            self.kill()

    def kill(self) -> None:
        """kill -9 of the postmaster and its backends."""
        pid = self.postmaster_pid()
        if pid is None:
            return
        children = [int(p.name) for p in Path("/proc").iterdir() if p.name.isdigit() and ppid(int(p.name)) == pid]
        for victim in [pid] + children:
            try:
                os.kill(victim, signal.SIGKILL)
            except OSError:
                pass
        for victim in [pid] + children:
            wait_gone(victim, 30)
        # Left behind by a kill; a zombie postmaster (not reaped yet) would otherwise look alive to the next start.
        (self.data / "postmaster.pid").unlink(missing_ok=True)
        for lock in self.dir.glob(".s.PGSQL.*"):
            lock.unlink(missing_ok=True)

    def server_log(self) -> str:
        path = self.dir / "server.log"
        return path.read_text(errors="replace") if path.exists() else ""
