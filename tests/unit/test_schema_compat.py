"""The compatibility rule of event schemas (crm_kit.ops.schema_compat): what a subscriber of a schema
version could not read is caught; optional fields added and descriptions changed pass."""
import copy

import pytest

from crm_kit.ops.schema_compat import incompatible_changes

BASE = {
    "type": "object", "additionalProperties": False,
    "required": ["id", "amount", "lines"],
    "properties": {
        "id": {"type": "string", "description": "The record's id."},
        "amount": {"type": "string", "format": "decimal", "pattern": "^-?[0-9]+\\.[0-9]{2}$"},
        "owner_id": {"type": ["string", "null"]},
        "status": {"type": "string", "enum": ["open", "closed"]},
        "rule": {"type": "object", "required": ["rule"],
                 "properties": {"rule": {"type": "string"}, "as_of": {"type": "string", "format": "date-time"}}},
        "lines": {"type": "array", "items": {"type": "object", "required": ["sku"],
                                             "properties": {"sku": {"type": "string"},
                                                            "quantity": {"type": "integer"}}}},
    },
}


def changed(edit) -> dict:
    schema = copy.deepcopy(BASE)
    edit(schema)
    return schema


def test_the_same_schema_is_compatible():
    assert incompatible_changes(BASE, copy.deepcopy(BASE)) == []


@pytest.mark.parametrize("edit", [
    lambda s: s["properties"].update(note={"type": ["string", "null"]}),
    lambda s: s["properties"]["rule"]["properties"].update(days={"type": "integer"}),
    lambda s: s["properties"]["lines"]["items"]["properties"].update(unit={"type": "string"}),
    lambda s: s["properties"]["id"].update(description="Another description."),
    lambda s: s["properties"]["amount"].update(pattern="^[0-9]+\\.[0-9]{2}$"),
], ids=["optional field", "optional nested field", "optional field in array items", "description", "pattern"])
def test_additive_optional_fields_and_descriptions_pass(edit):
    assert incompatible_changes(BASE, changed(edit)) == []


@pytest.mark.parametrize("edit, expected", [
    (lambda s: s["properties"].pop("owner_id"), "owner_id: removed"),
    (lambda s: s["properties"]["rule"]["properties"].pop("as_of"), "rule.as_of: removed"),
    (lambda s: s["properties"]["lines"]["items"]["properties"].pop("quantity"), "lines[].quantity: removed"),
    (lambda s: s["properties"]["id"].update(type="integer"), "id: type changed from ['string'] to ['integer']"),
    (lambda s: s["properties"]["owner_id"].update(type="string"),
     "owner_id: type changed from ['null', 'string'] to ['string']"),
    (lambda s: s["properties"]["amount"].update(format="float"), "amount: format changed from 'decimal' to 'float'"),
    (lambda s: s["properties"]["status"].update(enum=["open"]), "status: enum changed"),
    (lambda s: s["properties"]["lines"]["items"]["properties"]["quantity"].update(type="string"),
     "lines[].quantity: type changed"),
    (lambda s: s["properties"]["lines"].update(items={"type": "string"}), "lines[]: type changed"),
    (lambda s: s["required"].append("owner_id"), "owner_id: made required"),
    (lambda s: s["properties"]["rule"]["required"].append("as_of"), "rule.as_of: made required"),
    (lambda s: (s["properties"].update(note={"type": "string"}), s["required"].append("note")),
     "note: added as required"),
], ids=["field removed", "nested field removed", "field of array items removed", "type changed",
        "nullable no more", "format changed", "enum changed", "type changed in array items",
        "array items type changed", "made required", "nested field made required", "new required field"])
def test_each_incompatible_change_is_caught(edit, expected):
    changes = incompatible_changes(BASE, changed(edit))
    assert any(change.startswith(expected) for change in changes), changes


def test_every_change_is_named():
    def edit(s):
        s["properties"].pop("owner_id")
        s["properties"]["id"]["type"] = "integer"
        s["required"].append("status")
    assert len(incompatible_changes(BASE, changed(edit))) == 3
