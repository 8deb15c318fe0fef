"""A quote (报价): what creating, editing and each action accept, and how every RPC returns it.

Prices and totals are never taken from the client: a line names a product, a quantity and its
discount; the unit price comes from the price list or the product (``application.pricing``) when
the quote is created or its lines edited, and the totals from ``domain.totals``."""
from __future__ import annotations

from decimal import Decimal

from marshmallow import Schema, ValidationError, fields, validate

from crm_kit.records.schemas import InputSchema, ListQuery, not_blank, page_of, partial_of
from services.sales.domain.quotes import STATUSES
from services.sales.schemas.products import CURRENCY

MAX_LINES = 200
MAX_QUANTITY = Decimal("1000000000")
QUOTE_SERVER_OWNED = ("number", "subtotal", "discount_amount", "total", "order_id", "submitted_at",
                      "approved_at", "closed_at", "decline_reason", "created_by", "approval")


def _places(places: int):
    def check(value: Decimal | None) -> None:
        if value is not None and value.as_tuple().exponent < -places:
            raise ValidationError(f"At most {places} decimal places.")
    return check


def _id(**kwargs):
    return fields.String(validate=validate.Length(min=1, max=36), **kwargs)


def _percent(**kwargs):
    return fields.Decimal(validate=[validate.Range(min=0, max=100), _places(2)], as_string=True, **kwargs)


def _money(**kwargs):
    return fields.Decimal(as_string=True, places=2, **kwargs)


def _text(**kwargs):
    return fields.String(load_default=None, allow_none=True, validate=validate.Length(max=2000), **kwargs)


class QuoteLineIn(Schema):
    """A line: a product, how many, and the line's discount; the price is the server's."""

    class Meta:
        unknown = "raise"

    product_id = _id(required=True)
    quantity = fields.Decimal(required=True, as_string=True, validate=[
        validate.Range(min=0, max=MAX_QUANTITY, min_inclusive=False), _places(3)])
    discount_percent = _percent(load_default=Decimal(0), metadata={"description": "0-100, two places"})


class QuoteCreate(InputSchema):
    """A draft quote for an opportunity (one the caller sees, neither lost nor invalid), owned by the
    caller, numbered ``QT-<year>-<counter>``.
    ``currency``: the quote's one currency (default: the price list's, else the first product's);
    every line's price must be in it. ``valid_until``: the last day the customer may accept it (not
    in the past; default 30 days from today)."""

    class Meta(InputSchema.Meta):
        server_owned = QUOTE_SERVER_OWNED

    opportunity_id = _id(required=True)
    customer_id = _id(load_default=None, allow_none=True, metadata={
        "description": "default: the opportunity's customer (one given must be it)"})
    currency = fields.String(load_default=None, allow_none=True, validate=CURRENCY)
    price_list_id = _id(load_default=None, allow_none=True)
    discount_percent = _percent(load_default=Decimal(0), metadata={"description": "The quote's discount, 0-100"})
    lines = fields.List(fields.Nested(QuoteLineIn), required=True, validate=validate.Length(min=1, max=MAX_LINES))
    valid_until = fields.Date(load_default=None, allow_none=True)
    note = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=500))


QuoteUpdate = partial_of(QuoteCreate, "QuoteUpdate", exclude=("opportunity_id", "customer_id"), doc=(
    "Edit a draft or rejected quote: only the fields given change (``lines`` replaces every line; the "
    "lines are priced again, today, whenever lines, price list or currency change). Anything else is "
    "409 naming the state."))


class QuoteSubmit(InputSchema):
    approver_id = _id(load_default=None, allow_none=True, metadata={
        "description": "The approver when no approval flow applies (as orders' submit)."})


class QuoteApprove(InputSchema):
    comment = _text()


class QuoteReject(InputSchema):
    reason = fields.String(required=True, validate=[validate.Length(min=1, max=2000), not_blank])


class QuoteDecline(InputSchema):
    reason = _text(metadata={"description": "why the customer declined"})


class QuoteLineOut(Schema):
    id = fields.String()
    position = fields.Integer()
    product_id = fields.String()
    sku = fields.String()
    name = fields.String()
    unit = fields.String()
    quantity = fields.Decimal(as_string=True)
    unit_price = _money()
    discount_percent = _money()
    line_total = _money()
    price_list_id = fields.String(allow_none=True)


class QuoteOut(Schema):
    """A quote as every RPC returns it, with its lines and its approval (the engine's request: state,
    steps, decisions; null before the first submission). ``status`` is ``expired`` for an approved
    quote past its ``valid_until`` even before the daily job records it."""
    id = fields.String()
    number = fields.String()
    opportunity_id = fields.String()
    customer_id = fields.String()
    owner_id = fields.String(allow_none=True)
    department_id = fields.String(allow_none=True)
    status = fields.String(metadata={"enum": list(STATUSES)})
    currency = fields.String()
    price_list_id = fields.String(allow_none=True)
    discount_percent = _money()
    subtotal = _money()
    discount_amount = _money()
    total = _money()
    valid_until = fields.Date()
    note = fields.String(allow_none=True)
    decline_reason = fields.String(allow_none=True)
    order_id = fields.String(allow_none=True, metadata={"description": "the draft order it became (accepted)"})
    submitted_at = fields.DateTime(allow_none=True)
    approved_at = fields.DateTime(allow_none=True)
    closed_at = fields.DateTime(allow_none=True)
    approval = fields.Dict(allow_none=True)
    lines = fields.List(fields.Nested(QuoteLineOut))
    created_by = fields.String(allow_none=True)
    version = fields.Integer()
    created_at = fields.DateTime()
    updated_at = fields.DateTime()


QuoteList = page_of(QuoteOut)


class QuoteListQuery(ListQuery):
    """Quotes in the caller's scope, newest first; every filter given must match (``status``: as
    stored: an approved quote past its date lists as approved until the daily job expires it)."""
    status = fields.String(load_default=None, validate=validate.OneOf(STATUSES))
    opportunity_id = _id(load_default=None)
    customer_id = _id(load_default=None)
    owner_id = _id(load_default=None)


class QuoteHistoryQuery(ListQuery):
    """``limit`` and ``cursor`` of a quote's history (newest first)."""
