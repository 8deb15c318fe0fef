"""The customers service's routes for the CSV import (with contacts, a column mapping, other CRMs'
columns) and the streamed CSV export."""
from __future__ import annotations

from gateway.routes.model import Route, csv, cursor, query, query_param

ROUTES = (
    Route("POST", "/api/v1/customers/import", "customers", "import_customers",
          "Import customers with their contacts from CSV (UTF-8, header row): a report per row "
          "(created, duplicate, invalid)", "customers",
          (csv(), query_param("pool_id", doc="Put the customers in this pool (you manage it), without an owner."),
           query_param("mapping", doc="JSON object {\"source column\": \"our field\" or null (skip it)}, tried "
                                      "before our column names and the Salesforce / WukongCRM aliases.")),
          response="customers.CustomerImportReport", description=(
              "Columns: our field names (`name` is required; `contact_name`, `contact_phone`, ... for the "
              "customer's contact), a `mapping`, or the column names of Salesforce's Account / Contact "
              "exports and of WukongCRM's customer import template, recognised as they are "
              "(services/customers/README.md, *Import and export*). Each row is created (owned by you, or "
              "in `pool_id`), a duplicate (of an existing customer or an earlier row: normalised name, "
              "mobile/telephone, contact phone; `existing_id` names it) or invalid (`errors`); an unknown "
              "column is a 422 naming it. At most 5,000 rows a request.")),
    Route("GET", "/api/v1/customers/export", "customers", "export_customers_page",
          "Export every customer you may see, with the list's views and filters, as CSV with its primary "
          "contact (streamed)", "customers", (query(), cursor()),
          query_schema="customers.CustomerExportQuery", download="customers.csv", description=(
              "Every customer you may see that matches the view and filters (`limit`: only the first rows), "
              "newest first, one row each with its primary contact (`contact_*` columns) and "
              "`contacts_count`; one CSV file (UTF-8, header row; the import's column names, so the file "
              "imports again; cells starting with `=`, `+`, `-` or `@` are prefixed with `'`; a pool's "
              "hidden fields are empty for its members). The body is streamed (chunked) while the gateway "
              "reads the customers page by page, in id order: none comes twice, every one that matches "
              "throughout comes once, and customers created once the export has started are not in it. "
              "Errors found before the first byte are problem+json; a failure after that cuts the transfer "
              "short (the chunked body has no end), so treat an incomplete transfer as a failed export.")),
)
