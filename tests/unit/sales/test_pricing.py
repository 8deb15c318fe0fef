"""Pricing (``domain.pricing``: the price valid on a date, as a table; ``application.pricing.unit_prices``
on SQLite): a price list's price valid on the date, else the product's own, never the client's;
unknown or inactive products and a currency other than the one priced are refused naming the field."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from crm_kit.errors import ValidationFailed
from crm_kit.ids import new_id
from crm_kit.records.text import normalize_name
from services.sales.application.pricing import unit_prices
from services.sales.domain.pricing import ListPrice, PricedProduct, choose_price, in_period, valid_list_price
from services.sales.models import Base
from services.sales.models.products import PriceList, PriceListPrice, Product

D = dt.date
JAN, FEB, MAR = D(2026, 1, 15), D(2026, 2, 15), D(2026, 3, 15)


@pytest.mark.parametrize("on, valid_from, valid_to, expected", [
    (FEB, None, None, True),
    (FEB, FEB, None, True),            # inclusive start
    (FEB, None, FEB, True),            # inclusive end
    (FEB, MAR, None, False),
    (FEB, None, JAN, False),
    (FEB, JAN, MAR, True),
])
def test_in_period(on, valid_from, valid_to, expected):
    assert in_period(on, valid_from, valid_to) is expected


ROWS = (ListPrice("a", Decimal("90.00")),                                   # open: always
        ListPrice("b", Decimal("80.00"), D(2026, 2, 1), D(2026, 2, 28)),    # February
        ListPrice("c", Decimal("70.00"), D(2026, 2, 10), D(2026, 2, 20)))   # a promotion inside it


@pytest.mark.parametrize("on, rows, expected", [
    (JAN, ROWS, "a"),
    (D(2026, 2, 5), ROWS, "b"),         # the latest start valid that day
    (FEB, ROWS, "c"),
    (D(2026, 2, 21), ROWS, "b"),
    (MAR, ROWS, "a"),
    (MAR, ROWS[1:], None),              # nothing valid: no list price
    (FEB, (ListPrice("y", Decimal("1")), ListPrice("x", Decimal("2"))), "x"),   # a tie: lowest id
    (FEB, (ListPrice("x", Decimal("1"), JAN, None), ListPrice("w", Decimal("2"), JAN, MAR)), "w"),  # ends first
])
def test_valid_list_price(on, rows, expected):
    got = valid_list_price(rows, on)
    assert (got.id if got else None) == expected


@pytest.mark.parametrize("applies, rows, expected", [
    (True, ROWS, (Decimal("70.00"), "USD", True)),
    (True, (), (Decimal("100.00"), "CNY", False)),          # no row: the product's own
    (False, ROWS, (Decimal("100.00"), "CNY", False)),       # the list not in force
])
def test_choose_price(applies, rows, expected):
    assert choose_price(product_price=Decimal("100.00"), product_currency="CNY", on=FEB,
                        list_currency="USD", list_rows=rows, list_applies=applies) == expected


# -- unit_prices on a database ----------------------------------------------------------------------
@pytest.fixture
def db(make_db):
    return make_db(Base, "sales")


def product(session, sku, price, currency="CNY", active=True) -> str:
    p = Product(id=new_id(), sku=sku, name=f"Product {sku}", name_key=normalize_name(f"Product {sku}"),
                unit="box", unit_price=Decimal(price), currency=currency, active=active)
    session.add(p)
    session.flush()
    return p.id


@pytest.fixture
def catalogue(db):
    with db.session() as s:
        ids = {"a": product(s, "A-1", "100.00"), "b": product(s, "B-1", "50.50"),
               "off": product(s, "OFF", "1.00", active=False), "usd": product(s, "U-1", "9.99", "USD")}
        for name, active, vf, vt in (("2026", True, D(2026, 1, 1), D(2026, 12, 31)), ("off", False, None, None)):
            s.add(PriceList(id=name, name=name, currency="CNY", active=active, valid_from=vf, valid_to=vt))
        s.flush()
        s.add_all([PriceListPrice(id=new_id(), price_list_id="2026", product_id=ids["a"], price=Decimal("95.00")),
                   PriceListPrice(id=new_id(), price_list_id="2026", product_id=ids["a"], price=Decimal("80.00"),
                                  valid_from=D(2026, 2, 1), valid_to=D(2026, 2, 28)),
                   PriceListPrice(id=new_id(), price_list_id="off", product_id=ids["a"], price=Decimal("1.00"))])
        s.commit()
    return ids


@pytest.mark.parametrize("price_list_id, on, a_price, a_list", [
    (None, FEB, "100.00", None),           # no list: the product's price
    ("2026", JAN, "95.00", "2026"),
    ("2026", FEB, "80.00", "2026"),        # the row valid that day
    ("2026", D(2027, 1, 1), "100.00", None),   # the list out of its validity
    ("off", FEB, "100.00", None),          # an inactive list
])
def test_unit_prices(db, catalogue, price_list_id, on, a_price, a_list):
    with db.session() as s:
        got = unit_prices(s, [catalogue["a"], catalogue["b"], catalogue["a"]], price_list_id=price_list_id,
                          currency="CNY", on=on)
    assert set(got) == {catalogue["a"], catalogue["b"]}
    assert got[catalogue["a"]] == PricedProduct(catalogue["a"], "A-1", "Product A-1", "box", Decimal(a_price),
                                                "CNY", a_list)
    assert got[catalogue["b"]].unit_price == Decimal("50.50") and got[catalogue["b"]].price_list_id is None
    assert isinstance(got[catalogue["a"]].unit_price, Decimal)


def test_currency_defaults_to_what_prices(db, catalogue):
    with db.session() as s:
        got = unit_prices(s, [catalogue["usd"]], price_list_id=None, currency=None, on=FEB)
    assert got[catalogue["usd"]].currency == "USD" and got[catalogue["usd"]].unit_price == Decimal("9.99")


@pytest.mark.parametrize("key, price_list_id, currency, field", [
    ("missing", None, "CNY", "product_id"),
    ("off", None, "CNY", "product_id"),
    ("usd", None, "CNY", "product_id"),           # priced in USD, CNY asked
    ("a", "2026", "USD", "product_id"),           # the list's currency is CNY
    ("a", "nope", "CNY", "price_list_id"),
])
def test_refusals(db, catalogue, key, price_list_id, currency, field):
    product_id = catalogue.get(key, "no-such-product")
    with db.session() as s, pytest.raises(ValidationFailed) as exc:
        unit_prices(s, [product_id], price_list_id=price_list_id, currency=currency, on=FEB)
    assert list(exc.value.errors) == [field]
    if field == "product_id":
        assert product_id in exc.value.errors[field][0]


def test_nothing_to_price(db, catalogue):
    with db.session() as s:
        assert unit_prices(s, [], price_list_id=None, currency="CNY", on=FEB) == {}
