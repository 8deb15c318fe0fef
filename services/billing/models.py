"""Billing' tables (its own database). The kit's outbox and processed_events come with the base."""
from crm_kit.records.db import make_base

Base = make_base()
