"""The entrypoint of support's part of the customer's overview (``application.overview``)."""
from __future__ import annotations

from crm_kit.runtime.entrypoints import rpc
from services.support.application import overview


class OverviewEntrypoints:
    """(``SupportService`` derives from it: its methods are the service's entrypoints.)"""

    @rpc
    def customer_tickets(self, customer_id, limit=10):
        return overview.customer_tickets(self.db, self.principal, customer_id, limit)
