"""The entrypoints of invoices: request, read, list, finance's review (approve, reject), issue, void,
history."""
from __future__ import annotations

from crm_kit.runtime.entrypoints import rpc
from services.billing.application import invoices


class InvoicesEntrypoints:
    """(``BillingService`` derives from it: its methods are the service's entrypoints.)"""

    @rpc
    def request_invoice(self, data):
        return invoices.request_invoice(self.db, self.principal, data)

    @rpc
    def get_invoice(self, invoice_id):
        return invoices.get_invoice(self.db, self.principal, invoice_id)

    @rpc
    def list_invoices(self, query):
        return invoices.list_invoices(self.db, self.principal, query)

    @rpc
    def approve_invoice(self, invoice_id):
        return invoices.approve_invoice(self.db, self.principal, invoice_id)

    @rpc
    def reject_invoice(self, invoice_id, reason=None):
        return invoices.reject_invoice(self.db, self.principal, invoice_id, reason)

    @rpc
    def issue_invoice(self, invoice_id):
        return invoices.issue_invoice(self.db, self.principal, invoice_id)

    @rpc
    def void_invoice(self, invoice_id, reason=None):
        return invoices.void_invoice(self.db, self.principal, invoice_id, reason)

    @rpc
    def invoice_history(self, invoice_id, query=None):
        return invoices.invoice_history(self.db, self.principal, invoice_id, query)
