"""Typed errors cross RPC intact and carry the right HTTP status."""
from __future__ import annotations

import json

import pytest
from marshmallow import Schema, ValidationError, fields
from nameko.exceptions import RemoteError, deserialize, serialize

from crm_kit import errors
from crm_kit.errors import (
    BadRequest,
    Conflict,
    CrmError,
    Duplicate,
    Forbidden,
    Gone,
    InvalidState,
    LimitExceeded,
    NotFound,
    ServiceUnavailable,
    StaleVersion,
    TooManyRequests,
    Unauthorized,
    ValidationFailed,
)


def _all_subclasses(cls):
    out = [cls]
    for sub in cls.__subclasses__():
        out.extend(_all_subclasses(sub))
    return out


KIT_ERRORS = [c for c in _all_subclasses(CrmError) if c.__module__ == "crm_kit.errors"]

EXPECTED_STATUS = {
    CrmError: 500, BadRequest: 400, ValidationFailed: 422, Unauthorized: 401, Forbidden: 403,
    NotFound: 404, Conflict: 409, InvalidState: 409, Duplicate: 409, StaleVersion: 409,
    LimitExceeded: 409, Gone: 410, TooManyRequests: 429, ServiceUnavailable: 503,
}


def _over_the_wire(exc):
    """What nameko does to an RPC error: serialize, send as JSON, deserialize."""
    return deserialize(json.loads(json.dumps(serialize(exc))))


def test_every_kit_error_is_listed():
    assert set(KIT_ERRORS) == set(EXPECTED_STATUS)


@pytest.mark.parametrize("cls", KIT_ERRORS, ids=lambda c: c.__name__)
def test_round_trip_keeps_class_detail_and_extra(cls):
    extra = {"code": "x1", "errors": {"name": ["Missing data for required field."]},
             "current_state": "converted", "nested": {"a": ["b", "c"]}}
    original = cls("Something specific happened.", extra)
    back = _over_the_wire(original)
    assert type(back) is cls
    assert back.detail == "Something specific happened."
    assert back.extra == extra
    assert str(back) == "Something specific happened."
    assert back.status == EXPECTED_STATUS[cls]


def test_round_trip_keeps_non_string_extra_values():
    """``extra`` must cross RPC intact, not only its strings: the gateway forwards ``limit``
    (and 429's ``retry_after``) to clients, and ``existing_id``/``contact_id`` may be null.
    nameko's ``safe_for_serialization`` stringifies every non-string value in ``exc.args``
    (5 -> "5", None -> "None", True -> "True"), so the kit must not put raw values there."""
    extra = {"limit": 5, "retry_after": 30, "existing_id": None, "flag": True,
             "errors": {"lines.0.quantity": ["Must be at least 1."]}, "ids": [1, 2]}
    back = _over_the_wire(LimitExceeded("Too many leads held.", extra))
    assert type(back) is LimitExceeded
    assert back.extra == extra


@pytest.mark.parametrize("cls", KIT_ERRORS, ids=lambda c: c.__name__)
def test_round_trip_without_extra(cls):
    back = _over_the_wire(cls("plain"))
    assert type(back) is cls
    assert back.detail == "plain"
    assert back.extra == {}


@pytest.mark.parametrize("cls,status", EXPECTED_STATUS.items(), ids=lambda v: getattr(v, "__name__", str(v)))
def test_status_codes(cls, status):
    assert cls.status == status
    assert cls("x").status == status


def test_title_and_slug_distinct_per_class():
    slugs = [c.slug for c in KIT_ERRORS]
    assert len(slugs) == len(set(slugs))
    assert all(c.title for c in KIT_ERRORS)


def test_conflict_family_is_caught_as_conflict():
    for cls in (InvalidState, Duplicate, StaleVersion, LimitExceeded):
        assert issubclass(cls, Conflict)


def test_a_service_defined_subclass_is_registered_too():
    class QuotaReached(LimitExceeded):   # defined like a service would, anywhere
        pass
    back = _over_the_wire(QuotaReached("quota", {"code": "quota"}))
    assert type(back) is QuotaReached and back.extra == {"code": "quota"} and back.status == 409


def test_foreign_exception_becomes_remote_error():
    back = _over_the_wire(KeyError("secret internals"))
    assert isinstance(back, RemoteError)


def test_not_found_of():
    exc = NotFound.of("lead", "abc")
    assert exc.detail == "lead abc was not found."
    assert exc.extra == {"resource": "lead", "id": "abc"}
    back = _over_the_wire(exc)
    assert type(back) is NotFound and back.extra == exc.extra


def test_invalid_state_for_action():
    exc = InvalidState.for_action("lead", "convert", "converted")
    assert exc.extra == {"action": "convert", "current_state": "converted"}
    assert "converted" in exc.detail and "convert" in exc.detail
    back = _over_the_wire(exc)
    assert type(back) is InvalidState and back.extra["current_state"] == "converted"


def test_validation_failed_from_messages_flattens_nested():
    messages = {
        "name": ["Missing data for required field."],
        "opportunity": {"amount": ["Not a valid number."], "name": ["Shorter than minimum length 1."]},
        "lines": {0: {"quantity": ["Must be greater than or equal to 1."]}, 2: {"sku": ["Unknown."]}},
        "deep": {"a": {"b": {"c": ["x"]}}},
    }
    exc = ValidationFailed.from_messages(messages)
    assert exc.errors == {
        "name": ["Missing data for required field."],
        "opportunity.amount": ["Not a valid number."],
        "opportunity.name": ["Shorter than minimum length 1."],
        "lines.0.quantity": ["Must be greater than or equal to 1."],
        "lines.2.sku": ["Unknown."],
        "deep.a.b.c": ["x"],
    }
    assert exc.detail == "The request has invalid fields."
    assert exc.status == 422
    back = _over_the_wire(exc)
    assert type(back) is ValidationFailed and back.errors == exc.errors


def test_validation_failed_from_messages_top_level_list_and_custom_detail():
    exc = ValidationFailed.from_messages(["Expected a JSON object."], "bad body")
    assert exc.errors == {"_schema": ["Expected a JSON object."]}
    assert exc.detail == "bad body"
    exc = ValidationFailed.from_messages({"_schema": ["Invalid input type."]})
    assert exc.errors == {"_schema": ["Invalid input type."]}


def test_validation_failed_from_real_marshmallow_nested_messages():
    class Line(Schema):
        sku = fields.String(required=True)
        quantity = fields.Integer(required=True)

    class Order(Schema):
        customer_id = fields.String(required=True)
        lines = fields.List(fields.Nested(Line), required=True)
        tags = fields.List(fields.String())

    with pytest.raises(ValidationError) as info:
        Order().load({"lines": [{"sku": "a", "quantity": 1}, {"quantity": "many"}], "tags": ["ok", 5]})
    exc = ValidationFailed.from_messages(info.value.messages)
    assert set(exc.errors) == {"customer_id", "lines.1.sku", "lines.1.quantity", "tags.1"}
    assert all(isinstance(v, list) and all(isinstance(m, str) for m in v) for v in exc.errors.values())


def test_expected_errors_cover_every_kit_error():
    assert all(issubclass(c, errors.EXPECTED) for c in KIT_ERRORS)


# -- what a client sees: each class's ``public`` fields of ``extra``, no others -----------------------
CONFLICT_PUBLIC = {"errors", "current_state", "action", "existing_id", "field", "current_version", "retry_after"}
EXPECTED_PUBLIC = {
    CrmError: {"errors"}, BadRequest: {"errors", "reason"}, ValidationFailed: {"errors"},
    Unauthorized: {"errors", "reason"}, Forbidden: {"errors", "action", "reason"}, NotFound: {"errors"},
    Conflict: CONFLICT_PUBLIC, InvalidState: CONFLICT_PUBLIC | {"allowed_actions", "allowed_until"},
    Duplicate: CONFLICT_PUBLIC, StaleVersion: CONFLICT_PUBLIC,
    LimitExceeded: CONFLICT_PUBLIC | {"limit", "max", "current", "available_at"},
    Gone: {"errors", "reason", "expired_at", "used_at"},
    TooManyRequests: {"errors", "retry_after", "limit"}, ServiceUnavailable: {"errors", "service", "retry_after"},
}
PRIVATE = {"resource": "lead", "id": "L1", "expected_version": 3, "error_id": "E1", "code": "x", "secret": "internals"}
PROBLEM_FIELDS = {"type", "title", "status", "detail", "instance"}


def test_every_kit_error_declares_its_public_fields():
    assert set(EXPECTED_PUBLIC) == set(KIT_ERRORS)
    for cls in KIT_ERRORS:
        assert set(cls.public) == EXPECTED_PUBLIC[cls], cls.__name__
        assert len(cls.public) == len(set(cls.public)), cls.__name__


def _client_sees(exc) -> dict:
    from gateway import problems
    return json.loads(problems.from_exception(exc, "/x").get_data())


def _every_field(cls) -> dict:
    """A value for every field any kit error declares, and private ones besides."""
    every = {name for names in EXPECTED_PUBLIC.values() for name in names}
    return {**{name: 1 if name in ("retry_after", "max", "current", "current_version") else f"v-{name}"
               for name in every}, **PRIVATE}


@pytest.mark.parametrize("cls", [c for c in KIT_ERRORS if c.status != 500], ids=lambda c: c.__name__)
def test_the_client_sees_exactly_the_declared_fields(cls):
    seen = _client_sees(_over_the_wire(cls("Something.", _every_field(cls))))
    assert set(seen) - PROBLEM_FIELDS == EXPECTED_PUBLIC[cls]
    assert seen["status"] == cls.status and seen["detail"] == "Something."


def test_a_500_shows_its_error_id_and_nothing_else():
    seen = _client_sees(CrmError("An internal error occurred.", _every_field(CrmError)))
    assert set(seen) - PROBLEM_FIELDS == {"error_id"} and seen["error_id"] == "E1"


def test_limit_exceeded_shows_max_current_and_available_at():
    seen = _client_sees(_over_the_wire(LimitExceeded("Limit max_held reached.", {
        "limit": "max_held", "max": 2, "current": 2, "resource": "lead pool"})))
    assert (seen["limit"], seen["max"], seen["current"]) == ("max_held", 2, 2) and "resource" not in seen
    seen = _client_sees(LimitExceeded("Cooldown.", {"limit": "reclaim_cooldown_days", "max": 2,
                                                   "available_at": "2030-01-02T00:00:00+00:00"}))
    assert seen["available_at"] == "2030-01-02T00:00:00+00:00" and seen["max"] == 2


def test_a_subclass_extends_its_parents_public_fields_and_cannot_hide_them():
    class QuotaReached(LimitExceeded):
        public = LimitExceeded.public + ("quota",)
    assert set(QuotaReached.public) == EXPECTED_PUBLIC[LimitExceeded] | {"quota"}
    seen = _client_sees(QuotaReached("Quota.", {"quota": 5, "max": 5, "secret": "x"}))
    assert set(seen) - PROBLEM_FIELDS == {"quota", "max"}
    with pytest.raises(TypeError, match="must extend"):
        class Hiding(Conflict):          # noqa: F841 -- would hide existing_id, current_state...
            public = ("errors",)
