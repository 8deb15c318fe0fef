"""JSON log lines carrying the request id of whatever caused them (and, when tracing is on, the
``trace_id`` and ``span_id`` of the span they were written in: ``crm_kit.runtime.tracing``)."""
from __future__ import annotations

import logging
import sys

from pythonjsonlogger.json import JsonFormatter

from crm_kit.context import current_principal, current_request_id
from crm_kit.runtime import tracing


class ContextFilter(logging.Filter):
    def __init__(self, service: str):
        super().__init__()
        self.service = service

    def filter(self, record: logging.LogRecord) -> bool:
        record.service = self.service
        if not getattr(record, "request_id", None):
            record.request_id = current_request_id()
        principal = current_principal()
        record.user_id = principal.user_id if principal else None
        if tracing.enabled:
            ids = tracing.current_ids()
            record.trace_id, record.span_id = ids if ids else (None, None)
        return True


def configure_logging(service: str, level: str = "INFO", stream=None) -> None:
    handler = logging.StreamHandler(stream or sys.stdout)
    fields = "%(asctime)s %(levelname)s %(name)s %(message)s %(service)s %(request_id)s %(user_id)s"
    if tracing.enabled:          # (tracing.configure runs first)
        fields += " %(trace_id)s %(span_id)s"
    handler.setFormatter(JsonFormatter(
        fields,
        rename_fields={"asctime": "ts", "levelname": "level", "name": "logger"},
        timestamp=False,
    ))
    handler.addFilter(ContextFilter(service))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # nameko and kombu are chatty at INFO about connections; keep warnings.
    for noisy in ("kombu", "amqp", "nameko"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, logging.getLevelName(level)))
    # crm_kit.runtime.entrypoints logs worker errors once, with an error id; nameko would repeat them.
    logging.getLogger("nameko.containers").setLevel(logging.ERROR)
