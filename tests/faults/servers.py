"""The fault suite's own RabbitMQ node and PostgreSQL cluster.

The suite stops, kills and starves its servers, so it never uses the shared ones on 5672/5432
(other tests run against those at the same time). Everything lives in one directory
(``/tmp/crm-faults-XXXX``, readable by the ``postgres`` user that runs the cluster):

- :class:`RabbitNode` -- a node of its own name (``crmfaults<pid>x<n>@localhost``), AMQP and
  distribution ports, config, enabled-plugins file, data and log directories, and Erlang cookie
  (``HOME`` is the node's directory). It runs the package's inner scripts
  (``/usr/lib/rabbitmq/bin/rabbitmq-server``) as root directly: the Debian wrapper in
  ``/usr/sbin`` would ``su rabbitmq`` and write to ``/var/log/rabbitmq``, and ``/etc/rabbitmq``'s
  env file would rename the node to the shared ``rabbit@localhost``. It uses the machine's epmd.
- :class:`PgCluster` -- ``initdb`` / ``pg_ctl`` of PostgreSQL 15 run as ``postgres``
  (``initdb`` refuses root), trust authentication on 127.0.0.1, its own port and socket directory,
  ``fsync=off`` (a test cluster: the suite kills the clients and stops the server, never the
  machine).

Every process started here carries ``CRM_FAULTS_ROOT=<its directory>`` in its environment;
:func:`kill_marked` ends whatever still carries it (the platform's processes too), and
:func:`sweep_stale` does so for the directories of runs whose pytest died without cleaning up.
"""
from __future__ import annotations

import os
import pwd
import shutil

from tests.faults.pg_cluster import PG_BIN, PgCluster
from tests.faults.procs import MARKER, ServerError, free_port, kill_marked, make_root, marked_pids, sweep_stale  # noqa: F401 (re-exported)
from tests.faults.rabbitmq_node import RABBIT_BIN, RabbitNode

__all__ = ["MARKER", "PgCluster", "RabbitNode", "ServerError", "Servers", "free_port", "kill_marked",
           "marked_pids", "missing_tools"]


def missing_tools() -> str | None:
    """Why this machine cannot run the suite's servers (None: it can)."""
    if os.geteuid() != 0:
        return "the fault suite starts its own RabbitMQ and PostgreSQL as root (runuser -u postgres)"
    for path in (RABBIT_BIN / "rabbitmq-server", RABBIT_BIN / "rabbitmqctl", PG_BIN / "initdb", PG_BIN / "pg_ctl"):
        if not path.exists():
            return f"{path} is not installed"
    if shutil.which("runuser") is None:
        return "runuser is not installed"
    try:
        pwd.getpwnam("postgres")
    except KeyError:
        return "there is no postgres user"
    return None


class Servers:
    """Both servers in one directory; :meth:`close` leaves no process and no file behind."""

    def __init__(self):
        sweep_stale()
        self.root = make_root()
        try:
            self.rabbit = RabbitNode(self.root)
            self.pg = PgCluster(self.root)
            self.rabbit.start()
            self.pg.start()
        except BaseException:
            self.close()
            raise

    def close(self) -> None:
        rabbit, pg = getattr(self, "rabbit", None), getattr(self, "pg", None)
        if pg is not None:
            try:
                pg.stop(mode="immediate", timeout=20)
            except Exception:
                pass
        if rabbit is not None:
            try:
                rabbit.kill()
            except Exception:
                pass
        kill_marked(self.root)
        shutil.rmtree(self.root, ignore_errors=True)
