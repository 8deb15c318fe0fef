"""The entrypoints of merging duplicates and the customer's overview. (The deal status and summary
are kept by ``application.apply_business_fact``, which the handlers of sales' and billing's events
will call once those contexts publish them: no handler listens for an event nobody publishes.)"""
from __future__ import annotations

from crm_kit.runtime.entrypoints import rpc
from services.customers import application


class MergeEntrypoints:
    """(``CustomersService`` derives from it: its methods are the service's entrypoints.)"""

    @rpc
    def merge_customers(self, customer_id, duplicate_id):
        return application.merge_customers(self.db, self.principal, customer_id, duplicate_id)

    @rpc
    def customer_overview(self, customer_id):
        return application.customer_overview(self.db, self.principal, customer_id)
