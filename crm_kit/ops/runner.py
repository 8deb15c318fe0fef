"""Run one nameko service (or the gateway) in this process: ``crm serve <name>``."""
from __future__ import annotations

import errno
import logging
import signal


def serve(name: str) -> None:
    from crm_kit.ops.known_warnings import filter_known_warnings
    filter_known_warnings()  # `crm serve` did already; serve() may also be called on its own
    import eventlet
    eventlet.monkey_patch()

    from crm_kit.records.db import make_green
    make_green()

    from nameko.runners import ServiceRunner

    from crm_kit.config import Settings
    from crm_kit.ops.topology import service_class
    from crm_kit.runtime import tracing
    from crm_kit.runtime.logging import configure_logging

    settings = Settings.for_service(name)
    tracing.configure(name)          # on only with OTEL_EXPORTER_OTLP_ENDPOINT (before logging: its fields)
    configure_logging(name, settings.log_level)
    log = logging.getLogger("crm.runner")
    if tracing.enabled:
        log.info("tracing on: spans exported over OTLP/HTTP", extra={"otlp_endpoint": tracing.endpoint()})
    cls = service_class(name)

    runner = ServiceRunner(settings.nameko_config())
    runner.add_service(cls)

    def _sigterm(signum, frame):  # SIGTERM (Kubernetes) behaves like Ctrl-C
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, _sigterm)
    runner.start()
    log.info("service started", extra={"metrics_port": settings.metrics_port})
    runnlet = eventlet.spawn(runner.wait)
    while True:
        try:
            runnlet.wait()
            break
        except OSError as exc:
            if exc.errno == errno.EINTR:
                continue
            raise
        except KeyboardInterrupt:
            log.info("stopping (finishing in-flight workers)")
            try:
                runner.stop()
            except KeyboardInterrupt:
                runner.kill()
            break
    tracing.shutdown()               # export the spans still queued
    log.info("service stopped")
