"""An import's rows checked as ``create_customer`` checks its input, in bulk: each row (our fields,
text: ``domain.import_columns.row_values``) loaded by ``schemas.imports._CustomerImportRow`` a column
at a time (``crm_kit.records.text_rows.TextRowsLoader``), then the rules across fields that
``CustomerCreate`` states as a whole (an individual's fields, a location's two halves), a contact's
name when the row gives a contact, and the tags (``CustomerCreate``'s own ``tags`` field).

``load_rows`` answers, per row, ``(Loaded, None)`` or ``(None, errors)``.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass

from marshmallow import ValidationError

from crm_kit.records.text_rows import TextRowsLoader
from services.customers import domain
from services.customers.domain.import_columns import CONTACT_COLUMNS, split_tags
from services.customers.schemas.imports import _CustomerImportRow
from services.customers.schemas.records import CustomerCreate

ROW_FIELDS = frozenset(_CustomerImportRow().fields)      # what a column may feed
CUSTOMER_FIELDS = ROW_FIELDS - set(CONTACT_COLUMNS) - {"tags"}   # the customer's own columns a row sets
_rows = TextRowsLoader(_CustomerImportRow())
_tags_field = CustomerCreate().fields["tags"]


@dataclass
class Loaded:
    customer: dict            # the customer's fields, as CustomerCreate loads them (tags a list)
    contact: dict | None      # the contact's (ContactCreate's names), if the row gives one


def load_rows(rows: list[dict], cache: dict | None = None) -> list[tuple[Loaded | None, dict | None]]:
    """Each row (``{field: text}``) as ``Loaded``, or its errors ``{field: [messages]}``."""
    out = []
    for row, (fields, errors) in zip(rows, _rows.load_many(rows, cache)):
        if errors is not None:
            out.append((None, errors))
            continue
        customer = {k: v for k, v in fields.items() if k not in CONTACT_COLUMNS}
        contact = {attr: fields[column] for column, attr in CONTACT_COLUMNS.items() if fields.get(column) is not None}
        errors = dict(domain.individual_fields_refused(customer.get("kind", "company"), customer))
        if (customer.get("latitude") is None) != (customer.get("longitude") is None):
            errors["latitude" if customer.get("latitude") is None else "longitude"] = [
                "A location needs both latitude and longitude."]
        if contact and "name" not in contact:
            errors["contact_name"] = ["Required when the row gives a contact (its phone, email, title or birthday)."]
        text = customer.get("tags")
        if not text:
            customer["tags"] = []          # (what the field loads from no tag)
        else:
            try:
                customer["tags"] = _tags_of(text)
            except ValidationError as exc:
                errors["tags"] = _messages(exc.messages)
        out.append((None, errors) if errors else (Loaded(customer, contact or None), None))
    return out


@functools.lru_cache(maxsize=1024)
def _loaded_tags(text: str) -> tuple[str, ...]:
    """A tags cell as ``CustomerCreate``'s ``tags`` loads it (a file repeats a few cells)."""
    return tuple(_tags_field.deserialize(split_tags(text)))


def _tags_of(text: str) -> list[str]:
    return list(_loaded_tags(text))      # (each row its own list)


def _messages(messages) -> list[str]:
    """A list field's messages (``{index: [..]}`` or ``[..]``) as one list."""
    if isinstance(messages, dict):
        return [f"{index}: {m}" for index, ms in messages.items() for m in ms]
    return list(messages)
