"""Products (产品) and price lists (价目表): what creating and changing them accepts, how they are
returned, the list filters, the CSV import's report and the export's filters."""
from __future__ import annotations

from marshmallow import RAISE, Schema, ValidationError, fields, validate, validates_schema

from crm_kit.records.schemas import InputSchema, ListQuery, not_blank, page_of, partial_of

CURRENCY = validate.Regexp(r"^[A-Z]{3}$", error="An ISO 4217 code: three capital letters.")
MAX_PRICE = 10 ** 16 - 1          # what the Money column (NUMERIC(18,2)) holds, in whole units
_price = dict(places=2, as_string=True, validate=validate.Range(min=0, max=MAX_PRICE))
_id = validate.Length(min=1, max=36)


def _period_errors(data: dict) -> dict:
    start, end = data.get("valid_from"), data.get("valid_to")
    if start is not None and end is not None and end < start:
        return {"valid_to": ["Must not be before valid_from."]}
    return {}


class ProductCreate(InputSchema):
    """A product of the catalogue (admins only). ``unit_price`` in ``currency`` is its price when no
    price list gives one."""

    class Meta(InputSchema.Meta):
        server_owned = ("created_by", "name_key")

    sku = fields.String(required=True, validate=[validate.Length(min=1, max=64), not_blank],
                        metadata={"description": "unique; kept as written (without surrounding spaces)"})
    name = fields.String(required=True, validate=[validate.Length(min=1, max=200), not_blank])
    category = fields.String(allow_none=True, validate=validate.Length(max=100))
    unit = fields.String(validate=[validate.Length(min=1, max=20), not_blank],
                         metadata={"description": "what one of quantity is: box, set, hour... (default unit)"})
    unit_price = fields.Decimal(required=True, **_price)
    currency = fields.String(validate=CURRENCY, metadata={"description": "ISO 4217 (default CNY)"})
    active = fields.Boolean(metadata={"description": "inactive products cannot be priced on a new line"})
    description = fields.String(allow_none=True, validate=validate.Length(max=2000))


ProductUpdate = partial_of(ProductCreate, "ProductUpdate",
                           doc="Change a product (admins only): only the fields given change. A new price "
                               "applies to lines priced from now on, never to existing ones.")


class ProductOut(Schema):
    id = fields.String()
    sku = fields.String()
    name = fields.String()
    category = fields.String(allow_none=True)
    unit = fields.String()
    unit_price = fields.Decimal(as_string=True, places=2)
    currency = fields.String()
    active = fields.Boolean()
    description = fields.String(allow_none=True)
    created_by = fields.String(allow_none=True)
    version = fields.Integer()
    created_at = fields.DateTime()
    updated_at = fields.DateTime()


ProductList = page_of(ProductOut)


class _ProductFilters(Schema):
    class Meta:
        unknown = RAISE

    active = fields.Boolean(load_default=None, allow_none=True)
    category = fields.String(load_default=None, validate=validate.Length(min=1, max=100))
    q = fields.String(load_default=None, validate=validate.Length(min=1, max=64),
                      metadata={"description": "the start of the name (case and spaces ignored) or of the sku"})


class ProductListQuery(ListQuery, _ProductFilters):
    """Filters of the product list (combined with AND), newest first, keyset-paginated. Everyone
    reads the catalogue."""


class ProductExportQuery(_ProductFilters):
    """The product list's filters: the export has every product they match (newest first), streamed;
    ``limit`` (optional) keeps only the first rows."""
    limit = fields.Integer(load_default=None, allow_none=True, validate=validate.Range(min=1),
                           metadata={"description": "at most this many rows (default: every matching product)"})


class _ProductImportRow(Schema):
    row = fields.Integer(metadata={"description": "line number in the file (header = 1)"})
    outcome = fields.String(metadata={"description": "created | updated | duplicate | invalid"})
    id = fields.String(allow_none=True, metadata={"description": "the product created or updated"})
    existing_id = fields.String(allow_none=True, metadata={
        "description": "the product with this sku (a duplicate; an earlier row's when it is one)"})
    errors = fields.Dict(keys=fields.String(), values=fields.List(fields.String()),
                         metadata={"description": "field -> reasons (invalid rows)"})


class ProductImportReport(Schema):
    """One entry per data row of the file, in file order."""
    created = fields.Integer()
    updated = fields.Integer()
    duplicates = fields.Integer()
    invalid = fields.Integer()
    rows = fields.List(fields.Nested(_ProductImportRow))


# -- price lists -------------------------------------------------------------------------------------
class PriceListCreate(InputSchema):
    """A price list in one currency, valid from / to (inclusive dates; empty: open). Admins only."""

    class Meta(InputSchema.Meta):
        server_owned = ("created_by",)

    name = fields.String(required=True, validate=[validate.Length(min=1, max=200), not_blank])
    currency = fields.String(validate=CURRENCY, metadata={"description": "ISO 4217 (default CNY)"})
    active = fields.Boolean()
    valid_from = fields.Date(allow_none=True)
    valid_to = fields.Date(allow_none=True)
    description = fields.String(allow_none=True, validate=validate.Length(max=2000))

    @validates_schema
    def _period(self, data, partial=None, **kwargs):
        errors = _period_errors(data)
        if errors:
            raise ValidationError(errors)


PriceListUpdate = partial_of(PriceListCreate, "PriceListUpdate",
                             doc="Change a price list (admins only): only the fields given change; the "
                                 "validity holds as changed (valid_to not before valid_from).")


class PriceListOut(Schema):
    id = fields.String()
    name = fields.String()
    currency = fields.String()
    active = fields.Boolean()
    valid_from = fields.Date(allow_none=True)
    valid_to = fields.Date(allow_none=True)
    description = fields.String(allow_none=True)
    created_by = fields.String(allow_none=True)
    version = fields.Integer()
    created_at = fields.DateTime()
    updated_at = fields.DateTime()


PriceListList = page_of(PriceListOut)


class PriceListListQuery(ListQuery):
    """Price lists, newest first; everyone reads them."""
    active = fields.Boolean(load_default=None, allow_none=True)


class PriceListPriceIn(Schema):
    """A product's price in the list, valid from / to (inclusive dates; empty: open)."""

    class Meta:
        unknown = RAISE

    product_id = fields.String(required=True, validate=_id)
    price = fields.Decimal(required=True, **_price)
    valid_from = fields.Date(load_default=None, allow_none=True)
    valid_to = fields.Date(load_default=None, allow_none=True)

    @validates_schema
    def _period(self, data, **kwargs):
        errors = _period_errors(data)
        if errors:
            raise ValidationError(errors)


class PriceListPricesSet(InputSchema):
    """Every price of the list (replacing the ones it had). Periods of one product must not overlap."""
    prices = fields.List(fields.Nested(PriceListPriceIn), required=True, validate=validate.Length(max=5000))


class PriceListPriceOut(Schema):
    id = fields.String()
    product_id = fields.String()
    price = fields.Decimal(as_string=True, places=2)
    valid_from = fields.Date(allow_none=True)
    valid_to = fields.Date(allow_none=True)


class PriceListPricesOut(Schema):
    """A price list's prices, by product then start."""
    price_list_id = fields.String()
    version = fields.Integer(metadata={"description": "the price list's version (setting prices raises it)"})
    prices = fields.List(fields.Nested(PriceListPriceOut))
