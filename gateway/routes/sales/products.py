"""The sales service's routes for products (产品) and price lists (价目表): the catalogue, price
lists and their prices, the CSV import and the streamed CSV export of products. Everyone reads;
only admins write (403)."""
from __future__ import annotations

from gateway.routes.model import Route, body, crud, csv, cursor, query, query_param, version

P = "/api/v1/price-lists/<price_list_id>"

ROUTES = (
    # the import and export before /products/<product_id>: their paths are literal
    Route("POST", "/api/v1/products/import", "sales", "import_products",
          "Import products from CSV (UTF-8, header row; admins): a report per row "
          "(created, updated, duplicate, invalid)", "sales",
          (csv(), query_param("mode", doc="`create` (default): a row whose sku exists is a duplicate; `upsert`: "
                                          "it updates that product with the row's non-empty cells.")),
          response="sales.ProductImportReport", description=(
              "Columns: `sku`, `name`, `unit_price` (required), `category`, `unit`, `currency`, `active`, "
              "`description`; the export's `id`, `created_at`, `updated_at` are skipped, so an exported file "
              "imports again. An empty cell is an absent field. Each row is created, updated (upsert), a "
              "duplicate (`existing_id`: the product with that sku, or an earlier row's) or invalid "
              "(`errors`); an unknown column is a 422 naming it. At most 5,000 rows, one transaction.")),
    Route("GET", "/api/v1/products/export", "sales", "export_products_page",
          "Export the products the list's filters match as CSV (streamed)", "sales", (query(), cursor()),
          query_schema="sales.ProductExportQuery", download="products.csv", description=(
              "Newest first, one row each (the import's column names; cells starting with `=`, `+`, `-` or "
              "`@` are prefixed with `'`). Streamed page by page in id order: none comes twice, products "
              "created once the export has started are not in it; an incomplete transfer is a failed export.")),
    *crud("sales", "/api/v1/products", "product_id", "sales", "product", "products", "Product"),
    *crud("sales", "/api/v1/price-lists", "price_list_id", "sales", "price_list", "price_lists", "PriceList"),
    Route("GET", f"{P}/prices", "sales", "get_price_list_prices", "A price list's prices", "sales",
          response="sales.PriceListPrices"),
    Route("PUT", f"{P}/prices", "sales", "set_price_list_prices",
          "Set every price of a price list, replacing those it had (admins; If-Match: the list's version)",
          "sales", (body(), version()), request="sales.PriceListPricesSet", response="sales.PriceListPrices",
          description="Each `product_id` a known product; one product's periods (`valid_from`..`valid_to`, "
                      "inclusive, empty: open) must not overlap. The list's version goes up."),
)
