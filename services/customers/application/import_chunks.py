"""How a customer import writes its rows: in chunks, each prepared while the one before is written
(as leads' import: ``bench/README.md``, "How the import is written").

- **prepare** (:func:`prepare_chunk`: CPU, plus one query per duplicate key on its own session):
  each row checked (``import_rows``), built as ``create_customer`` would insert it -- the customer,
  its tags, its contact (primary), its owner's first stretch -- with its ``customer_created`` and
  ``contact_created`` payloads and its audit entries' changes (what the rows share made once), and
  told apart from duplicates: of a customer there (one query each for the chunk's names, phones and
  contact phones) or of an earlier row of the file (the first wins, so no two chunks insert the
  same name or phone).
- **write** (:func:`write_chunk`): the chunk's rows, audit entries and outbox rows in one
  transaction (one round trip on PostgreSQL: ``import_storage``).

``crm_kit.runtime.pipeline.run_ahead`` runs the preparation ahead of the writing; on PostgreSQL two
chunks are written at once (``import_storage.writers_at_once``).
"""
from __future__ import annotations

import functools
from dataclasses import dataclass, field

from crm_kit.context import Principal
from crm_kit.ids import new_id
from crm_kit.records import audit
from crm_kit.records.db import utcnow
from crm_kit.records.text import normalize_name, normalize_phone
from crm_kit.runtime.pipeline import in_parallel, pause, run_ahead
from crm_kit.runtime.uow import UnitOfWork
from services.customers import domain
from services.customers.application import import_storage as storage
from services.customers.application.import_rows import CUSTOMER_FIELDS, load_rows
from services.customers.events import CONTACT_CREATED, CUSTOMER_CREATED

IMPORT_CHUNK = 1000   # rows checked, duplicate-checked and inserted together (one transaction)
PAUSE_EVERY = 25      # rows prepared between two pauses (the writer waits no longer for the CPU)
# the field a duplicate key is reported on, and the message
DUPLICATE = {"name": ("name", "A customer with this name already exists."),
             "mobile": ("mobile", "A customer with this phone (mobile or telephone) already exists."),
             "telephone": ("telephone", "A customer with this phone (mobile or telephone) already exists."),
             "contact_phone": ("contact_phone", "A contact with this phone already exists.")}


@dataclass
class ImportState:
    """What an import's chunks share: the pool (or None), and the keys this file has given a
    customer so far (a later row with one of them is a duplicate of that customer)."""
    pool_id: str | None = None
    seen: dict = field(default_factory=dict)
    cache: dict = field(default_factory=dict)     # values validated already (import_rows)
    completeness: dict = field(default_factory=dict)   # profile completeness by the fields a row fills


@dataclass
class Built:
    entry: dict
    customer: dict
    tags: list[str]
    contact: dict | None
    keys: list[tuple[str, str, str]]       # (kind, key, field) of its duplicate keys
    id: str | None = None                  # the customer's, once kept


def import_chunks(uow: UnitOfWork, principal: Principal, entries: list[dict], pool_id: str | None) -> None:
    """The rows (entries holding their ``_data``), ``IMPORT_CHUNK`` to a transaction: each chunk is
    prepared while the one before it is written (``run_ahead``)."""
    state = ImportState(pool_id)
    chunks = [entries[start:start + IMPORT_CHUNK] for start in range(0, len(entries), IMPORT_CHUNK)]
    prepare = functools.partial(prepare_chunk, uow.session_factory, state, principal)
    # Chunks hold no key in common (prepare kept only a key's first row): they may be written at once.
    parallel = storage.writers_at_once(uow)
    in_parallel(lambda prepared: write_chunk(uow.sibling() if parallel > 1 else uow, prepared),
                run_ahead(prepare, chunks), parallel)


def prepare_chunk(session_factory, state: ImportState, principal: Principal, entries: list[dict]) -> dict:
    """Everything but the writing (its own session, so it runs while the chunk before is written):
    invalid rows and duplicates are marked in their entries; the others come back built, with
    their payloads and audit changes, to be inserted."""
    todo = [entry for entry in entries if "_data" in entry]
    loaded = []
    for start in range(0, len(todo), PAUSE_EVERY):     # pause: let the write of the chunk before go on
        loaded += load_rows([e["_data"] for e in todo[start:start + PAUSE_EVERY]], state.cache)
        pause()
    built = []
    for entry, (row, errors) in zip(todo, loaded):
        del entry["_data"]
        if errors is not None:
            entry.update(outcome="invalid", errors=errors)
            continue
        customer = row.customer          # (the loaded row's own dicts: given their keys here)
        tags = customer.pop("tags")
        name_key = normalize_name(customer["name"])
        mobile_key, telephone_key = normalize_phone(customer.get("mobile")), normalize_phone(customer.get("telephone"))
        keys = [("name", name_key, "name")]
        if mobile_key:
            keys.append(("phone", mobile_key, "mobile"))
        if telephone_key:
            keys.append(("phone", telephone_key, "telephone"))
        contact = row.contact
        contact_key = None
        if contact:
            contact_key = normalize_phone(contact.get("phone"))
            if contact_key:
                keys.append(("contact_phone", contact_key, "contact_phone"))
            contact["phone_key"] = contact_key
        customer["name_key"], customer["mobile_key"], customer["telephone_key"] = name_key, mobile_key, telephone_key
        built.append(Built(entry, customer, tags, contact or None, keys))
    wanted = {"name": set(), "phone": set(), "contact_phone": set()}
    seen = state.seen
    for b in built:
        for kind, key, _ in b.keys:
            if (kind, key) not in seen:
                wanted[kind].add(key)
    found = {}
    if any(wanted.values()):
        with session_factory() as session:
            found = storage.holders(session, sorted(wanted["name"]), sorted(wanted["phone"]),
                                    sorted(wanted["contact_phone"]))
    kept = []
    for b in built:
        duplicate = next(((kind, key, f) for kind, key, f in b.keys
                          if (kind, key) in state.seen or (kind, key) in found), None)
        if duplicate:
            kind, key, f = duplicate
            report_field, message = DUPLICATE[f]
            b.entry.update(outcome="duplicate", existing_id=state.seen.get((kind, key)) or found[(kind, key)],
                           errors={report_field: [message]})
            continue
        b.id = new_id()
        for kind, key, _ in b.keys:          # a later row with one of these keys duplicates this one
            state.seen[(kind, key)] = b.id
        kept.append(b)
    return _rows_of(kept, state, principal)


def _rows_of(kept: list[Built], state: ImportState, principal: Principal) -> dict:
    """The rows the kept entries insert, their payloads and audit changes."""
    now = utcnow()
    template = storage.customer_template(principal, now, state.pool_id)
    contact_template = storage.contact_template(template)
    # every row is the template but for its fields, id and keys: what they share is made once
    customer_varying = CUSTOMER_FIELDS | _VARYING_KEYS
    customer_payload = CUSTOMER_CREATED.dumper_sharing(dict(template, tags=[], primary_contact_id=None),
                                                       customer_varying | {"tags", "primary_contact_id"})
    customer_changes = audit.created_sharing(template, storage.CUSTOMER_AUDITED, customer_varying)
    contact_varying = {"id", "customer_id", "name", "title", "phone", "phone_key", "email", "birthday", "notes"}
    contact_payload = CONTACT_CREATED.dumper_sharing(contact_template, contact_varying)
    contact_changes = audit.created_sharing(contact_template, storage.CONTACT_AUDITED, contact_varying)
    out = {"entries": [], "customers": [], "customer_changes": [], "tags": [], "contacts": [],
           "contact_changes": [], "stretches": [], "customer_payloads": [], "contact_payloads": []}
    for i, b in enumerate(kept):
        if i % PAUSE_EVERY == PAUSE_EVERY - 1:
            pause()
        customer = {**template, **b.customer, "id": b.id,
                    "profile_completeness": _completeness(state.completeness, b.customer, b.tags)}
        changes = customer_changes(customer)
        if b.tags:
            changes["tags"] = [None, list(b.tags)]        # as given, as create_customer's audit lists them
        contact = storage.new_row(contact_template, b.contact, customer_id=customer["id"]) if b.contact else None
        out["entries"].append((b.entry, customer["id"], contact["id"] if contact else None))
        out["customers"].append(customer)
        out["customer_changes"].append(changes)
        out["tags"] += [{"customer_id": customer["id"], "tag": tag} for tag in b.tags]
        out["customer_payloads"].append(customer_payload(
            dict(customer, tags=b.tags, primary_contact_id=contact["id"] if contact else None)))
        if contact:
            out["contacts"].append(contact)
            out["contact_changes"].append(contact_changes(contact))
            out["contact_payloads"].append(contact_payload(contact))
        if customer["owner_id"]:
            out["stretches"].append(storage.ownership_row(customer, principal.user_id))
    return out


def _completeness(cache: dict, fields: dict, tags: list[str]) -> int:
    """``domain.profile_completeness`` of a new customer: it depends on its kind and on which of its
    fields are filled (a loaded value is never blank), so it is computed once per such shape."""
    shape = (fields.get("kind"), frozenset(k for k, v in fields.items() if v is not None), bool(tags))
    done = cache.get(shape)
    if done is None:
        done = cache[shape] = domain.profile_completeness(dict(fields, tags=tags))
    return done


# Keys of a customer row that differ from the template's beyond the row's own fields: the id, the
# duplicate keys, the completeness computed from the fields.
_VARYING_KEYS = frozenset({"id", "name_key", "mobile_key", "telephone_key", "profile_completeness"})


def write_chunk(uow: UnitOfWork, prepared: dict) -> None:
    """The new customers of a chunk, their tags, contacts, owner stretches, audit entries and
    ``customer_created`` / ``contact_created`` outbox rows, in one transaction."""
    if not prepared["customers"]:
        return
    with uow:
        uow.emit_dumped(CUSTOMER_CREATED, prepared["customer_payloads"])
        uow.emit_dumped(CONTACT_CREATED, prepared["contact_payloads"])
        storage.insert_new(uow, prepared["customers"], prepared["customer_changes"], prepared["tags"],
                           prepared["contacts"], prepared["contact_changes"], prepared["stretches"])
        uow.commit()
    for entry, customer_id, contact_id in prepared["entries"]:
        entry.update(id=customer_id, contact_id=contact_id)
