"""The support nameko service. Support: tickets, SLAs, satisfaction, knowledge base."""
from __future__ import annotations

from crm_kit.runtime.dependencies import Database
from crm_kit.runtime.service import CrmService
from services.support.models import Base


class SupportService(CrmService):
    name = "support"
    db = Database(Base)
