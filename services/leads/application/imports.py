"""The CSV import of leads: the file read and checked, each row reported (created, duplicate with
the live lead's id, invalid with why), a bad row never stopping or half-writing another.

Without a pool the rows go in by chunks (``import_chunks``); with a pool, one transaction a row
through ``create_lead`` (the pool's distribution decides each lead in turn). The report is this
request's reply, recorded in a last tiny transaction (the rows were committed chunk by chunk).
"""
from __future__ import annotations

from crm_kit.context import Principal
from crm_kit.errors import ValidationFailed
from crm_kit.records.csv_files import read_csv
from crm_kit.runtime.uow import UnitOfWork
from services.leads.application.import_chunks import import_chunks, import_one, row_data

IMPORT_COLUMNS = ("name", "company", "phone", "email", "source", "campaign_id", "region", "industry", "notes")
MAX_IMPORT_ROWS = 5000
_REPORT_COUNTS = {"created": "created", "duplicate": "duplicates", "invalid": "invalid"}


def import_leads(uow: UnitOfWork, principal: Principal, csv_text, pool_id: str | None = None) -> dict:
    """Leads from CSV (UTF-8, with or without BOM, a header row naming ``IMPORT_COLUMNS``), each
    row reported as ``ImportReport`` says."""
    if not isinstance(csv_text, str):
        raise ValidationFailed.from_messages({"_body": ["Expected CSV text."]})
    if pool_id is not None and not isinstance(pool_id, str):
        raise ValidationFailed.from_messages({"pool_id": ["Not a valid string."]})
    header, rows = _read(csv_text)
    entries = new_entries(header, rows)
    if pool_id:
        # A pool import: the pool's distribution decides each lead in turn (one transaction a row).
        for entry in entries:
            if "_values" in entry:
                import_one(uow, principal, entry, dict(row_data(header, entry.pop("_values")), pool_id=pool_id))
    else:
        import_chunks(uow, principal, header, entries)
    report = report_counts(entries)
    report["rows"] = entries      # each entry holds exactly the report row's fields: as ImportReport dumps it
    with uow:    # the report, as this request's reply (the rows were committed chunk by chunk)
        return uow.commit(report)


def new_entries(header: list[str], rows: list[tuple[int, list[str]]]) -> list[dict]:
    """A report entry per row (created until told otherwise), its values kept (``_values``) unless
    it has the wrong number of them (invalid)."""
    entries = []
    for line_no, values in rows:
        entry = {"row": line_no, "outcome": "created", "id": None, "existing_id": None, "errors": {}}
        entries.append(entry)
        if len(values) != len(header):
            entry.update(outcome="invalid", errors={"_row": [f"Expected {len(header)} values, got {len(values)}."]})
            continue
        entry["_values"] = values
    return entries


def report_counts(entries: list[dict]) -> dict:
    report = {"created": 0, "duplicates": 0, "invalid": 0}
    for entry in entries:
        report[_REPORT_COUNTS[entry["outcome"]]] += 1
    return report


def _read(csv_text: str, max_rows: int | None = None) -> tuple[list[str], list[tuple[int, list[str]]]]:
    """The header (lower-cased column names) and the non-blank rows with their line numbers;
    ``ValidationFailed`` for the file itself (not CSV, empty, a bad header, too many rows)."""
    header, rows = read_csv(csv_text, MAX_IMPORT_ROWS if max_rows is None else max_rows)
    header = [h.lower() for h in header]
    unknown = [h for h in header if h not in IMPORT_COLUMNS]
    if unknown or "name" not in header or len(set(header)) != len(header):
        raise ValidationFailed.from_messages({"_header": [
            f"The header must name distinct columns among {', '.join(IMPORT_COLUMNS)} (name is required)"
            + (f"; unknown: {', '.join(unknown)}" if unknown else "") + "."]})
    return header, rows
