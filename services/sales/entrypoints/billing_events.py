"""The entrypoints of sales' reactions to billing's events: confirmed and reversed payments kept as
the targets' collected amount (``application.collections``)."""
from __future__ import annotations

from crm_kit.runtime.entrypoints import event_handler
from services.sales.application import collections
from services.sales.events.consumed_billing import BillingPayment


class BillingEventsEntrypoints:
    """(``SalesService`` derives from it: its methods are the service's entrypoints.)"""

    @event_handler("billing", "payment_confirmed", payload=BillingPayment)
    def handle_payment_confirmed(self, event):
        collections.on_payment_event(self.db, event, "payment_confirmed")

    @event_handler("billing", "payment_reversed", payload=BillingPayment)
    def handle_payment_reversed(self, event):
        collections.on_payment_event(self.db, event, "payment_reversed")
