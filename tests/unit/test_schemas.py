"""Request bodies: unknown and server-owned fields are refused, errors name the fields."""
from __future__ import annotations

import pytest

from crm_kit.errors import ValidationFailed
from crm_kit.records.schemas import SERVER_OWNED, InputSchema, Schema, fields, load, validate

SERVER_MSG = "This field is set by the server and cannot be written."


class Address(InputSchema):
    city = fields.String(required=True)


class Widget(InputSchema):
    class Meta(InputSchema.Meta):
        server_owned = ("score",)

    name = fields.String(required=True, validate=validate.Length(min=1, max=20))
    size = fields.Integer(load_default=1, validate=validate.Range(min=1))
    address = fields.Nested(Address, load_default=None, allow_none=True)


def _errors(data, schema=None, **kw):
    with pytest.raises(ValidationFailed) as info:
        load(schema or Widget(), data, **kw)
    assert info.value.status == 422
    return info.value.errors


def test_valid_input_loads():
    assert load(Widget(), {"name": "w", "size": 3}) == {"name": "w", "size": 3, "address": None}


def test_unknown_field_refused():
    assert _errors({"name": "w", "colour": "red"}) == {"colour": ["Unknown field."]}


@pytest.mark.parametrize("owned", SERVER_OWNED)
def test_server_owned_field_refused_with_message(owned):
    assert _errors({"name": "w", owned: "x"}) == {owned: [SERVER_MSG]}


def test_server_owned_from_schema_meta():
    assert _errors({"name": "w", "score": 5}) == {"score": [SERVER_MSG]}


def test_several_problems_reported_together():
    errors = _errors({"name": "", "size": 0, "id": "1", "status": "won", "owner_id": "u", "version": 3,
                      "extra": 1})
    assert errors["name"] and errors["size"]
    for owned in ("id", "status", "owner_id", "version"):
        assert errors[owned] == [SERVER_MSG]
    assert errors["extra"] == ["Unknown field."]


def test_missing_required_field_named():
    assert _errors({}) == {"name": ["Missing data for required field."]}


def test_nested_errors_are_dotted_and_server_owned_inside_nested():
    errors = _errors({"name": "w", "address": {"id": "a1"}})
    assert errors == {"address.city": ["Missing data for required field."], "address.id": [SERVER_MSG]}


def test_partial_load_skips_required():
    assert load(Widget(), {"size": 2}, partial=True) == {"size": 2}
    assert _errors({"id": "x"}, partial=True) == {"id": [SERVER_MSG]}


@pytest.mark.parametrize("data", [None, [], ["name"], "name=w", 42, True])
def test_non_dict_input_refused(data):
    assert _errors(data) == {"_schema": ["Expected a JSON object."]}


def test_unknown_field_that_is_not_server_owned_keeps_marshmallow_message():
    # A key merely *named* like an owned one in another schema is still just unknown here.
    assert _errors({"name": "w", "customer_id": "c"}) == {"customer_id": ["Unknown field."]}


class Line(InputSchema):
    class Meta(InputSchema.Meta):
        server_owned = ("unit_price",)   # price always comes from the product, never the client

    product_id = fields.String(required=True)
    quantity = fields.Integer(required=True)


class OrderWithListOfNested(InputSchema):
    lines = fields.List(fields.Nested(Line), required=True)


class OrderWithNestedMany(InputSchema):
    lines = fields.Nested(Line, many=True, required=True)


def test_server_owned_inside_list_of_nested_items():
    errors = _errors({"lines": [{"product_id": "p1", "quantity": 1, "unit_price": "0.01"}]},
                     OrderWithListOfNested())
    assert errors == {"lines.0.unit_price": [SERVER_MSG]}


def test_server_owned_inside_nested_many_items():
    """``Nested(..., many=True)`` is the other common way to declare order lines; the
    server-owned message must not depend on which one a schema author picked."""
    errors = _errors({"lines": [{"product_id": "p1", "quantity": 1},
                                {"product_id": "p2", "quantity": 2, "unit_price": "0.01", "id": "x"}]},
                     OrderWithNestedMany())
    assert errors == {"lines.1.unit_price": [SERVER_MSG], "lines.1.id": [SERVER_MSG]}


# -- Dumper: schema.dump without the per-field lookups ------------------------------------
def test_dumper_dumps_every_catalogued_event_as_marshmallow_does():
    from crm_kit.ops import catalogue
    from crm_kit.records.schemas import Dumper, nested_dumper

    checked = nested = 0
    for producer, event in catalogue.produced_events():
        schema = event.schema()
        obj = schema.load(catalogue.example_payload(producer, event))   # typed values (datetime, Decimal)
        # (events are dumped by nested_dumper: nested payloads, an order's lines, by Dumper too)
        nested += any(type(step[2]).__name__ == "_NestedDump" for step in nested_dumper(schema).plan)
        for variant in (obj, {k: None for k in obj}, {}):
            for dumper in (Dumper(schema), nested_dumper(schema)):
                assert dumper(variant) == schema.dump(variant), (producer, event.name, variant)

        class AsObject:                                               # an ORM row, not a dict
            pass
        row = AsObject()
        for key, value in obj.items():
            setattr(row, key, value)
        assert Dumper(schema)(row) == schema.dump(row)
        assert nested_dumper(schema)(row) == schema.dump(row)
        checked += 1
    assert checked >= 8 and nested >= 1


def test_dumper_handles_computed_fields_and_refuses_dump_hooks():
    from marshmallow import post_dump

    from crm_kit.records.schemas import Dumper

    class Shown(Schema):
        id = fields.String(attribute="key")
        label = fields.Method("make_label")
        kind = fields.Constant("thing")
        count = fields.Integer(dump_default=0)

        def make_label(self, obj):
            return f"#{obj['key']}"

    data = {"key": "k1"}
    assert Dumper(Shown())(data) == Shown().dump(data) == {"id": "k1", "label": "#k1", "kind": "thing", "count": 0}

    class Hooked(Schema):
        name = fields.String()

        @post_dump
        def _wrap(self, data, **kwargs):
            return data

    with pytest.raises(TypeError):
        Dumper(Hooked())


def test_dumper_sharing_dumps_what_the_dumper_dumps_for_rows_made_from_a_template():
    """An import dumps many rows that differ from one template only in some keys: the shared
    fields are dumped once, and every row's dump is still the dumper's (and marshmallow's)."""
    import datetime as dt
    from decimal import Decimal

    from crm_kit.records.schemas import Dumper

    class Row(Schema):
        row_id = fields.String(attribute="id")
        name = fields.String()
        at = fields.DateTime()
        price = fields.Decimal(as_string=True)
        owner = fields.String(allow_none=True)
        label = fields.Method("make_label")

        def make_label(self, obj):
            return f"{obj['name']}@{obj['owner']}"

    template = {"id": None, "name": None, "at": dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.timezone.utc),
                "price": Decimal("1.50"), "owner": "u1"}
    dumper = Dumper(Row())
    dump = dumper.sharing(template, {"id", "name", "price"})
    rows = [dict(template, id=f"r{i}", name=f"n{i}", price=Decimal(i)) for i in range(5)]
    rows.append(dict(template, id="r9", name=None, price=None))
    for row in rows:
        assert dump(row) == dumper(row) == Row().dump(row)
    assert dump(rows[1])["at"] == "2026-01-02T03:04:05+00:00" and dump(rows[1])["label"] == "n1@u1"


def test_event_dumper_sharing_checks_every_payload_as_dump_does():
    """``EventType.dumper_sharing`` checks the shared values once and each payload's own values: a
    payload ``dump`` refuses is refused with the same message, whichever row it is."""
    from crm_kit.errors import ValidationFailed
    from crm_kit.runtime.events import EventType

    class Payload(Schema):
        item_id = fields.String(attribute="id", required=True)
        name = fields.String(required=True)
        owner = fields.String(required=True, allow_none=True)
        count = fields.Integer(required=True)

    event = EventType("thing_made", Payload)
    template = {"id": None, "name": None, "owner": "u1", "count": 0}
    dump = event.dumper_sharing(template, {"id", "name", "count"})
    rows = [dict(template, id=f"r{i}", name=f"n{i}", count=i) for i in range(3)]
    assert [dump(row) for row in rows] == [event.dump(row) for row in rows]

    def refusal(fn, row):
        with pytest.raises(ValidationFailed) as caught:
            fn(row)
        return caught.value.errors

    for bad in (dict(rows[0], name=None), dict(rows[1], id=None)):
        assert refusal(dump, bad) == refusal(event.dump, bad)
    assert dump(rows[2]) == event.dump(rows[2])       # (still fine after a refusal)


def test_audit_created_sharing_equals_created_row_by_row():
    import datetime as dt

    from crm_kit.records import audit

    now = dt.datetime(2026, 1, 2, tzinfo=dt.timezone.utc)
    template = {"id": None, "name": None, "email": None, "status": "pending", "at": now, "note": None}
    columns = ("id", "name", "email", "status", "at", "note")
    changes = audit.created_sharing(template, columns, {"id", "name", "email"})
    for row in (dict(template, id="a", name="Ann", email=None), dict(template, id="b", name="Bob", email="b@x.io")):
        assert changes(row) == audit.created(row, columns)
    assert changes(dict(template, id="a", name="Ann"))["at"] == [None, "2026-01-02T00:00:00+00:00"]


# -- the JSON Schema states every rule (crm_kit.records.jsonschema) ------------------------------------------------
import datetime as _dt  # noqa: E402
import re  # noqa: E402

from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from marshmallow import ValidationError  # noqa: E402

from crm_kit.records.jsonschema import documented, json_schema  # noqa: E402
from services.leads import schemas as lead_schemas  # noqa: E402


def _accepts(validator, value) -> bool:
    try:
        validator(value)
        return True
    except ValidationError:
        return False


_PHONE_TEXT = st.text(st.sampled_from(list("0123456789０１２３４５６７８９+-() .a　")), max_size=20)


@settings(max_examples=1500, deadline=None)
@given(_PHONE_TEXT)
def test_the_phone_pattern_states_the_phone_rule(value):
    """The OpenAPI pattern of a lead's phone and the validator agree: a phone the document allows is
    never refused, one it refuses is never taken."""
    stated = re.search(lead_schemas.PHONE_PATTERN, value) is not None
    assert stated == _accepts(lead_schemas.phone_number, value), value


@pytest.mark.parametrize("value, ok", [("13800138000", True), ("+86 138-0013-8000", True), ("12345", True),
                                       ("1234", False), ("0086 1234", False), ("0086 12345", True),
                                       ("１３８００１３８０００", True), ("tel", False)])
def test_phone_examples(value, ok):
    assert (re.search(lead_schemas.PHONE_PATTERN, value) is not None) is ok
    assert _accepts(lead_schemas.phone_number, value) is ok


@settings(max_examples=300, deadline=None)
@given(st.datetimes(min_value=_dt.datetime(1, 1, 2), max_value=_dt.datetime(9999, 12, 30),
                    timezones=st.sampled_from([_dt.timezone.utc, _dt.timezone(_dt.timedelta(hours=8)),
                                               _dt.timezone(_dt.timedelta(hours=-5))])))
def test_the_date_pattern_states_the_date_range(value):
    text = value.isoformat()
    stated = re.search(lead_schemas.YEAR_PATTERN, text) is not None
    assert stated == _accepts(lead_schemas._plausible, value), text


class Rules(Schema):
    share = fields.Integer(validate=validate.Range(min=0, max=100, min_inclusive=False, max_inclusive=False))
    amount = fields.Decimal(places=2, as_string=True, validate=validate.Range(min=0))
    debt = fields.Decimal(places=2, as_string=True)
    label = fields.String(validate=[validate.Length(max=10), lead_schemas.not_blank])
    word = fields.String(validate=validate.NoneOf(["admin"]))
    code = fields.String(validate=[validate.Regexp(r"^[a-z]+$"), documented({"pattern": "^a", "description": "A."})(
        lambda value: None)])


def test_the_converter_states_what_apispec_leaves_out():
    props = json_schema(Rules)["properties"]
    assert props["share"]["exclusiveMinimum"] == 0 and props["share"]["exclusiveMaximum"] == 100
    assert props["amount"]["pattern"] == r"^[0-9]+\.[0-9]{2}$"          # no minus sign: at least 0
    assert props["debt"]["pattern"] == r"^-?[0-9]+\.[0-9]{2}$"
    assert props["label"]["pattern"] == r"\S" and props["label"]["maxLength"] == 10
    assert props["word"]["not"] == {"enum": ["admin"]}
    assert props["code"]["pattern"] == "^[a-z]+$" and props["code"]["allOf"] == [{"pattern": "^a"}]
    assert props["code"]["description"] == "A."


def test_the_lead_schemas_state_their_phone_and_dates():
    create = json_schema(lead_schemas.LeadCreate)["properties"]
    assert create["phone"]["pattern"] == lead_schemas.PHONE_PATTERN
    follow_up = json_schema(lead_schemas.FollowUpCreate)["properties"]
    assert follow_up["next_contact_at"]["pattern"] == lead_schemas.YEAR_PATTERN
    assert follow_up["content"]["pattern"] == r"\S"
