"""The customer CSV export, page by page (``application.export``): what the caller may see, the
list's views and filters, the primary contact, masking, and a file that imports again."""
from __future__ import annotations

import csv
import io

import pytest

from crm_kit.context import Principal
from crm_kit.errors import ValidationFailed
from services.customers import application as app
from services.customers.application import export
from services.customers.application.import_rows import ROW_FIELDS
from services.customers.domain import import_columns
from services.customers.models import Base, Customer
from tests.unit.conftest import ADMIN, MANAGER_D1, MEMBER_1, MEMBER_2

OUTSIDER = Principal("outsider", "member", "d2", ("d2",))


@pytest.fixture
def db(make_db):
    return make_db(Base, "customers")


def export_pages(db, principal, query=None, page_size=app.EXPORT_PAGE_SIZE) -> list[dict]:
    """Every page of an export, asked for as the gateway does: with the same query and the last cursor."""
    pages, cursor = [], None
    while True:
        pages.append(app.export_customers_page(db.uow(), principal, query, cursor, page_size))
        cursor = pages[-1]["next_cursor"]
        if cursor is None:
            return pages
        assert len(pages) < 100, "the export does not end"


def export_text(db, principal, query=None, page_size=app.EXPORT_PAGE_SIZE) -> str:
    return "".join(page["csv"] for page in export_pages(db, principal, query, page_size))


def export_rows(db, principal, query=None, page_size=app.EXPORT_PAGE_SIZE) -> list[dict]:
    return list(csv.DictReader(io.StringIO(export_text(db, principal, query, page_size))))


def customer(db, principal=MEMBER_1, **data):
    return app.create_customer(db.uow(), principal, {"name": "Initech", **data})


def test_export_is_scoped_with_the_primary_contact(db):
    mine = customer(db, name="=HYPERLINK(1)", level="A", tags=["vip", "east"], telephone="010-1234 5678",
                    contacts=[{"name": "Second", "phone": "13800000002"},
                              {"name": "Peter", "title": "CTO", "phone": "13800000001", "is_primary": True}])
    customer(db, OUTSIDER, name="Theirs")
    rows = export_rows(db, MEMBER_1)
    assert [r["id"] for r in rows] == [mine["id"]]
    row = rows[0]
    assert list(row) == list(export.EXPORT_COLUMNS)
    assert (row["name"], row["level"], row["tags"], row["telephone"], row["owner_id"], row["deal_status"]) == (
        "'=HYPERLINK(1)", "A", "east;vip", "010-1234 5678", "user-1", "prospect")
    assert (row["contact_name"], row["contact_title"], row["contact_phone"], row["contacts_count"]) == (
        "Peter", "CTO", "13800000001", "2")
    assert (row["opportunity_total"], row["outstanding"], row["locked"]) == ("0.00", "0.00", "false")
    assert len(export_rows(db, ADMIN)) == 2
    assert export_rows(db, OUTSIDER)[0]["contact_name"] == ""              # no contact: empty cells


def test_export_pages_hold_every_visible_customer_once_newest_first(db):
    visible = [customer(db, name=f"Own {i}")["id"] for i in range(7)]
    hidden = customer(db, OUTSIDER, name="Other")["id"]
    pages = export_pages(db, MEMBER_1, page_size=3)
    assert [len(page["csv"].splitlines()) for page in pages] == [1 + 3, 3, 1]     # the header once, first
    assert pages[0]["csv"].startswith(",".join(export.EXPORT_COLUMNS) + "\r\n")
    ids = [r["id"] for r in export_rows(db, MEMBER_1, page_size=3)]
    assert ids == sorted(visible, reverse=True) and hidden not in ids
    assert export_pages(db, MEMBER_1, {"level": "C"}, page_size=3) == [
        {"csv": ",".join(export.EXPORT_COLUMNS) + "\r\n", "next_cursor": None}]


def test_export_views_filters_and_limit_apply_to_every_page(db):
    for i in range(6):
        customer(db, name=f"C {i}", level="A" if i % 2 else "B", industry="Retail")
    customer(db, MEMBER_2, name="Colleague's", level="A")
    assert [r["name"] for r in export_rows(db, MEMBER_1, {"level": "A"}, page_size=2)] == ["C 5", "C 3", "C 1"]
    assert [r["name"] for r in export_rows(db, MEMBER_1, {"limit": "3"}, page_size=2)] == ["C 5", "C 4", "C 3"]
    assert [r["name"] for r in export_rows(db, MANAGER_D1, {"scope": "subordinates", "level": "A"})] == [
        "Colleague's", "C 5", "C 3", "C 1"]
    assert [r["name"] for r in export_rows(db, MEMBER_1, {"scope": "mine", "name": "c 4"})] == ["C 4"]
    assert len(export_rows(db, MEMBER_1, {"limit": 4}, page_size=2)) == 4           # ends on a page boundary


def test_export_near_a_point(db):
    customer(db, name="Near", latitude=31.23, longitude=121.47)
    customer(db, name="Far", latitude=39.9, longitude=116.4)
    customer(db, name="Nowhere")
    rows = export_rows(db, MEMBER_1, {"lat": 31.2, "lng": 121.5, "radius_km": 10})
    assert [r["name"] for r in rows] == ["Near"]


def test_export_masks_a_pools_hidden_fields_for_its_members(db):
    pool = app.create_customer_pool(db.uow(), ADMIN, {"name": "P", "admin_ids": ["padmin"],
                                                      "member_ids": ["user-1"], "hidden_fields": ["phone"]},
                                    {"padmin": "d9", "user-1": "d1"})
    app.import_customers(db.uow(), ADMIN, "name,mobile,contact_name,contact_phone\n"
                                          "Pooled,13800001111,Ann,13900001111\n", pool_id=pool["id"])
    (member_view,) = export_rows(db, MEMBER_1)
    assert (member_view["name"], member_view["mobile"], member_view["contact_phone"]) == ("Pooled", "", "")
    (admin_view,) = export_rows(db, ADMIN)
    assert (admin_view["mobile"], admin_view["contact_phone"]) == ("13800001111", "13900001111")


def test_an_export_imports_again(db, make_db):
    customer(db, name="Round Trip", kind="individual", gender="female", birthday="1990-05-01", level="B",
             tags=["a", "b"], latitude=31.2, longitude=121.5, notes="line one\nline two, with a comma",
             contacts=[{"name": "Ann", "email": "ann@example.com", "birthday": "1980-02-03"}])
    text = export_text(db, MEMBER_1)
    resolved, errors = import_columns.resolve(next(csv.reader(io.StringIO(text))), ROW_FIELDS)
    assert errors == [] and set(resolved.ignored) == import_columns.EXPORT_ONLY
    fresh = make_db(Base, "customers")
    report = app.import_customers(fresh.uow(), MEMBER_1, text)
    assert report["created"] == 1, report["rows"]
    again = app.get_customer(fresh.uow(), MEMBER_1, report["rows"][0]["id"])
    before = app.get_customer(db.uow(), MEMBER_1, export_rows(db, MEMBER_1)[0]["id"])
    same = ("name", "kind", "gender", "birthday", "level", "tags", "latitude", "longitude", "notes")
    assert {k: again[k] for k in same} == {k: before[k] for k in same}
    assert [(c["name"], c["email"], c["birthday"]) for c in again["contacts"]] == [
        ("Ann", "ann@example.com", "1980-02-03")]


def test_every_exported_column_is_read_or_skipped_by_the_import():
    read = {c for c in export.EXPORT_COLUMNS if c in ROW_FIELDS}
    assert set(export.EXPORT_COLUMNS) == read | import_columns.EXPORT_ONLY


def test_a_bad_cursor_or_filter(db):
    with pytest.raises(ValidationFailed) as caught:
        app.export_customers_page(db.uow(), MEMBER_1, {}, "not-a-cursor")
    assert "cursor" in caught.value.errors
    with pytest.raises(ValidationFailed) as caught:
        app.export_customers_page(db.uow(), MEMBER_1, {"level": "Z"})
    assert "level" in caught.value.errors
    with pytest.raises(ValidationFailed):
        app.export_customers_page(db.uow(), MEMBER_1, {"sort": "name"})         # no sort: newest first
    assert db.count(Customer) == 0
