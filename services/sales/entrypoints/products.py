"""The entrypoints of products and price lists: the catalogue, price lists and their prices, the
CSV import and export of products (at once, and as jobs)."""
from __future__ import annotations

from crm_kit.runtime.entrypoints import rpc
from crm_kit.runtime.work_job_runner import work_job
from services.sales.application import product_csv, product_jobs, products


class ProductsEntrypoints:
    """(``SalesService`` derives from it: its methods are the service's entrypoints.)"""

    # -- products --
    @rpc
    def create_product(self, data):
        return products.create_product(self.db, self.principal, data)

    @rpc
    def get_product(self, product_id):
        return products.get_product(self.db, self.principal, product_id)

    @rpc
    def list_products(self, query=None):
        return products.list_products(self.db, self.principal, query)

    @rpc
    def update_product(self, product_id, data, expected_version=None):
        return products.update_product(self.db, self.principal, product_id, data, expected_version)

    @rpc
    def import_products(self, csv_text, mode=None):
        return product_csv.import_products(self.db, self.principal, csv_text, mode)

    @rpc
    def export_products_page(self, query=None, cursor=None):
        return product_csv.export_products_page(self.db, self.principal, query, cursor)

    # -- the import of any size and the export as jobs (crm_kit.runtime.work_jobs; /api/v1/jobs) --
    @work_job(product_jobs.IMPORT_KIND, check=product_jobs.check_import)
    def import_products_job(self, job):
        return product_jobs.import_products_job(self.db, self.principal, job)

    @work_job(product_jobs.EXPORT_KIND, check=product_jobs.check_export)
    def export_products_job(self, job):
        return product_jobs.export_products_job(self.db, self.principal, job)

    # -- price lists --
    @rpc
    def create_price_list(self, data):
        return products.create_price_list(self.db, self.principal, data)

    @rpc
    def get_price_list(self, price_list_id):
        return products.get_price_list(self.db, self.principal, price_list_id)

    @rpc
    def list_price_lists(self, query=None):
        return products.list_price_lists(self.db, self.principal, query)

    @rpc
    def update_price_list(self, price_list_id, data, expected_version=None):
        return products.update_price_list(self.db, self.principal, price_list_id, data, expected_version)

    @rpc
    def get_price_list_prices(self, price_list_id):
        return products.get_price_list_prices(self.db, self.principal, price_list_id)

    @rpc
    def set_price_list_prices(self, price_list_id, data, expected_version=None):
        return products.set_price_list_prices(self.db, self.principal, price_list_id, data, expected_version)
