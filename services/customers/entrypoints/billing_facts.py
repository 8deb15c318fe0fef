"""The entrypoints of billing's facts: confirmed and reversed payments kept as the customer's paid
total and outstanding amount (``application.billing_facts``)."""
from __future__ import annotations

from crm_kit.runtime.entrypoints import event_handler
from services.customers.application import billing_facts
from services.customers.events.consumed import BillingPayment


class BillingFactsEntrypoints:
    """(``CustomersService`` derives from it: its methods are the service's entrypoints.)"""

    @event_handler("billing", "payment_confirmed", payload=BillingPayment)
    def handle_payment_confirmed(self, event):
        billing_facts.on_payment_event(self.db, event, "payment_confirmed")

    @event_handler("billing", "payment_reversed", payload=BillingPayment)
    def handle_payment_reversed(self, event):
        billing_facts.on_payment_event(self.db, event, "payment_reversed")
