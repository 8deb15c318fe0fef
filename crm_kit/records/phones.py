"""The platform's phone rule as a marshmallow validator (``phone_number``), stated in the JSON
Schema (``PHONE_PATTERN``) so a schema-valid phone is never refused: any text with at least 5
digits (ASCII or full-width) once a +86 / 0086 prefix is dropped (``text.normalize_phone``, the
duplicate key). Leads' and customers' phones (and their contacts') validate with it."""
from __future__ import annotations

from marshmallow import ValidationError

from crm_kit.records.jsonschema import documented
from crm_kit.records.text import normalize_phone

# As a pattern, digits D, anything else S: 5 to 8 digits not starting 0086, or 9 and more.
_D, _S = "[0-9０-９]", "[^0-9０-９]*"
PHONE_PATTERN = (
    rf"^{_S}(?:[1-9１-９]{_S}(?:{_D}{_S}){{4,}}"
    rf"|[0０]{_S}[1-9１-９]{_S}(?:{_D}{_S}){{3,}}"
    rf"|[0０]{_S}[0０]{_S}[0-79０-７９]{_S}(?:{_D}{_S}){{2,}}"
    rf"|[0０]{_S}[0０]{_S}[8８]{_S}[0-57-9０-５７-９]{_S}(?:{_D}{_S}){{1,}}"
    rf"|(?:{_D}{_S}){{9,}})$")


@documented({"pattern": PHONE_PATTERN,
             "description": "At least 5 digits once a +86 / 0086 prefix is dropped; other characters "
                            "(spaces, dashes, brackets) are ignored."})
def phone_number(value: str | None) -> None:
    key = normalize_phone(value) if value is not None else ""
    if value is not None and (key is None or len(key) < 5):
        raise ValidationError("Not a valid phone number.")
