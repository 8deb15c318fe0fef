"""The entrypoints of import of customers with their contacts from CSV, and the streamed CSV export."""
from __future__ import annotations

import os

from crm_kit.runtime.entrypoints import rpc
from services.customers import application

# rows per export page (one RPC reply each); CUSTOMERS_EXPORT_PAGE_SIZE sets it (tests use small pages)
EXPORT_PAGE_SIZE = max(1, int(os.environ.get("CUSTOMERS_EXPORT_PAGE_SIZE", "") or application.EXPORT_PAGE_SIZE))


class ImportsEntrypoints:
    """(``CustomersService`` derives from it: its methods are the service's entrypoints.)"""

    @rpc
    def import_customers(self, csv_text, pool_id=None, mapping=None):
        return application.import_customers(self.db, self.principal, csv_text, pool_id, mapping)

    @rpc
    def export_customers_page(self, query=None, cursor=None):
        return application.export_customers_page(self.db, self.principal, query, cursor, EXPORT_PAGE_SIZE)
