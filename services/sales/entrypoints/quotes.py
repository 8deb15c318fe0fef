"""The entrypoints of quotes (报价): records, the approval actions (through the approval engine:
``org=self.org()``, the organisation chart), the customer's answer, and the daily expiry job."""
from __future__ import annotations

from crm_kit.config import env_float
from crm_kit.runtime.entrypoints import rpc
from crm_kit.runtime.jobs import periodic
from services.sales.application import quotes

# How often approved quotes past their valid_until are expired (seconds), once a period across replicas.
EXPIRE_INTERVAL = env_float("SALES_QUOTE_EXPIRY_INTERVAL_SECONDS", 3600.0)


class QuotesEntrypoints:
    """(``SalesService`` derives from it: its methods are the service's entrypoints.)"""

    @rpc
    def create_quote(self, data):
        return quotes.create_quote(self.db, self.principal, data)

    @rpc
    def get_quote(self, quote_id):
        return quotes.get_quote(self.db, self.principal, quote_id)

    @rpc
    def list_quotes(self, query=None):
        return quotes.list_quotes(self.db, self.principal, query)

    @rpc
    def update_quote(self, quote_id, data, expected_version=None):
        return quotes.update_quote(self.db, self.principal, quote_id, data, expected_version)

    @rpc
    def quote_history(self, quote_id, query=None):
        return quotes.quote_history(self.db, self.principal, quote_id, query)

    @rpc
    def submit_quote(self, quote_id, data=None):
        return quotes.submit_quote(self.db, self.principal, self.org(), quote_id, data)

    @rpc
    def approve_quote(self, quote_id, data=None):
        return quotes.approve_quote(self.db, self.principal, self.org(), quote_id, data)

    @rpc
    def reject_quote(self, quote_id, data=None):
        return quotes.reject_quote(self.db, self.principal, self.org(), quote_id, data)

    @rpc
    def withdraw_quote(self, quote_id):
        return quotes.withdraw_quote(self.db, self.principal, quote_id)

    @rpc
    def accept_quote(self, quote_id):
        return quotes.accept_quote(self.db, self.principal, quote_id)

    @rpc
    def decline_quote(self, quote_id, data=None):
        return quotes.decline_quote(self.db, self.principal, quote_id, data)

    @periodic("expire_quotes", every=EXPIRE_INTERVAL)
    def expire_quotes_periodically(self, as_of):
        """Approved quotes past their ``valid_until`` become ``expired`` as of ``as_of``, once per
        ``SALES_QUOTE_EXPIRY_INTERVAL_SECONDS`` across the replicas, as the platform."""
        return quotes.expire_quotes(self.db, as_of)
