"""The entrypoints of opportunities (today: the ``lead_converted`` handler)."""
from __future__ import annotations

from crm_kit.runtime.entrypoints import event_handler
from services.sales.application import lead_conversion
from services.sales.events.consumed import LeadConverted


class OpportunitiesEntrypoints:
    """(``SalesService`` derives from it: its methods are the service's entrypoints.)"""

    @event_handler("leads", "lead_converted", payload=LeadConverted)
    def handle_lead_converted(self, event):
        lead_conversion.on_lead_converted(self.db, event)
