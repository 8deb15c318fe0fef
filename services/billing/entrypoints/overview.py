"""The entrypoint of billing's part of the customer's overview (``application.overview``)."""
from __future__ import annotations

from crm_kit.runtime.entrypoints import rpc
from services.billing.application import overview


class OverviewEntrypoints:
    """(``BillingService`` derives from it: its methods are the service's entrypoints.)"""

    @rpc
    def customer_receivables(self, customer_id, limit=10):
        return overview.customer_receivables(self.db, self.principal, customer_id, limit)
