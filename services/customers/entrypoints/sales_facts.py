"""The entrypoints of sales' facts: sales' opportunity, order and contract events kept as the
customer's deal status and summary (``application.sales_facts``)."""
from __future__ import annotations

from crm_kit.runtime.entrypoints import event_handler
from services.customers.application import sales_facts
from services.customers.events.consumed import SalesContractSigned, SalesOpportunity, SalesOrder


class SalesFactsEntrypoints:
    """(``CustomersService`` derives from it: its methods are the service's entrypoints.)"""

    @event_handler("sales", "opportunity_created", payload=SalesOpportunity)
    def handle_opportunity_created(self, event):
        sales_facts.on_opportunity_event(self.db, event)

    @event_handler("sales", "opportunity_updated", payload=SalesOpportunity)
    def handle_opportunity_updated(self, event):
        sales_facts.on_opportunity_event(self.db, event)

    @event_handler("sales", "opportunity_stage_changed", payload=SalesOpportunity)
    def handle_opportunity_stage_changed(self, event):
        sales_facts.on_opportunity_event(self.db, event)

    @event_handler("sales", "opportunity_won", payload=SalesOpportunity)
    def handle_opportunity_won(self, event):
        sales_facts.on_opportunity_event(self.db, event)

    @event_handler("sales", "opportunity_lost", payload=SalesOpportunity)
    def handle_opportunity_lost(self, event):
        sales_facts.on_opportunity_event(self.db, event)

    @event_handler("sales", "order_submitted", payload=SalesOrder)
    def handle_order_submitted(self, event):
        sales_facts.on_order_submitted(self.db, event)

    @event_handler("sales", "order_approved", payload=SalesOrder)
    def handle_order_approved(self, event):
        sales_facts.on_order_approved(self.db, event)

    @event_handler("sales", "order_rejected", payload=SalesOrder)
    def handle_order_rejected(self, event):
        sales_facts.on_order_rejected(self.db, event)

    @event_handler("sales", "order_cancelled", payload=SalesOrder)
    def handle_order_cancelled(self, event):
        sales_facts.on_order_cancelled(self.db, event)

    @event_handler("sales", "contract_signed", payload=SalesContractSigned)
    def handle_contract_signed(self, event):
        sales_facts.on_contract_signed(self.db, event)
