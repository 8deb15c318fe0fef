"""The CSV import of customers with their contacts: the file read, its columns resolved to our fields
(our names, a mapping given with the request, Salesforce's and WukongCRM's columns:
``domain.import_columns``), each row reported (created with its contact, duplicate with the
customer it duplicates, invalid with why), a bad row never stopping or half-writing another.

The rows go in by chunks (``import_chunks``), owned by the caller, or straight into a pool the
caller manages (``pool_id``). The report is this request's reply, recorded in a last tiny
transaction (the rows were committed chunk by chunk).
"""
from __future__ import annotations

from crm_kit.context import Principal
from crm_kit.errors import ValidationFailed
from crm_kit.records.csv_files import read_csv
from crm_kit.runtime.pipeline import fewer_collections
from crm_kit.runtime.uow import UnitOfWork
from services.customers.application.access import pool_for
from services.customers.application.import_chunks import import_chunks
from services.customers.application.import_rows import ROW_FIELDS
from services.customers.domain import import_columns

MAX_IMPORT_ROWS = 5000
_REPORT_COUNTS = {"created": "created", "duplicate": "duplicates", "invalid": "invalid"}


def import_customers(uow: UnitOfWork, principal: Principal, csv_text, pool_id: str | None = None,
                     mapping=None) -> dict:
    """Customers (and a contact each) from CSV: UTF-8, with or without BOM, a header row. ``mapping``:
    ``{"source column": "our field" or null}`` (a JSON object, or its text), tried before our names
    and the aliases. ``pool_id``: into this pool (the caller manages it), without an owner. The
    report is ``CustomerImportReport``."""
    resolved, entries = read_import(csv_text, pool_id, mapping)
    if pool_id:
        with uow:       # the pool exists, and the caller may put customers in it (its admins, an admin)
            pool_for(uow.session, principal, pool_id, manage=True)
    with fewer_collections():      # its rows live until the report: collections would scan them again and again
        import_chunks(uow, principal, entries, pool_id or None)
    report = {**report_counts(entries), "pool_id": pool_id or None, **columns_of(resolved)}
    report["rows"] = entries      # each entry holds exactly the report row's fields: as the report dumps it
    with uow:    # the report, as this request's reply (the rows were committed chunk by chunk)
        return uow.commit(report)


def read_import(csv_text, pool_id, mapping, max_rows: int | None = None) -> tuple:
    """The file's columns resolved and a report entry per row (its values in ``_data``), or
    ``ValidationFailed`` for the file itself (its header, the mapping, too many rows)."""
    if pool_id is not None and not isinstance(pool_id, str):
        raise ValidationFailed.from_messages({"pool_id": ["Not a valid string."]})
    given, problem = import_columns.parse_mapping(mapping)
    if problem:
        raise ValidationFailed.from_messages({"mapping": [problem]})
    header, rows = read_csv(csv_text, MAX_IMPORT_ROWS if max_rows is None else max_rows)
    resolved, errors = import_columns.resolve(header, ROW_FIELDS, given)
    if errors:
        raise ValidationFailed.from_messages({"_header": errors})
    entries = []
    for line_no, values in rows:
        entry = {"row": line_no, "outcome": "created", "id": None, "contact_id": None, "existing_id": None,
                 "errors": {}}
        entries.append(entry)
        if len(values) != len(header):
            entry.update(outcome="invalid", errors={"_row": [f"Expected {len(header)} values, got {len(values)}."]})
            continue
        entry["_data"] = import_columns.row_values(resolved, values)
    return resolved, entries


def columns_of(resolved) -> dict:
    return {"columns": {c.name: sorted({target for target, _ in c.targets}) for c in resolved.columns},
            "ignored_columns": list(resolved.ignored)}


def report_counts(entries: list[dict]) -> dict:
    report = {"created": 0, "duplicates": 0, "invalid": 0}
    for entry in entries:
        report[_REPORT_COUNTS[entry["outcome"]]] += 1
    report["contacts_created"] = sum(1 for e in entries if e["contact_id"])
    return report
