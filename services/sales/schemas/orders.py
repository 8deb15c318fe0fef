"""An order (销售订单): what creating, editing and each action accept, and how every RPC returns it.

Prices and totals are never taken from the client: a line names a product, a quantity and its
discount; the unit price comes from the product or the price list at order time
(``application.pricing``) and the totals from ``domain.totals``."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

from marshmallow import Schema, ValidationError, fields, validate

from crm_kit.records.schemas import InputSchema, ListQuery, not_blank, page_of, partial_of
from services.sales.domain import payment_plans as plan_rules
from services.sales.domain.orders import STATUSES

MAX_LINES = 200
MAX_QUANTITY = Decimal("1000000000")
CURRENCY = validate.Regexp(r"^[A-Z]{3}$", error="An ISO 4217 code: three capital letters.")
ORDER_SERVER_OWNED = (
    "number", "quote_id", "subtotal", "discount_amount", "total", "paid_amount", "due_date", "submitted_at",
    "approved_at", "rejected_at", "rejected_reason", "cancelled_at", "cancelled_reason", "shipped_at",
    "delivered_at", "late_notified_at", "copied_from_id", "created_by", "fulfilment", "allowed_actions",
    "approval", "payment_plan_status", "payment_plan_instalments")


def _places(places: int):
    def check(value: Decimal | None) -> None:
        if value is not None and value.as_tuple().exponent < -places:
            raise ValidationError(f"At most {places} decimal places.")
    return check


def _id(**kwargs):
    return fields.String(validate=validate.Length(min=1, max=36), **kwargs)


def _when(**kwargs):
    """A time in ISO 8601; one without an offset is taken as UTC."""
    return fields.AwareDateTime(default_timezone=dt.timezone.utc, validate=_plausible_time, **kwargs)


def _plausible_time(value: dt.datetime | None) -> None:
    if value is not None and not 1970 <= value.year <= 2999:
        raise ValidationError("The year must be between 1970 and 2999.")


def _plausible_date(value: dt.date | None) -> None:
    if value is not None and not 1970 <= value.year <= 2999:
        raise ValidationError("The year must be between 1970 and 2999.")


def percent(**kwargs):
    return fields.Decimal(validate=[validate.Range(min=0, max=100), _places(2)], as_string=True, **kwargs)


def money(**kwargs):
    return fields.Decimal(as_string=True, places=2, **kwargs)


class OrderLineIn(Schema):
    """A line: a product, how many, and the line's discount; the price is the server's."""

    class Meta:
        unknown = "raise"

    product_id = _id(required=True)
    quantity = fields.Decimal(required=True, as_string=True, validate=[
        validate.Range(min=0, max=MAX_QUANTITY, min_inclusive=False), _places(3)])
    discount_percent = percent(load_default=Decimal(0), metadata={"description": "0-100, two places"})


class PaymentPlanInstalmentIn(Schema):
    """An instalment of the plan prepared on the order (回款计划): either an ``amount`` or a ``percent``
    of the order's total, and either a ``due_date`` or ``due_days`` after the approval
    (``domain.payment_plans``)."""

    class Meta:
        unknown = "raise"

    amount = fields.Decimal(load_default=None, allow_none=True, as_string=True, validate=[
        validate.Range(min=0, min_inclusive=False), _places(2)], metadata={"description": "In the order's currency."})
    percent = fields.Decimal(load_default=None, allow_none=True, as_string=True, validate=[
        validate.Range(min=0, max=100, min_inclusive=False), _places(2)],
        metadata={"description": "Of the order's total (rounded half up to the cent)."})
    due_date = fields.Date(load_default=None, allow_none=True, validate=_plausible_date)
    due_days = fields.Integer(load_default=None, allow_none=True, validate=validate.Range(
        min=0, max=plan_rules.MAX_DUE_DAYS), metadata={"description": "Due this many days after the approval."})
    remind_days_before = fields.Integer(load_default=None, allow_none=True, validate=validate.Range(
        min=0, max=plan_rules.MAX_REMIND_DAYS), metadata={"description": f"Default {plan_rules.DEFAULT_REMIND_DAYS}."})


class PaymentPlanWrittenOut(Schema):
    """An instalment of the plan as written (stored as JSON: decimals as strings, dates ISO)."""
    amount = fields.String(allow_none=True, metadata={"format": "decimal"})
    percent = fields.String(allow_none=True, metadata={"format": "decimal"})
    due_date = fields.String(allow_none=True, metadata={"format": "date"})
    due_days = fields.Integer(allow_none=True)
    remind_days_before = fields.Integer()


class PaymentPlanInstalmentOut(Schema):
    """An instalment as resolved now: its amount of the current total, its due date (once approved
    for one given as ``due_days``), numbered by due date."""
    number = fields.Integer()
    amount = money()
    due_date = fields.Date(allow_none=True)
    remind_days_before = fields.Integer()


class OrderCreate(InputSchema):
    """A draft order owned by the caller, numbered ``SO-<year>-<counter>``. ``currency``: the order's
    one currency (default: the price list's, else the first product's); every line's price must be
    in it. Totals follow ``domain.totals`` (each line rounded to the cent half up, the order
    discount on the sum, rounded once)."""

    class Meta(InputSchema.Meta):
        server_owned = ORDER_SERVER_OWNED

    customer_id = _id(required=True)
    opportunity_id = _id(load_default=None, allow_none=True)
    contract_id = _id(load_default=None, allow_none=True)
    currency = fields.String(load_default=None, allow_none=True, validate=CURRENCY)
    price_list_id = _id(load_default=None, allow_none=True)
    discount_percent = percent(load_default=Decimal(0), metadata={"description": "Order discount, 0-100"})
    lines = fields.List(fields.Nested(OrderLineIn), required=True, validate=validate.Length(min=1, max=MAX_LINES))
    payment_terms = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=2000))
    due_days = fields.Integer(load_default=None, allow_none=True, validate=validate.Range(min=0, max=3650),
                              metadata={"description": "Payment due this many days after approval."})
    promised_date = fields.Date(load_default=None, allow_none=True, validate=_plausible_date,
                                metadata={"description": "Delivery promised by this day (UTC)."})
    notes = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=2000))
    payment_plan = fields.List(
        fields.Nested(PaymentPlanInstalmentIn), load_default=None, allow_none=True,
        validate=validate.Length(max=plan_rules.MAX_INSTALMENTS), metadata={"description": (
            "The payment plan prepared on the order (回款计划): its instalments add up to the order's total "
            "(422 stating the difference), checked again at submit; live as the receivable's plan once "
            "approved; null or [] for none.")})


OrderUpdate = partial_of(OrderCreate, "OrderUpdate", doc=(
    "Edit a draft or rejected order: only the fields given change (``lines`` replaces every line, "
    "priced again). An approved order takes only ``promised_date`` (until delivered); anything else "
    "is 409 naming the state."))


class OrderSubmit(InputSchema):
    approver_id = _id(load_default=None, allow_none=True, metadata={
        "description": "The approver when no approval flow applies (api.md)."})


class OrderApprove(InputSchema):
    comment = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=2000))


class OrderReject(InputSchema):
    reason = fields.String(required=True, validate=[validate.Length(min=1, max=2000), not_blank])


class OrderCancel(InputSchema):
    reason = fields.String(required=True, validate=[validate.Length(min=1, max=2000), not_blank])


class OrderShip(InputSchema):
    shipped_at = _when(load_default=None, allow_none=True, metadata={"description": "default: now"})


class OrderDeliver(InputSchema):
    delivered_at = _when(load_default=None, allow_none=True, metadata={"description": "default: now"})


class OrderTransfer(InputSchema):
    owner_id = _id(required=True)


class OrderLineOut(Schema):
    id = fields.String()
    position = fields.Integer()
    product_id = fields.String()
    sku = fields.String()
    name = fields.String()
    unit = fields.String()
    quantity = fields.Decimal(as_string=True)
    unit_price = money()
    discount_percent = money()
    line_total = money()
    price_list_id = fields.String(allow_none=True)


class OrderOut(Schema):
    """An order as every RPC returns it, with its lines, its fulfilment phase (an approved order's:
    ``to_ship``, ``shipped``, ``delivered``), the actions allowed now, and its approval (the
    engine's request: state, steps, decisions; null before the first submission)."""
    id = fields.String()
    number = fields.String()
    customer_id = fields.String()
    opportunity_id = fields.String(allow_none=True)
    contract_id = fields.String(allow_none=True)
    quote_id = fields.String(allow_none=True)
    owner_id = fields.String(allow_none=True)
    department_id = fields.String(allow_none=True)
    currency = fields.String()
    price_list_id = fields.String(allow_none=True)
    discount_percent = money()
    subtotal = money()
    discount_amount = money()
    total = money()
    paid_amount = money(metadata={"description": "Paid so far (from billing's events)."})
    payment_terms = fields.String(allow_none=True)
    due_days = fields.Integer(allow_none=True)
    due_date = fields.Date(allow_none=True)
    notes = fields.String(allow_none=True)
    payment_plan = fields.List(fields.Nested(PaymentPlanWrittenOut), allow_none=True, metadata={
        "description": "The plan as written (amount | percent, due_date | due_days, remind_days_before)."})
    payment_plan_status = fields.String(allow_none=True, metadata={"enum": list(plan_rules.PLAN_STATUSES)})
    payment_plan_instalments = fields.List(fields.Nested(PaymentPlanInstalmentOut), allow_none=True)
    status = fields.String(metadata={"enum": list(STATUSES)})
    fulfilment = fields.String(allow_none=True)
    allowed_actions = fields.List(fields.String())
    submitted_at = fields.DateTime(allow_none=True)
    approved_at = fields.DateTime(allow_none=True)
    rejected_at = fields.DateTime(allow_none=True)
    rejected_reason = fields.String(allow_none=True)
    cancelled_at = fields.DateTime(allow_none=True)
    cancelled_reason = fields.String(allow_none=True)
    promised_date = fields.Date(allow_none=True)
    shipped_at = fields.DateTime(allow_none=True)
    delivered_at = fields.DateTime(allow_none=True)
    late_notified_at = fields.DateTime(allow_none=True)
    copied_from_id = fields.String(allow_none=True)
    approval = fields.Dict(allow_none=True)
    lines = fields.List(fields.Nested(OrderLineOut))
    created_by = fields.String(allow_none=True)
    version = fields.Integer()
    created_at = fields.DateTime()
    updated_at = fields.DateTime()


OrderList = page_of(OrderOut)


class OrderListQuery(ListQuery):
    """Orders in the caller's scope, newest first; every filter given must match."""
    status = fields.String(load_default=None, validate=validate.OneOf(STATUSES))
    customer_id = _id(load_default=None)
    owner_id = _id(load_default=None)
    opportunity_id = _id(load_default=None)
    contract_id = _id(load_default=None)
    created_from = _when(load_default=None, metadata={"description": "created at or after"})
    created_to = _when(load_default=None, metadata={"description": "created before"})


class OrderToShipQuery(ListQuery):
    """Approved orders not shipped yet (待发货), in the caller's scope, newest first."""
    customer_id = _id(load_default=None)
    owner_id = _id(load_default=None)


class _LateRun(Schema):
    as_of = _when(load_default=None, allow_none=True)
