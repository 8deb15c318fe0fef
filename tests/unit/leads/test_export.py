"""The CSV export, page by page (``application.export``)."""
from __future__ import annotations

import csv
import datetime as dt
import io

import pytest

from crm_kit.errors import ValidationFailed
from services.leads import application as app
from services.leads.application import export, lead_record
from tests.unit.conftest import ADMIN, MEMBER_1
from tests.unit.leads.support import M1, OUTSIDER, POOL_ADMIN, UTC, lead, pool, shift


def export_pages(db, principal, query=None, page_size=app.EXPORT_PAGE_SIZE) -> list[dict]:
    """Every page of an export, asked for as the gateway does: with the same query and the last cursor."""
    pages, cursor = [], None
    while True:
        pages.append(app.export_leads_page(db.uow(), principal, query, cursor, page_size))
        cursor = pages[-1]["next_cursor"]
        if cursor is None:
            return pages
        assert len(pages) < 100, "the export does not end"


def export_rows(db, principal, query=None, page_size=app.EXPORT_PAGE_SIZE) -> list[dict]:
    text = "".join(page["csv"] for page in export_pages(db, principal, query, page_size))
    return list(csv.DictReader(io.StringIO(text)))


def test_export_is_scoped_and_filtered(db):
    mine = lead(db, principal=MEMBER_1, name="=HYPERLINK(1)", company="Mine")
    lead(db, principal=OUTSIDER, name="Theirs")
    rows = export_rows(db, MEMBER_1)
    assert [r["id"] for r in rows] == [mine["id"]]
    assert rows[0]["name"] == "'=HYPERLINK(1)" and rows[0]["sla_breached"] == "false"
    assert list(rows[0]) == list(app.EXPORT_COLUMNS)
    assert len(export_rows(db, ADMIN)) == 2
    assert [r["name"] for r in export_rows(db, ADMIN, {"q": "theirs"})] == ["Theirs"]


def test_export_pages_hold_every_visible_lead_once_newest_first(db):
    p = pool(db)                                        # M1 may read the pool's unassigned leads
    visible = [lead(db, principal=M1, name=f"Own {i}")["id"] for i in range(7)]
    visible += [lead(db, p["id"], name=f"Free {i}")["id"] for i in range(3)]
    hidden = [lead(db, principal=OUTSIDER)["id"], lead(db, p["id"], principal=POOL_ADMIN)["id"]]
    app.assign_lead(db.uow(), ADMIN, hidden[-1], "m2", "d2")               # no longer unassigned
    pages = export_pages(db, M1, page_size=3)
    assert [len(page["csv"].splitlines()) for page in pages] == [1 + 3, 3, 3, 1]   # the header once, first
    assert pages[0]["csv"].startswith(",".join(app.EXPORT_COLUMNS) + "\r\n")
    assert not any(page["csv"].startswith("id,") for page in pages[1:])
    ids = [r["id"] for r in export_rows(db, M1, page_size=3)]
    assert ids == sorted(visible, reverse=True)                       # each once, in keyset order
    assert ids == [x["id"] for x in app.list_leads(db.uow(), M1, {"limit": 200})["items"]]
    assert not set(hidden) & set(ids)
    # an exact multiple of the page size ends without an empty page; nothing to export: the header
    assert len(export_pages(db, M1, {"status": "unassigned"}, page_size=3)) == 1
    assert export_pages(db, M1, {"status": "converted"}, page_size=3) == [
        {"csv": ",".join(app.EXPORT_COLUMNS) + "\r\n", "next_cursor": None}]


def test_export_filters_and_limit_apply_to_every_page(db):
    for i in range(8):
        lead(db, principal=M1, name=f"Lead {i}", source="referral" if i % 2 else "web_form")
    referrals = export_rows(db, M1, {"source": "referral"}, page_size=3)
    assert [r["name"] for r in referrals] == ["Lead 7", "Lead 5", "Lead 3", "Lead 1"]
    first_five = export_rows(db, M1, {"limit": "5"}, page_size=3)          # 3 + 2 rows, then no cursor
    assert [r["name"] for r in first_five] == [f"Lead {i}" for i in range(7, 2, -1)]
    assert [r["name"] for r in export_rows(db, M1, {"limit": 2, "source": "web_form"}, page_size=3)] == [
        "Lead 6", "Lead 4"]
    assert len(export_rows(db, M1, {"limit": 6}, page_size=3)) == 6            # ends on a page boundary
    assert export_rows(db, M1, {"q": "Lead 4", "created_from": "2000-01-01T00:00:00Z"}, page_size=1)[0][
        "name"] == "Lead 4"


def test_export_is_consistent_while_leads_change_between_pages(db, monkeypatch):
    ids = [lead(db, principal=M1, name=f"Lead {i}")["id"] for i in range(6)]   # newest last
    start = dt.datetime.now(UTC)
    shift(db, ids[0], sla_due_at=start + dt.timedelta(hours=1))                # due an hour after the start
    for module in (export, lead_record):         # the export's clock, and the list's
        monkeypatch.setattr(module, "utcnow", lambda: start)
    first = app.export_leads_page(db.uow(), M1, {"sla_breached": "false"}, None, 2)
    # between pages: a new lead (newer than the first page), one not yet exported deleted, and two hours pass
    lead(db, principal=M1, name="Created meanwhile")
    app.delete_lead(db.uow(), M1, ids[2])
    for module in (export, lead_record):
        monkeypatch.setattr(module, "utcnow", lambda: start + dt.timedelta(hours=2))
    rest, cursor = [], first["next_cursor"]
    while cursor:
        page = app.export_leads_page(db.uow(), M1, {"sla_breached": "false"}, cursor, 2)
        rest.append(page["csv"])
        cursor = page["next_cursor"]
    rows = list(csv.DictReader(io.StringIO(first["csv"] + "".join(rest))))
    assert [r["id"] for r in rows] == [ids[5], ids[4], ids[3], ids[1], ids[0]]
    assert rows[-1]["sla_breached"] == "false"       # judged as of the start, like the filter that kept it
    assert app.list_leads(db.uow(), M1, {"sla_breached": "true"})["items"][0]["id"] == ids[0]   # now it is


@pytest.mark.parametrize("query,cursor,field", [
    ({"status": "lost"}, None, "status"),
    ({"created_from": "yesterday"}, None, "created_from"),
    ({"limit": 0}, None, "limit"),
    ({"cursor": "abc"}, None, "cursor"),                   # not a filter: the export pages itself
    ({}, "%%%", "cursor"),
    ({}, "list", "cursor"),                                # a list's cursor has no start time
    ({}, "stale", "cursor"),
])
def test_export_rejects_bad_filters_and_cursors(db, query, cursor, field):
    from crm_kit.records.pagination import encode_cursor
    cursor = {"list": encode_cursor("x"), "stale": encode_cursor("x", as_of="2026-01-01T00:00:00", left=0)}.get(
        cursor, cursor)
    with pytest.raises(ValidationFailed) as info:
        app.export_leads_page(db.uow(), M1, query, cursor)
    assert list(info.value.errors) == [field]
