"""The entrypoints of payments: record, read, list, the review (confirm, reject), the refund, history."""
from __future__ import annotations

from crm_kit.runtime.entrypoints import rpc
from services.billing.application import payments, refunds


class PaymentsEntrypoints:
    """(``BillingService`` derives from it: its methods are the service's entrypoints.)"""

    @rpc
    def submit_payment(self, data):
        return payments.submit_payment(self.db, self.principal, data)

    @rpc
    def get_payment(self, payment_id):
        return payments.get_payment(self.db, self.principal, payment_id)

    @rpc
    def list_payments(self, query):
        return payments.list_payments(self.db, self.principal, query)

    @rpc
    def confirm_payment(self, payment_id):
        return payments.confirm_payment(self.db, self.principal, payment_id)

    @rpc
    def reject_payment(self, payment_id, reason=None):
        return payments.reject_payment(self.db, self.principal, payment_id, reason)

    @rpc
    def refund_payment(self, payment_id, reason=None):
        return refunds.refund_payment(self.db, self.principal, payment_id, reason)

    @rpc
    def payment_history(self, payment_id, query=None):
        return payments.payment_history(self.db, self.principal, payment_id, query)
