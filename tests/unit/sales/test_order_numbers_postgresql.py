"""Order numbers under concurrency on PostgreSQL: orders created at the same time each get their
own number, one after the other, none skipped, none shared (the counter row is locked by the
creating transaction until it ends, ``application/order_numbers.py``), and a refused creation
leaves no gap."""
from __future__ import annotations

import datetime as dt

import eventlet
import pytest

from crm_kit.context import Principal
from crm_kit.errors import ValidationFailed
from services.sales.application import orders, products
from services.sales.models import Base
from tests.unit.conftest import ADMIN

MEMBER = Principal("member-1", "member", "d1", ("d1",))
YEAR = dt.datetime.now(dt.timezone.utc).year


@pytest.fixture
def db(make_db):
    return make_db(Base, "sales", backend="postgresql")


def test_concurrent_orders_take_consecutive_numbers_and_a_failed_one_gives_its_number_back(db):
    product = products.create_product(db.uow(), ADMIN, {"sku": "PRN", "name": "Printer", "unit": "pcs",
                                                        "unit_price": "10.00", "currency": "CNY"})["id"]

    def create(i):
        return orders.create_order(db.uow(), MEMBER, {"customer_id": f"cust-{i}", "lines": [
            {"product_id": product, "quantity": "1"}]})["number"]

    pool = eventlet.GreenPool(8)
    numbers = list(pool.imap(create, range(24)))
    assert sorted(numbers) == [f"SO-{YEAR}-{n:06d}" for n in range(1, 25)]
    with pytest.raises(ValidationFailed):          # an order refused (unknown product) keeps no number
        orders.create_order(db.uow(), MEMBER, {"customer_id": "cust-x", "lines": [
            {"product_id": "no-such-product", "quantity": "1"}]})
    assert create(99) == f"SO-{YEAR}-000025"
