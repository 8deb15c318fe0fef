"""The entrypoints of support's reactions to customers' events: merges and owner changes."""
from __future__ import annotations

from crm_kit.runtime.entrypoints import event_handler
from services.support.application import customer_events
from services.support.events.consumed_customers import CustomerOwnerChanged, CustomersMerged


class CustomerEventsEntrypoints:
    """(``SupportService`` derives from it: its methods are the service's entrypoints.)"""

    @event_handler("customers", "customers_merged", payload=CustomersMerged)
    def handle_customers_merged(self, merged):
        customer_events.record_customers_merged(self.db, merged)

    @event_handler("customers", "customer_owner_changed", payload=CustomerOwnerChanged)
    def handle_customer_owner_changed(self, changed):
        customer_events.record_customer_owner_changed(self.db, changed)
