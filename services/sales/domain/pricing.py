"""Pricing: which price a product has on a date (pure; the use case fetches the rows).

The rule (``choose_price``):

1. a price list is asked for and it is *in force* on the date (active, and the date within its
   ``valid_from`` .. ``valid_to``, both inclusive, an empty bound open): among the list's rows for
   the product whose own ``valid_from`` .. ``valid_to`` holds the date, the one starting latest
   (an open start counts as the earliest; equal starts: the one ending first, then the lowest
   id, so the answer never depends on row order) gives the price, in the list's currency;
2. otherwise the product's own ``unit_price`` in the product's currency.

A currency asked for that differs from the one the rule gives is refused by the use case
(``application.pricing.unit_prices``) naming the product. Prices are ``Decimal``, never float.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal


@dataclass(frozen=True)
class PricedProduct:
    """A product priced on a date: the price a line takes (``price_list_id``: the list that gave
    it, ``None`` when it is the product's own price)."""
    product_id: str
    sku: str
    name: str
    unit: str
    unit_price: Decimal
    currency: str
    price_list_id: str | None = None


@dataclass(frozen=True)
class ListPrice:
    """One row of a price list (``PriceListPrice``), as the rule reads it."""
    id: str
    price: Decimal
    valid_from: dt.date | None = None
    valid_to: dt.date | None = None


def in_period(on: dt.date, valid_from: dt.date | None, valid_to: dt.date | None) -> bool:
    """``on`` within ``valid_from`` .. ``valid_to``, both inclusive; an empty bound is open."""
    return (valid_from is None or valid_from <= on) and (valid_to is None or on <= valid_to)


def list_in_force(on: dt.date, active: bool, valid_from: dt.date | None, valid_to: dt.date | None) -> bool:
    """A price list applies on ``on``: active, and the date within its validity."""
    return bool(active) and in_period(on, valid_from, valid_to)


def valid_list_price(rows, on: dt.date) -> ListPrice | None:
    """The list's row valid on ``on`` (the latest start wins; see the module's rule), or ``None``."""
    valid = [row for row in rows if in_period(on, row.valid_from, row.valid_to)]
    if not valid:
        return None
    return min(valid, key=lambda r: (-(r.valid_from or dt.date.min).toordinal(),
                                     (r.valid_to or dt.date.max).toordinal(), r.id))


def choose_price(*, product_price: Decimal, product_currency: str, on: dt.date,
                 list_currency: str | None = None, list_rows=(), list_applies: bool = False
                 ) -> tuple[Decimal, str, bool]:
    """(price, currency, from_list): the list's price valid on ``on`` when the list applies and
    has one, else the product's own."""
    if list_applies:
        row = valid_list_price(list_rows, on)
        if row is not None:
            return Decimal(row.price), list_currency, True
    return Decimal(product_price), product_currency, False


def overlapping_products(prices) -> list[str]:
    """The product ids (in order of first appearance) with two prices of one list whose periods
    overlap (``prices``: items with ``product_id``, ``valid_from``, ``valid_to``): a list gives a
    product one price on any date."""
    by_product: dict[str, list] = {}
    for price in prices:
        by_product.setdefault(price["product_id"], []).append(
            ((price.get("valid_from") or dt.date.min), (price.get("valid_to") or dt.date.max)))
    out = []
    for product_id, periods in by_product.items():
        periods.sort()
        if any(later[0] <= earlier[1] for earlier, later in zip(periods, periods[1:])):
            out.append(product_id)
    return out
