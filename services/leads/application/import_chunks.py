"""How an import without a pool writes its rows: in chunks, each prepared while the one before is
written (``bench/README.md``, "How the import is written").

- **prepare** (:func:`prepare_chunk`: CPU, plus one query on its own session): each row validated
  (``crm_kit.records.text_rows.TextRowsLoader``), built as the lead ``create_lead`` would insert, with its
  ``lead_created`` payload and its audit entry's changes (what the rows share made once), and told
  apart from duplicates -- of a live lead (one query for the chunk's phones) or of an earlier row of
  the file (the first wins, so no two chunks insert the same phone).
- **write** (:func:`write_chunk`): the chunk's leads, audit entries and outbox rows in one
  transaction (one round trip on PostgreSQL: ``storage``); refused by the unique index (a lead
  with one of the phones created meanwhile), the chunk is redone row by row by ``create_lead``.

``crm_kit.runtime.pipeline.run_ahead`` runs the preparation ahead of the writing; on PostgreSQL two chunks
are written at once (``storage.writers_at_once``).
"""
from __future__ import annotations

import functools

from crm_kit.context import Principal
from crm_kit.errors import Duplicate, ValidationFailed
from crm_kit.records import audit
from crm_kit.records.db import utcnow
from crm_kit.records.text import normalize_phone
from crm_kit.records.text_rows import TextRowsLoader
from crm_kit.runtime.pipeline import in_parallel, pause, run_ahead
from crm_kit.runtime.uow import UnitOfWork
from services.leads.application import storage
from services.leads.application.lead_record import create_lead, lead_create
from services.leads.events import LEAD_CREATED

IMPORT_CHUNK = 1000   # rows validated, duplicate-checked and inserted together (one transaction)
PAUSE_EVERY = 25      # rows prepared between two pauses (~0.5 ms: the writer waits no longer for the CPU)
_create_rows = TextRowsLoader(lead_create)      # create_lead's validation, for CSV rows in bulk


def row_data(header: list[str], values: list[str]) -> dict:
    """A CSV row as create_lead's input: the non-empty cells, stripped."""
    return {k: cell for k, v in zip(header, values) if (cell := v.strip())}


def import_one(uow: UnitOfWork, principal: Principal, entry: dict, data: dict) -> None:
    """One row as its own transaction, through create_lead (pool imports, and the fallback)."""
    try:      # (a sibling: this row's reply is not the import's)
        entry["id"] = create_lead(uow.sibling(), principal, data)["id"]
    except Duplicate as exc:
        mark_duplicate(entry, exc.extra.get("existing_id"))
    except ValidationFailed as exc:
        entry.update(outcome="invalid", errors=exc.errors)


def mark_duplicate(entry: dict, existing_id) -> None:
    entry.update(outcome="duplicate", existing_id=existing_id,
                 errors={"phone": ["A live lead with this phone already exists."]})


class ImportState:
    """What an import's chunks share: the phones this file has given a lead so far (a later row
    with one of them is a duplicate of that lead), and the ids that changed when a refused chunk
    was redone row by row (a duplicate found before may name the id it had)."""

    def __init__(self):
        self.seen: dict[str, str] = {}
        self.renamed: dict[str, str] = {}


def import_chunks(uow: UnitOfWork, principal: Principal, header: list[str], entries: list[dict]) -> None:
    """Rows without a pool, in bulk, ``IMPORT_CHUNK`` rows to a transaction: each chunk is
    prepared while the one before it is written (``run_ahead``)."""
    state = ImportState()
    chunks = [entries[start:start + IMPORT_CHUNK] for start in range(0, len(entries), IMPORT_CHUNK)]
    prepare = functools.partial(prepare_chunk, uow.session_factory, state, principal, header)
    # Chunks hold no phone in common (prepare kept only a phone's first row), so they may be
    # written at once where the database allows, each in its own transaction.
    parallel = storage.writers_at_once(uow)
    in_parallel(lambda kept: write_chunk(uow.sibling() if parallel > 1 else uow, principal, state, kept),
                run_ahead(prepare, chunks), parallel)
    if state.renamed:
        for entry in entries:
            if entry["outcome"] == "duplicate" and entry["existing_id"] in state.renamed:
                entry["existing_id"] = state.renamed[entry["existing_id"]]


def prepare_chunk(session_factory, state: ImportState, principal: Principal, header: list[str],
                  entries: list[dict]) -> list[tuple]:
    """Everything but the writing (no request context; its own session, so it runs while the
    chunk before is written): validate each row, build the lead create_lead would make of it,
    its ``lead_created`` payload and its audit entry's changes, and tell duplicates -- of a live
    lead (one query for the chunk's phones) or of an earlier row of the file (the first wins).
    Invalid rows and duplicates are marked in their entries; the others are returned as
    ``(entry, data, row, payload, changes)``, to be inserted."""
    todo = [(entry, row_data(header, entry.pop("_values"))) for entry in entries if "_values" in entry]
    owner_id = principal.user_id if not principal.is_system else None
    template = storage.lead_template(principal, utcnow(), owner_id, principal.department_id if owner_id else None,
                                     None)
    # every row is the template but for its fields, id and phone key: what they share is made once
    varying = _create_rows.attributes | {"id", "phone_key"}
    payload_of = LEAD_CREATED.dumper_sharing(template, varying)
    changes_of = audit.created_sharing(template, storage.LEAD_AUDITED, varying)
    built = []
    loaded, seen_values = [], {}
    for start in range(0, len(todo), PAUSE_EVERY):     # pause: let the write of the chunk before go on
        loaded += _create_rows.load_many([data for _, data in todo[start:start + PAUSE_EVERY]], seen_values)
        pause()
    for i, ((entry, data), (fields, errors)) in enumerate(zip(todo, loaded)):
        if i % PAUSE_EVERY == PAUSE_EVERY - 1:
            pause()
        if errors is not None:
            entry.update(outcome="invalid", errors=errors)
            continue
        row = storage.new_lead_row(template, fields, normalize_phone(fields["phone"]))
        built.append((entry, data, row, payload_of(row), changes_of(row)))
    keys = list({row["phone_key"] for _, _, row, _, _ in built if row["phone_key"]} - set(state.seen))
    holders = {}
    if keys:
        with session_factory() as session:
            holders = storage.live_phone_holders(session, keys)
    kept = []
    for item in built:
        entry, _, row, _, _ = item
        phone_key = row["phone_key"]
        if phone_key:
            holder = state.seen.get(phone_key) or holders.get(phone_key)
            if holder:
                mark_duplicate(entry, holder)
                continue
            state.seen[phone_key] = row["id"]
        kept.append(item)
    return kept


def write_chunk(uow: UnitOfWork, principal: Principal, state: ImportState, kept: list[tuple]) -> None:
    """The new leads of a chunk, their audit entries and their ``lead_created`` outbox rows, in one
    transaction. If the insert is refused (a lead with one of these phones was created meanwhile
    by someone else), the chunk is rolled back and every row is done on its own by create_lead,
    which reports it; the ids that changed are noted in ``state.renamed``."""
    if not kept:
        return
    with uow:
        uow.emit_dumped(LEAD_CREATED, [payload for _, _, _, payload, _ in kept])
        try:
            storage.insert_new_leads(uow, [row for _, _, row, _, _ in kept], [changes for _, _, _, _, changes in kept])
            uow.commit()
        except Exception as exc:
            if not storage.is_refusal(exc):
                raise
            uow.rollback()
        else:
            for entry, _, row, _, _ in kept:
                entry["id"] = row["id"]
            return
    # Refused: nothing of the chunk was written; redo its rows one by one.
    for entry, data, row, _, _ in kept:
        entry.update(outcome="created", id=None, existing_id=None, errors={})
        import_one(uow, principal, entry, data)
        holder = entry["id"] if entry["outcome"] == "created" else entry["existing_id"]
        if holder:
            state.renamed[row["id"]] = holder
