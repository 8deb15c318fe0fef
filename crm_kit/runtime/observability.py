"""Metrics and health for Kubernetes probes and Prometheus.

Each service runs a small HTTP server on ``METRICS_PORT``:
- ``/healthz`` liveness: the process and its event loop answer, and its consumers are not
  stuck (``crm_kit.runtime.consumer_health``: a consumer thread that died, or one without a
  connection for ``CONSUMER_STALL_SECONDS`` while the broker accepts connections, fails it);
- ``/readyz`` readiness: its database answers ``SELECT 1``, the broker
  accepts a connection and its consumers are connected (503 with the failing check otherwise);
- ``/metrics`` Prometheus exposition.
It also samples the depth of every queue the service consumes (consumer
lag) and of their dead-letter queues.
"""
from __future__ import annotations

import json
import logging

import eventlet
import eventlet.wsgi
from kombu import Connection
from nameko.extensions import DependencyProvider
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import text

from crm_kit.runtime import metrics
from crm_kit.runtime.amqp import queue_depth
from crm_kit.runtime.consumer_health import consumer_state, watched_consumers

log = logging.getLogger(__name__)

QUEUE_SAMPLE_INTERVAL = 15.0


def check_database(engine) -> tuple[bool, str]:
    try:
        with eventlet.Timeout(3):
            with engine.connect() as conn:
                conn.execute(text("SELECT 1"))
        return True, "ok"
    except BaseException as exc:  # eventlet.Timeout is a BaseException
        return False, f"database: {type(exc).__name__}"


def check_broker(amqp_uri: str) -> tuple[bool, str]:
    try:
        with eventlet.Timeout(3):
            with Connection(amqp_uri, connect_timeout=2) as conn:
                conn.ensure_connection(max_retries=1)
        return True, "ok"
    except BaseException as exc:
        return False, f"broker: {type(exc).__name__}"


class Observability(DependencyProvider):
    def setup(self):
        self.settings = self.container.config["CRM_SETTINGS"]
        self._server = None
        self._threads = []

    def _database(self):
        from crm_kit.runtime.dependencies import Database
        for dep in self.container.dependencies:
            if isinstance(dep, Database):
                return dep
        return None

    def _handler_specs(self):
        return [ep.spec for ep in self.container.entrypoints if hasattr(ep, "spec")]

    def start(self):
        if self.settings.metrics_port:
            sock = eventlet.listen(("0.0.0.0", self.settings.metrics_port))
            self._threads.append(self.container.spawn_managed_thread(
                lambda: eventlet.wsgi.server(sock, self._app, log_output=False), identifier="health-http"))
        self._threads.append(self.container.spawn_managed_thread(self._sample_queues, identifier="queue-sampler"))

    def stop(self):
        for gt in self._threads:
            gt.kill()

    kill = stop

    def readiness(self) -> tuple[bool, dict]:
        checks = {}
        db = self._database()
        if db is not None:
            checks["database"] = check_database(db.engine)[1]
        checks["broker"] = check_broker(self.settings.amqp_uri)[1]
        consumers = watched_consumers(self.container)
        if consumers:
            checks["consumers"] = consumer_state(consumers, checks["broker"] == "ok")[0]
        return all(v == "ok" for v in checks.values()), checks

    def liveness(self) -> tuple[bool, dict]:
        """Alive unless a consumer is stuck (see the module's docstring); the broker is asked only
        when a consumer has been without a connection for a while."""
        consumers = watched_consumers(self.container)
        state, alive = consumer_state(consumers, broker_ok=True)
        if not alive:
            broker_ok = check_broker(self.settings.amqp_uri)[0]
            state, alive = consumer_state(consumers, broker_ok)
        return alive, {"consumers": state} if consumers else {}

    def _app(self, environ, start_response):
        path = environ.get("PATH_INFO", "")
        if path == "/metrics":
            start_response("200 OK", [("Content-Type", CONTENT_TYPE_LATEST)])
            return [generate_latest()]
        if path == "/healthz":
            alive, checks = self.liveness()
            return _json(start_response, 200 if alive else 503,
                         {"status": "ok" if alive else "stuck", "service": self.container.service_name, **checks})
        if path == "/readyz":
            ok, checks = self.readiness()
            return _json(start_response, 200 if ok else 503,
                         {"status": "ok" if ok else "unavailable", "checks": checks})
        return _json(start_response, 404, {"status": "not found"})

    def _sample_queues(self):
        service = self.container.service_name
        while True:
            try:
                with Connection(self.settings.amqp_uri, connect_timeout=2) as conn:
                    for spec in self._handler_specs():
                        depth = queue_depth(conn, spec.name)
                        if depth is not None:
                            metrics.QUEUE_MESSAGES.labels(service, spec.name).set(depth)
                        depth = queue_depth(conn, spec.dlq_name)
                        if depth is not None:
                            metrics.DLQ_MESSAGES.labels(service, spec.dlq_name).set(depth)
            except Exception as exc:
                log.warning("queue sampling failed: %r", exc)
            eventlet.sleep(QUEUE_SAMPLE_INTERVAL)


def _json(start_response, status: int, body: dict):
    reason = {200: "OK", 404: "Not Found", 503: "Service Unavailable"}[status]
    start_response(f"{status} {reason}", [("Content-Type", "application/json")])
    return [json.dumps(body).encode()]
