"""Input schemas never let through a text longer than the column that stores it.

PostgreSQL refuses such a value (``DataError``), which would reach the user as a 500 instead
of a 422 naming the field; SQLite would store it silently. Every text field of an input schema
whose name is a column of its service's tables must be bounded (a ``Length`` max, or a
``Regexp``/``OneOf`` that bounds it) by the shortest such column.
"""
from __future__ import annotations

import importlib
import inspect

import pytest
from marshmallow import fields, validate
from sqlalchemy import String

from crm_kit.records.db import make_base
from crm_kit.records.schemas import InputSchema

SERVICES = [("leads", "services.leads.schemas", "services.leads.models"),
            ("customers", "services.customers.schemas", "services.customers.models"),
            ("sales", "services.sales.schemas", "services.sales.models"),
            ("gateway", "gateway.schemas", "gateway.models")]


KIT_TABLES = set(make_base().metadata.tables)      # outbox, audit_log, job_runs...: no input writes them


def _column_lengths(metadata) -> dict[str, int]:
    lengths: dict[str, int] = {}
    for table in metadata.tables.values():
        if table.name in KIT_TABLES:
            continue
        for column in table.columns:
            if isinstance(column.type, String) and column.type.length:
                lengths[column.name] = min(column.type.length, lengths.get(column.name, column.type.length))
    return lengths


@pytest.mark.parametrize("service,schemas_module,models_module", SERVICES)
def test_input_text_fits_its_column(service, schemas_module, models_module):
    schemas, models = importlib.import_module(schemas_module), importlib.import_module(models_module)
    lengths = _column_lengths(models.Base.metadata)
    checked, unbounded = 0, []
    # a schemas package that does not re-export its modules' names lists them (``modules()``)
    found = {k: v for module in [schemas, *getattr(schemas, "modules", list)()] for k, v in vars(module).items()}
    for name, cls in found.items():
        if not (inspect.isclass(cls) and issubclass(cls, InputSchema) and cls is not InputSchema):
            continue
        for field_name, field in cls().fields.items():
            column = field.attribute or field_name
            if field.dump_only or not isinstance(field, fields.String) or column not in lengths:
                continue
            checked += 1
            maxes = [v.max for v in field.validators if isinstance(v, validate.Length) and v.max is not None]
            bounded_otherwise = any(isinstance(v, (validate.Regexp, validate.OneOf)) for v in field.validators)
            if (not maxes and not bounded_otherwise) or (maxes and min(maxes) > lengths[column]):
                unbounded.append(f"{name}.{field_name} (column: {lengths[column]})")
    assert checked > 3, f"{service}: no text field was checked"
    assert not unbounded, f"{service}: text longer than its column reaches the database: {unbounded}"
