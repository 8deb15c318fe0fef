"""The billing nameko service. Billing: receivables, payments and their review, aging."""
from __future__ import annotations

from crm_kit.runtime.dependencies import Database
from crm_kit.runtime.service import CrmService
from services.billing.models import Base


class BillingService(CrmService):
    name = "billing"
    db = Database(Base)
