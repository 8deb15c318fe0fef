"""Products and price lists (``application.products``) and their CSV import / export
(``application.product_csv``) on SQLite: everyone reads, admins write; unique sku and name; the
version on updates; the list filters and pages; a list's prices set at once; a per-row import report
and an export that imports again."""
from __future__ import annotations

import csv
import io
from decimal import Decimal

import pytest

from crm_kit.errors import Duplicate, Forbidden, NotFound, StaleVersion, ValidationFailed
from services.sales.application import product_csv, products
from services.sales.models import Base
from tests.unit.conftest import ADMIN, MANAGER_D1, MEMBER_1


@pytest.fixture
def db(make_db):
    return make_db(Base, "sales")


def product(db, **data) -> dict:
    return products.create_product(db.uow(), ADMIN, {"sku": "SKU-1", "name": "Printer", "unit_price": "1999.00",
                                                     **data})


def test_create_read_and_defaults(db):
    got = product(db, category="Office", description="A4")
    assert got["unit_price"] == "1999.00" and got["currency"] == "CNY" and got["unit"] == "unit"
    assert got["active"] is True and got["version"] == 1 and got["created_by"] == ADMIN.user_id
    for principal in (ADMIN, MANAGER_D1, MEMBER_1):
        assert products.get_product(db.uow(), principal, got["id"])["sku"] == "SKU-1"
    with pytest.raises(NotFound):
        products.get_product(db.uow(), MEMBER_1, "nope")


@pytest.mark.parametrize("action", ["create", "update"])
@pytest.mark.parametrize("principal", [MANAGER_D1, MEMBER_1])
def test_only_admins_write_products(db, principal, action):
    existing = product(db)
    with pytest.raises(Forbidden):
        if action == "create":
            products.create_product(db.uow(), principal, {"sku": "X", "name": "X", "unit_price": "1.00"})
        else:
            products.update_product(db.uow(), principal, existing["id"], {"name": "Y"})


def test_sku_is_unique(db):
    first = product(db)
    with pytest.raises(Duplicate) as exc:
        product(db, name="Other")
    assert exc.value.extra["existing_id"] == first["id"] and exc.value.extra["field"] == "sku"
    other = product(db, sku="SKU-2")
    with pytest.raises(Duplicate):
        products.update_product(db.uow(), ADMIN, other["id"], {"sku": " SKU-1 "})


@pytest.mark.parametrize("data, field", [
    ({"sku": " "}, "sku"),
    ({"sku": "x" * 65}, "sku"),
    ({"unit_price": "-1.00"}, "unit_price"),
    ({"unit_price": "abc"}, "unit_price"),
    ({"currency": "rmb"}, "currency"),
    ({"name": ""}, "name"),
    ({"name_key": "x"}, "name_key"),
    ({"version": 3}, "version"),
    ({"id": "mine"}, "id"),
])
def test_what_a_product_may_not_be(db, data, field):
    with pytest.raises(ValidationFailed) as exc:
        product(db, **data)
    assert field in exc.value.errors


def test_update_takes_the_version(db):
    got = product(db)
    changed = products.update_product(db.uow(), ADMIN, got["id"], {"unit_price": "1899.50", "active": False}, 1)
    assert (changed["unit_price"], changed["active"], changed["version"]) == ("1899.50", False, 2)
    with pytest.raises(StaleVersion) as exc:
        products.update_product(db.uow(), ADMIN, got["id"], {"name": "New"}, 1)
    assert exc.value.extra["current_version"] == 2


def test_list_filters_and_pages(db):
    made = [product(db, sku=f"P-{i}", name=f"{'Printer' if i % 2 else 'Scanner'} {i}",
                    category="A" if i < 3 else "B", active=i != 4) for i in range(6)]
    ids = lambda page: [p["id"] for p in page["items"]]       # noqa: E731
    assert ids(products.list_products(db.uow(), MEMBER_1, {})) == [p["id"] for p in reversed(made)]
    assert ids(products.list_products(db.uow(), MEMBER_1, {"active": False})) == [made[4]["id"]]
    assert ids(products.list_products(db.uow(), MEMBER_1, {"category": "A"})) == [made[2]["id"], made[1]["id"],
                                                                                  made[0]["id"]]
    assert ids(products.list_products(db.uow(), MEMBER_1, {"q": "print"})) == [made[5]["id"], made[3]["id"],
                                                                              made[1]["id"]]
    assert ids(products.list_products(db.uow(), MEMBER_1, {"q": "P-2"})) == [made[2]["id"]]
    assert ids(products.list_products(db.uow(), MEMBER_1, {"q": "%"})) == []
    first = products.list_products(db.uow(), MEMBER_1, {"limit": 4})
    second = products.list_products(db.uow(), MEMBER_1, {"limit": 4, "cursor": first["next_cursor"]})
    assert ids(first) + ids(second) == [p["id"] for p in reversed(made)] and second["next_cursor"] is None
    with pytest.raises(ValidationFailed):
        products.list_products(db.uow(), MEMBER_1, {"color": "red"})


# -- price lists ----------------------------------------------------------------------------------------
def price_list(db, **data) -> dict:
    return products.create_price_list(db.uow(), ADMIN, {"name": "2026", "currency": "CNY",
                                                        "valid_from": "2026-01-01", "valid_to": "2026-12-31",
                                                        **data})


def test_price_lists(db):
    got = price_list(db)
    assert (got["valid_from"], got["valid_to"], got["active"], got["version"]) == ("2026-01-01", "2026-12-31",
                                                                                   True, 1)
    assert products.get_price_list(db.uow(), MEMBER_1, got["id"])["name"] == "2026"
    assert [p["id"] for p in products.list_price_lists(db.uow(), MEMBER_1, {"active": True})["items"]] == [got["id"]]
    with pytest.raises(Duplicate):
        price_list(db)
    with pytest.raises(Forbidden):
        products.create_price_list(db.uow(), MANAGER_D1, {"name": "Mine"})
    with pytest.raises(ValidationFailed) as exc:
        price_list(db, name="bad", valid_from="2026-02-01", valid_to="2026-01-01")
    assert "valid_to" in exc.value.errors
    with pytest.raises(ValidationFailed):          # valid_to before the list's valid_from, as changed
        products.update_price_list(db.uow(), ADMIN, got["id"], {"valid_to": "2025-12-31"}, 1)
    changed = products.update_price_list(db.uow(), ADMIN, got["id"], {"active": False}, 1)
    assert (changed["active"], changed["version"]) == (False, 2)


def test_set_prices(db):
    a, b = product(db), product(db, sku="SKU-2")
    pl = price_list(db)
    prices = [{"product_id": a["id"], "price": "1800.00"},
              {"product_id": b["id"], "price": "10.00", "valid_to": "2026-02-28"},
              {"product_id": b["id"], "price": "12.00", "valid_from": "2026-03-01"}]
    got = products.set_price_list_prices(db.uow(), ADMIN, pl["id"], {"prices": prices}, 1)
    assert got["version"] == 2 and len(got["prices"]) == 3
    assert products.get_price_list_prices(db.uow(), MEMBER_1, pl["id"]) == got
    again = products.set_price_list_prices(db.uow(), ADMIN, pl["id"], {"prices": prices[:1]}, 2)
    assert [(p["product_id"], p["price"]) for p in again["prices"]] == [(a["id"], "1800.00")]
    with pytest.raises(StaleVersion):
        products.set_price_list_prices(db.uow(), ADMIN, pl["id"], {"prices": []}, 2)
    with pytest.raises(Forbidden):
        products.set_price_list_prices(db.uow(), MEMBER_1, pl["id"], {"prices": []})


@pytest.mark.parametrize("prices", [
    [{"product_id": "A", "price": "1.00"}, {"product_id": "A", "price": "2.00", "valid_from": "2026-03-01"}],
    [{"product_id": "A", "price": "1.00", "valid_to": "2026-03-01"},
     {"product_id": "A", "price": "2.00", "valid_from": "2026-03-01"}],       # both hold on March 1st
    [{"product_id": "unknown", "price": "1.00"}],
    [{"product_id": "A", "price": "1.00", "valid_from": "2026-03-02", "valid_to": "2026-03-01"}],
    [{"product_id": "A", "price": "-1.00"}],
])
def test_prices_refused(db, prices):
    a = product(db)
    pl = price_list(db)
    for p in prices:
        p["product_id"] = a["id"] if p["product_id"] == "A" else p["product_id"]
    with pytest.raises(ValidationFailed) as exc:
        products.set_price_list_prices(db.uow(), ADMIN, pl["id"], {"prices": prices})
    assert any(k.startswith("prices") for k in exc.value.errors)


# -- CSV ---------------------------------------------------------------------------------------------------
def test_import_reports_each_row(db):
    existing = product(db, sku="OLD")
    text = ("\ufeffsku,name,unit_price,category,active\n"
            "N-1,Toner,99.90,Supplies,true\n"
            "N-1,Toner again,1.00,,\n"
            "OLD,Printer,1.00,,\n"
            "N-2,,5.00,,\n"
            "N-3,Paper,-1,,\n"
            "N-4,Only,2\n"
            "\n"
            "N-5,Pen,1.50,,false\n")
    report = product_csv.import_products(db.uow(), ADMIN, text)
    assert (report["created"], report["updated"], report["duplicates"], report["invalid"]) == (2, 0, 2, 3)
    outcomes = [(r["row"], r["outcome"]) for r in report["rows"]]
    assert outcomes == [(2, "created"), (3, "duplicate"), (4, "duplicate"), (5, "invalid"), (6, "invalid"),
                        (7, "invalid"), (9, "created")]
    assert report["rows"][1]["existing_id"] == report["rows"][0]["id"]
    assert report["rows"][2]["existing_id"] == existing["id"]
    assert "name" in report["rows"][3]["errors"] and "unit_price" in report["rows"][4]["errors"]
    listed = {p["sku"]: p for p in products.list_products(db.uow(), ADMIN, {})["items"]}
    assert listed["N-1"]["unit_price"] == "99.90" and listed["N-1"]["category"] == "Supplies"
    assert listed["N-5"]["active"] is False and listed["N-5"]["currency"] == "CNY"


def test_import_upsert_and_refusals(db):
    existing = product(db, sku="OLD")
    report = product_csv.import_products(db.uow(), ADMIN, "sku,name,unit_price\nOLD,Printer 2,1500.00\n", "upsert")
    assert report["rows"][0] == {"row": 2, "outcome": "updated", "id": existing["id"], "existing_id": None,
                                 "errors": {}}
    assert products.get_product(db.uow(), ADMIN, existing["id"])["unit_price"] == "1500.00"
    with pytest.raises(Forbidden):
        product_csv.import_products(db.uow(), MEMBER_1, "sku,name,unit_price\nA,B,1\n")
    for bad in ("sku,name\nA,B\n", "sku,name,unit_price,colour\nA,B,1,red\n", ""):
        with pytest.raises(ValidationFailed):
            product_csv.import_products(db.uow(), ADMIN, bad)
    with pytest.raises(ValidationFailed):
        product_csv.import_products(db.uow(), ADMIN, "sku,name,unit_price\nA,B,1\n", "merge")


def test_export_pages_and_imports_again(make_db, db):
    for i in range(5):
        product(db, sku=f"E-{i}", name=f"=Item {i}", unit_price=f"{i}.50")
    pages, cursor = [], None
    while True:
        pages.append(product_csv.export_products_page(db.uow(), MEMBER_1, {}, cursor, page_size=2))
        cursor = pages[-1]["next_cursor"]
        if cursor is None:
            break
    text = "".join(p["csv"] for p in pages)
    rows = list(csv.DictReader(io.StringIO(text)))
    assert len(pages) == 3 and [r["sku"] for r in rows] == [f"E-{i}" for i in reversed(range(5))]
    assert rows[0]["name"] == "'=Item 4" and rows[0]["unit_price"] == "4.50" and rows[0]["active"] == "true"
    limited = product_csv.export_products_page(db.uow(), MEMBER_1, {"limit": 2, "q": "E-"}, None, page_size=10)
    assert limited["next_cursor"] is None and limited["csv"].count("\r\n") == 3
    other = make_db(Base, "sales")
    report = product_csv.import_products(other.uow(), ADMIN, text)
    assert report["created"] == 5
    assert Decimal(products.list_products(other.uow(), ADMIN, {"q": "E-4"})["items"][0]["unit_price"]) == Decimal("4.5")
