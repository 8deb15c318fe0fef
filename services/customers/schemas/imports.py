"""The CSV import of customers with their contacts (its row and its report) and the CSV export (its
query)."""
from __future__ import annotations

import copy

from marshmallow import Schema, fields, validate

from crm_kit.records.schemas import InputSchema
from services.customers.domain.import_columns import CONTACT_COLUMNS
from services.customers.schemas.follow_ups import when
from services.customers.schemas.lists import CustomerListQuery
from services.customers.schemas.records import CUSTOMER_SERVER_OWNED, ContactCreate, CustomerCreate


def _row_schema() -> type[InputSchema]:
    """One row of an import file as text: ``CustomerCreate``'s own fields (the same validators, so a
    row is valid exactly when ``create_customer`` would take it), ``tags`` as one text cell, the
    contact's fields as ``contact_<field>`` (``ContactCreate``'s), and the next contact time (a
    WukongCRM column). No row-level hooks (``crm_kit.records.text_rows`` loads it a column at a
    time): the rules across fields (individuals' fields, a location's two halves, a contact needs a
    name) are ``application.import_rows``'."""
    attrs: dict = {}
    for name, field in CustomerCreate._declared_fields.items():
        if isinstance(field, (fields.Nested, fields.List, fields.Dict)):
            continue                                  # tags: a cell below; contacts: the contact_ columns
        attrs[name] = copy.deepcopy(field)
    attrs["tags"] = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=2000),
                                  metadata={"description": "separated by ; , 、 or |"})
    for column, attr in CONTACT_COLUMNS.items():
        clone = copy.deepcopy(ContactCreate._declared_fields[attr])
        clone.required, clone.load_default, clone.allow_none = False, None, True
        attrs[column] = clone
    attrs["next_contact_at"] = when(load_default=None, allow_none=True)
    meta = type("Meta", (InputSchema.Meta,), {"server_owned": CUSTOMER_SERVER_OWNED})
    return type("_CustomerImportRow", (InputSchema,), {**attrs, "Meta": meta})


_CustomerImportRow = _row_schema()


class _CustomerImportRowReport(Schema):
    row = fields.Integer(metadata={"description": "line number in the file (header = 1)"})
    outcome = fields.String(metadata={"description": "created | duplicate | invalid"})
    id = fields.String(allow_none=True, metadata={"description": "the customer created"})
    contact_id = fields.String(allow_none=True, metadata={"description": "its contact, when the row gave one"})
    existing_id = fields.String(allow_none=True, metadata={
        "description": "the customer it duplicates (an existing one, or an earlier row's)"})
    errors = fields.Dict(keys=fields.String(), values=fields.List(fields.String()),
                         metadata={"description": "field -> reasons (invalid rows; for a duplicate, the field "
                                                  "that matched)"})


class CustomerImportReport(Schema):
    """What a customer import did, row by row."""
    created = fields.Integer()
    duplicates = fields.Integer()
    invalid = fields.Integer()
    contacts_created = fields.Integer()
    columns = fields.Dict(keys=fields.String(), values=fields.List(fields.String()), metadata={
        "description": "each column of the file -> the fields it was read into (empty: skipped)"})
    ignored_columns = fields.List(fields.String(), metadata={
        "description": "columns skipped (another CRM's ids, owners, times; or mapped to null)"})
    pool_id = fields.String(allow_none=True, metadata={"description": "the pool the customers went into"})
    rows = fields.List(fields.Nested(_CustomerImportRowReport))


class CustomerExportQuery(CustomerListQuery):
    """The customer list's preset views and filters. The export has every customer they match
    (newest first: ``sort`` and ``direction`` do not apply), streamed; ``limit`` (optional) keeps
    only the first rows."""

    class Meta(CustomerListQuery.Meta):
        exclude = ("cursor", "sort", "direction")

    limit = fields.Integer(load_default=None, allow_none=True, validate=validate.Range(min=1),
                           metadata={"description": "at most this many rows (default: every matching customer)"})
