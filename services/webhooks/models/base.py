"""Webhooks' declarative base: its own database, with the kit's tables (outbox, processed_events,
handled_requests, job_runs, audit_log)."""
from crm_kit.records.db import make_base

Base = make_base()
