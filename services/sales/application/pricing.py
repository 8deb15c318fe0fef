"""Pricing products for a line (orders, quotes, opportunity lines all price through here): the price
a product has on a date, from the price list asked for or the product itself
(``services.sales.domain.pricing``: the rule), never from the client.

``unit_prices`` reads within the caller's session (the unit of work of the use case asking), and
raises ``ValidationFailed`` naming the field: ``price_list_id`` for an unknown list,
``product_id`` (with the id in the message) for an unknown or inactive product, or for a currency
other than the one the list or product gives.
"""
from __future__ import annotations

import datetime as dt

from sqlalchemy import bindparam, select

from crm_kit.errors import ValidationFailed
from services.sales.domain.pricing import ListPrice, PricedProduct, choose_price, list_in_force
from services.sales.models.products import PriceList, PriceListPrice, Product

# (made once; the columns pricing reads, as rows: no Product instances to build and track)
_P = Product.__table__.c
_PRODUCTS = (select(_P.id, _P.sku, _P.name, _P.unit, _P.unit_price, _P.currency, _P.active)
             .where(_P.id.in_(bindparam("ids", expanding=True))))


def unit_prices(session, product_ids: list[str], *, price_list_id: str | None, currency: str | None,
                on: dt.date) -> dict[str, PricedProduct]:
    """``{product_id: PricedProduct}`` for every product id given (duplicates priced once)."""
    ids = list(dict.fromkeys(str(i) for i in product_ids))
    price_list = None
    if price_list_id is not None:
        price_list = session.get(PriceList, price_list_id)
        if price_list is None:
            raise ValidationFailed.from_messages({"price_list_id": [f"Unknown price list {price_list_id}."]})
    if not ids:
        return {}
    products = {p.id: p for p in session.execute(_PRODUCTS, {"ids": ids})}
    for product_id in ids:
        product = products.get(product_id)
        if product is None:
            raise _product_error(f"Unknown product {product_id}.")
        if not product.active:
            raise _product_error(f"Product {product_id} is inactive.")
    applies = price_list is not None and list_in_force(on, price_list.active, price_list.valid_from,
                                                       price_list.valid_to)
    rows: dict[str, list[ListPrice]] = {}
    if applies:
        stmt = select(PriceListPrice).where(PriceListPrice.price_list_id == price_list.id,
                                            PriceListPrice.product_id.in_(ids))
        for row in session.scalars(stmt):
            rows.setdefault(row.product_id, []).append(
                ListPrice(row.id, row.price, row.valid_from, row.valid_to))
    out = {}
    for product_id in ids:
        product = products[product_id]
        price, price_currency, from_list = choose_price(
            product_price=product.unit_price, product_currency=product.currency, on=on,
            list_currency=price_list.currency if price_list is not None else None,
            list_rows=rows.get(product_id, ()), list_applies=applies)
        if currency is not None and price_currency != currency:
            raise _product_error(f"Product {product_id} is priced in {price_currency}, not {currency}.")
        out[product_id] = PricedProduct(
            product_id=product.id, sku=product.sku, name=product.name, unit=product.unit,
            unit_price=price, currency=price_currency,
            price_list_id=price_list.id if from_list else None)
    return out


def _product_error(message: str) -> ValidationFailed:
    return ValidationFailed.from_messages({"product_id": [message]})
