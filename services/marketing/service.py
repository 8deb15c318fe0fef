"""The marketing nameko service. Marketing: campaigns and their results, segments, surveys, loyalty."""
from __future__ import annotations

from crm_kit.runtime.dependencies import Database
from crm_kit.runtime.service import CrmService
from services.marketing.models import Base


class MarketingService(CrmService):
    name = "marketing"
    db = Database(Base)
