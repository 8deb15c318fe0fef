"""Keyset pagination: opaque cursors, newest first, no counting."""
from __future__ import annotations

import base64
import json

import pytest
from sqlalchemy import String, select
from sqlalchemy.orm import Mapped, mapped_column

from crm_kit.errors import ValidationFailed
from crm_kit.records.db import make_base
from crm_kit.records.pagination import cursor_state, decode_cursor, encode_cursor, paginate
from crm_kit.records.schemas import ListQuery, load

Base = make_base()


class Item(Base):
    __tablename__ = "items"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    kind: Mapped[str] = mapped_column(String(10))


@pytest.fixture
def db(make_db):
    db = make_db(Base, "test")
    with db.session() as s:
        for i in range(1, 8):
            s.add(Item(id=f"id-{i:02d}", kind="odd" if i % 2 else "even"))
        s.commit()
    return db


def _pages(db, stmt, limit):
    pages, cursor = [], None
    with db.session() as s:
        while True:
            rows, cursor = paginate(s, stmt, Item.id, limit, cursor)
            pages.append([r.id for r in rows])
            if cursor is None:
                return pages
            assert len(pages) < 20, "pagination does not terminate"


def test_cursor_round_trip():
    for last in ("0190f0a2-7b1c-7c3d-8e4f-123456789abc", "x", "线索-1"):
        token = encode_cursor(last)
        assert "=" not in token
        assert decode_cursor(token) == last


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


@pytest.mark.parametrize("bad", [
    "!!!not base64!!!",
    "a",                                   # impossible base64 length
    _b64(b"not json"),
    _b64(json.dumps({"before": "x"}).encode()),
    _b64(json.dumps({"after": 5}).encode()),
    _b64(json.dumps({"after": None}).encode()),
    _b64(json.dumps(["after"]).encode()),
    _b64(json.dumps("after").encode()),
    _b64(b"\xff\xfe\x00"),
    "é",
    _b64(json.dumps({"after": "id\u0000"}).encode()),            # no database compares a NUL
    _b64(json.dumps({"after": "\ud800"}).encode()),              # nor an unpaired surrogate
    _b64(json.dumps({"after": "x", "as_of": "\udfff"}).encode()),
    _b64(json.dumps({"after": "x", "\u0000": 1}).encode()),
    _b64(json.dumps({"after": "x" * 101}).encode()),
    _b64(json.dumps({"after": "x", "left": float("nan")}).encode()),
    _b64(("[" * 5000 + "]" * 5000).encode()),
    encode_cursor("id-01") + "\x00",                                # NUL in the cursor itself
    encode_cursor("id-01")[:4] + "\ud800" + encode_cursor("id-01")[4:],
    encode_cursor("id-01").replace("e", "+", 1),                  # not URL-safe base64
    "A" * 2001,
])
def test_invalid_cursor_is_a_validation_error(bad):
    with pytest.raises(ValidationFailed) as info:
        decode_cursor(bad)
    assert info.value.errors == {"cursor": ["Invalid cursor."]}
    assert info.value.status == 422


def test_pages_newest_first_without_overlap(db):
    pages = _pages(db, select(Item), 3)
    assert pages == [["id-07", "id-06", "id-05"], ["id-04", "id-03", "id-02"], ["id-01"]]


def test_exact_multiple_of_limit_has_no_empty_last_page(db):
    with db.session() as s:
        s.add(Item(id="id-08", kind="even"))
        s.commit()
    pages = _pages(db, select(Item), 4)
    assert pages == [["id-08", "id-07", "id-06", "id-05"], ["id-04", "id-03", "id-02", "id-01"]]


def test_limit_larger_than_table(db):
    with db.session() as s:
        rows, cursor = paginate(s, select(Item), Item.id, 50, None)
    assert len(rows) == 7 and cursor is None


def test_filters_survive_paging(db):
    pages = _pages(db, select(Item).where(Item.kind == "odd"), 2)
    assert pages == [["id-07", "id-05"], ["id-03", "id-01"]]


def test_next_cursor_points_at_last_row(db):
    with db.session() as s:
        rows, cursor = paginate(s, select(Item), Item.id, 2, None)
    assert decode_cursor(cursor) == rows[-1].id == "id-06"


def test_state_travels_in_the_next_cursor(db):
    with db.session() as s:
        rows, cursor = paginate(s, select(Item), Item.id, 2, None, as_of="2026-01-01T00:00:00+00:00", left=3)
        assert cursor_state(cursor) == {"after": "id-06", "as_of": "2026-01-01T00:00:00+00:00", "left": 3}
        rows, cursor = paginate(s, select(Item), Item.id, 2, cursor)      # a stateful cursor pages on
    assert [r.id for r in rows] == ["id-05", "id-04"] and cursor_state(cursor) == {"after": "id-04"}


def test_bad_cursor_through_paginate(db):
    with db.session() as s, pytest.raises(ValidationFailed):
        paginate(s, select(Item), Item.id, 2, "%%%")


def test_list_query_defaults_and_bounds():
    assert load(ListQuery(), {}) == {"limit": 50, "cursor": None}
    assert load(ListQuery(), {"limit": "200", "cursor": "abc"}) == {"limit": 200, "cursor": "abc"}
    for bad in ("0", "201", "-1", "ten"):
        with pytest.raises(ValidationFailed) as info:
            load(ListQuery(), {"limit": bad})
        assert list(info.value.errors) == ["limit"]
    with pytest.raises(ValidationFailed) as info:
        load(ListQuery(), {"sort": "name"})
    assert list(info.value.errors) == ["sort"]
