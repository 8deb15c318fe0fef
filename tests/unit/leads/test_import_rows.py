"""The import's bulk validation (``crm_kit.records.text_rows.TextRowsLoader``) against an independent
path: marshmallow's own ``Schema.load`` on a fresh schema, row by row (and the NUL rule written out
here), not the ``load()`` the loader falls back to. The loader's fallback is counted: a valid row of
text never goes through it, so what is compared for those rows is the fast path's own answer."""
from __future__ import annotations

import random

import pytest
from marshmallow import ValidationError, fields, post_load, validate, validates

from crm_kit.records import text_rows as import_rows
from crm_kit.records.schemas import InputSchema
from crm_kit.records.text_rows import TextRowsLoader
from services.leads.schemas import LeadCreate

NUL = ["Must not contain NUL characters."]


class Person(InputSchema):
    name = fields.String(required=True, validate=validate.Length(min=1, max=10))
    email = fields.Email(load_default=None, allow_none=True)
    kind = fields.String(load_default="other", validate=validate.OneOf(["other", "vip"]))
    code = fields.String(load_default=lambda: "c-default")
    age = fields.Integer(load_default=None, allow_none=True)

    @validates("code")
    def _code(self, value, **kwargs):
        if not value.startswith("c-"):
            raise ValidationError("Codes start with c-.")


def oracle(schema_cls, row: dict):
    """What a row loads to, independently of crm_kit's ``load``: a NUL anywhere is refused by name
    (no database stores one), else marshmallow's own answer on a fresh schema."""
    nul = [key for key, value in row.items() if isinstance(value, str) and "\x00" in value]
    if nul:
        return None, {key: NUL for key in nul}
    try:
        return schema_cls().load(row), None
    except ValidationError as exc:
        return None, exc.messages


def load_counting_fallbacks(monkeypatch, loader, rows):
    fallbacks = []
    real = import_rows.load

    def counted(schema, row, **kwargs):
        fallbacks.append(row)
        return real(schema, row, **kwargs)
    monkeypatch.setattr(import_rows, "load", counted)
    return loader.load_many(rows), fallbacks


def random_rows(rng, values: dict, count: int, rare=("score", "colour")) -> list[dict]:
    rows = []
    for _ in range(count):
        row = {}
        for key, options in values.items():
            if rng.random() < (0.9 if key == "name" else 0.02 if key in rare else 0.5):
                row[key] = rng.choice(options)
        rows.append(row)
    return rows


def test_text_rows_loader_answers_what_marshmallow_answers_row_by_row(monkeypatch):
    rng = random.Random(3)
    values = {"name": ["Ann", "", "A" * 11, "Bob", "x\x00y", "Ann"],
              "email": ["a@example.com", "not-an-email", "b@example.org", "a@example.com"],
              "kind": ["other", "vip", "tv", "vip"],
              "code": ["c-1", "d-1", "c-2"],
              "age": ["7", "seven", "-1"],
              "score": ["3"],             # not a field of Person
              "colour": ["red"]}          # unknown
    rows = random_rows(rng, values, 600) + [{}, {"name": "Ann", "age": 7}, {"name": None}]
    loader = TextRowsLoader(Person())
    # the text fields (Email included) take the fast path: their validators run without deserialize
    assert set(loader._text_validators) == {"name", "email", "kind", "code"}
    got, fallbacks = load_counting_fallbacks(monkeypatch, loader, rows)
    expected = [oracle(Person, row) for row in rows]
    assert got == expected
    good = sum(1 for data, _ in got if data is not None)
    assert 50 < good < len(rows) - 50, good        # both kinds are really exercised
    assert {"kind": "other", "code": "c-default", "email": None, "age": None, "name": "Ann"} in [d for d, _ in got]
    # the fallback saw the invalid rows and the one with a non-text value, never a valid row of text
    not_text = [row for row in rows if any(type(v) is not str for v in row.values())]
    assert len(fallbacks) == sum(1 for _, errors in expected if errors) + sum(
        1 for row in not_text if oracle(Person, row)[1] is None)


def test_the_lead_import_rows_load_as_lead_create_loads_them(monkeypatch):
    """The schema the import uses, on the values a CSV holds (each cell a string)."""
    rng = random.Random(11)
    good = {"name": "Zhang San", "company": "Acme", "phone": "13800138000", "email": "zs@acme.example",
            "source": "trade_show", "campaign_id": "c1", "region": "north", "industry": "retail", "notes": "n"}
    bad = {"name": ["", "x" * 201, " "], "company": ["y" * 201], "phone": ["12", "tel"],
           "email": ["nope", "x" * 250 + "@a.io"], "source": ["tv"], "campaign_id": ["z" * 37], "notes": ["\x00"]}
    fine = {"name": ["李四", "Wang Wu"], "phone": ["+86 138-0013-8000", "１３８００１３８０００", "0086 12345"],
            "source": ["referral", "other"], "company": ["Initech"]}
    values = {key: [value] * 12 + fine.get(key, []) * 4 + bad.get(key, []) for key, value in good.items()}
    values.update(status=["pending"], colour=["red"])           # server-owned, unknown
    rows = random_rows(rng, values, 800, rare=("status", "colour"))
    got, fallbacks = load_counting_fallbacks(monkeypatch, TextRowsLoader(LeadCreate()), rows)
    expected = [oracle(LeadCreate, row) for row in rows]
    assert got == expected
    assert any(errors and "status" in errors for _, errors in expected)      # server-owned: said so
    invalid = sum(1 for _, errors in expected if errors)
    assert 100 < invalid < len(rows) - 100 and len(fallbacks) == invalid


def test_a_cache_shared_between_calls_gives_the_same_answers():
    loader, cache = TextRowsLoader(Person()), {}
    rows = [{"name": "Ann", "kind": "vip"}, {"name": "Ann", "kind": "tv"}, {"name": "Bob", "code": "c-9"}]
    first = loader.load_many(rows, cache)
    assert loader.load_many(list(reversed(rows)), cache) == list(reversed(first))
    assert first == [oracle(Person, row) for row in rows]


def test_text_rows_loader_refuses_schemas_it_cannot_load_exactly():
    class WithPostLoad(InputSchema):
        name = fields.String()

        @post_load
        def _shape(self, data, **kwargs):
            return data

    class Address(InputSchema):
        city = fields.String(required=True)

    class WithNested(InputSchema):
        name = fields.String(required=True)
        address = fields.Nested(Address, load_default=None, allow_none=True)

    with pytest.raises(TypeError, match="hooks"):
        TextRowsLoader(WithPostLoad())
    with pytest.raises(TypeError, match="nested"):
        TextRowsLoader(WithNested())
