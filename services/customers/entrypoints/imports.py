"""The entrypoints of import of customers with their contacts from CSV, and the streamed CSV export;
both as jobs too (``application/jobs.py``)."""
from __future__ import annotations

import os

from crm_kit.runtime.entrypoints import rpc
from crm_kit.runtime.work_job_runner import work_job
from services.customers import application
from services.customers.application import jobs

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

    # -- the import of any size and the export as jobs (crm_kit.runtime.work_jobs; /api/v1/jobs) --
    @work_job(jobs.IMPORT_KIND, check=jobs.check_import)
    def import_customers_job(self, job):
        return jobs.import_customers_job(self.db, self.principal, job)

    @work_job(jobs.EXPORT_KIND, check=jobs.check_export)
    def export_customers_job(self, job):
        return jobs.export_customers_job(self.db, self.principal, job)

    @work_job(jobs.BULK_ASSIGN_KIND, check=jobs.check_bulk_assign)
    def bulk_assign_customers_job(self, job):
        return jobs.bulk_assign_job(self.db, self.principal, job)
