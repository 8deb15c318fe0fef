"""Line and order totals: the one rounding rule of sales (orders, quotes, opportunity lines).

The rule
--------
1. A line's total is ``quantity × unit_price × (100 − discount_percent) / 100``, computed exactly
   (a 60-digit context: nothing is rounded on the way) and then rounded **once** to the cent,
   ``ROUND_HALF_UP`` (0.005 → 0.01).
2. The order's subtotal is the plain sum of those rounded line totals (exact: no rounding).
3. The order discount is ``subtotal × order_discount_percent / 100`` rounded **once** to the
   cent, ``ROUND_HALF_UP``.
4. The total is ``subtotal − discount`` (exact).

So a total is always a whole number of cents, is never negative (quantities, prices and
discounts are never negative and a discount never exceeds 100 %), never exceeds its subtotal,
and is exactly the sum of its lines minus one rounded order discount. Every currency is kept to
two decimals (the ``Money`` column is ``NUMERIC(18,2)``); one order has one currency and lines
in another are refused (``check_one_currency``). Money is ``Decimal`` everywhere, never float.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, localcontext
from typing import NamedTuple

from crm_kit.errors import ValidationFailed

CENT = Decimal("0.01")
HUNDRED = Decimal(100)
ZERO = Decimal("0.00")
MAX_DISCOUNT_PERCENT = Decimal(100)
# the Money column holds 16 digits before the point; a line or an order beyond it is refused
MAX_AMOUNT = Decimal("9999999999999999.99")


def to_cents(value: Decimal) -> Decimal:
    """``value`` rounded to the cent, half up (the one rounding step of the rule)."""
    return Decimal(value).quantize(CENT, rounding=ROUND_HALF_UP)


def _decimal(value, field: str) -> Decimal:
    if isinstance(value, float):
        raise ValidationFailed.from_messages({field: ["Must be a decimal, not a float."]})
    try:
        number = Decimal(value if value is not None else "0")
    except (ArithmeticError, TypeError, ValueError):
        raise ValidationFailed.from_messages({field: ["Not a valid number."]}) from None
    if not number.is_finite():
        raise ValidationFailed.from_messages({field: ["Not a valid number."]})
    return number


def _percent(value, field: str) -> Decimal:
    percent = _decimal(value, field)
    if percent < 0 or percent > MAX_DISCOUNT_PERCENT:
        raise ValidationFailed.from_messages({field: ["Must be between 0 and 100."]})
    return percent


def line_total(quantity, unit_price, discount_percent=0) -> Decimal:
    """One line's total under the rule (step 1): exact product, rounded once, half up."""
    quantity = _decimal(quantity, "quantity")
    unit_price = _decimal(unit_price, "unit_price")
    percent = _percent(discount_percent, "discount_percent")
    if quantity < 0:
        raise ValidationFailed.from_messages({"quantity": ["Must not be negative."]})
    if unit_price < 0:
        raise ValidationFailed.from_messages({"unit_price": ["Must not be negative."]})
    with localcontext() as ctx:
        ctx.prec = 60
        exact = quantity * unit_price * (HUNDRED - percent) / HUNDRED
        total = exact.quantize(CENT, rounding=ROUND_HALF_UP)
    if total > MAX_AMOUNT:
        raise ValidationFailed.from_messages({"quantity": ["The line total is too large."]})
    return total


@dataclass(frozen=True)
class Line:
    """What a line's total is computed from."""
    quantity: Decimal
    unit_price: Decimal
    discount_percent: Decimal = Decimal(0)

    @property
    def total(self) -> Decimal:
        return line_total(self.quantity, self.unit_price, self.discount_percent)


class Totals(NamedTuple):
    subtotal: Decimal
    discount: Decimal
    total: Decimal

    @property
    def discount_amount(self) -> Decimal:
        return self.discount


def _total_of(line) -> Decimal:
    """A line given as its rounded total (Decimal), a mapping or an object with quantity,
    unit_price and discount_percent."""
    if isinstance(line, Decimal | int | str):
        return to_cents(_decimal(line, "line_total"))
    if isinstance(line, Mapping):
        return line_total(line["quantity"], line["unit_price"], line.get("discount_percent") or 0)
    return line_total(line.quantity, line.unit_price, getattr(line, "discount_percent", None) or 0)


def order_totals(lines: Iterable, order_discount_percent=0) -> Totals:
    """Subtotal (sum of rounded lines), order discount (rounded once), total (steps 2-4)."""
    percent = _percent(order_discount_percent, "discount_percent")
    subtotal = sum((_total_of(line) for line in lines), ZERO)
    if subtotal < 0:
        raise ValidationFailed.from_messages({"lines": ["A line total must not be negative."]})
    if subtotal > MAX_AMOUNT:
        raise ValidationFailed.from_messages({"lines": ["The order total is too large."]})
    with localcontext() as ctx:
        ctx.prec = 60
        discount = (subtotal * percent / HUNDRED).quantize(CENT, rounding=ROUND_HALF_UP)
    return Totals(subtotal=to_cents(subtotal), discount=discount, total=to_cents(subtotal - discount))


def check_one_currency(order_currency: str, line_currencies: Iterable[tuple[str, str | None]]) -> None:
    """One currency per order: every ``(product_id, currency)`` priced must be the order's."""
    errors = {}
    for product_id, currency in line_currencies:
        if currency and currency != order_currency:
            errors.setdefault("lines", []).append(
                f"Product {product_id} is priced in {currency}, the order is in {order_currency}.")
    if errors:
        raise ValidationFailed.from_messages(errors, "An order has one currency.")
