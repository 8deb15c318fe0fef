"""The sales nameko service. Sales: products, opportunities, orders and their approval, contracts, targets.

The pipeline comes with the sales issue; today it records the opportunities asked for
when leads are converted, so none is lost in the meantime."""
from __future__ import annotations

from crm_kit.runtime.dependencies import Database
from crm_kit.runtime.entrypoints import event_handler
from crm_kit.runtime.service import CrmService
from services.sales import application
from services.sales.events import LeadConverted
from services.sales.models import Base


class SalesService(CrmService):
    name = "sales"
    db = Database(Base)

    @event_handler("leads", "lead_converted", payload=LeadConverted)
    def handle_lead_converted(self, event):
        application.on_lead_converted(self.db, event)
