"""The analytics nameko service. Analytics: the read model built from events, and the reports."""
from __future__ import annotations

from crm_kit.runtime.dependencies import Database
from crm_kit.runtime.service import CrmService
from services.analytics.models import Base


class AnalyticsService(CrmService):
    name = "analytics"
    db = Database(Base)
