"""Where the customer import meets the database below the ORM: new customers, their tags, contacts
and ownership rows written in bulk, the duplicate keys looked up for a whole chunk at once, and
what differs between PostgreSQL and SQLite.

- **New rows without the ORM**: every column of a new customer (and contact, tag, ownership
  stretch) as the ORM would insert it -- the defaults read from the models (the one place those
  facts live) -- and the audit entries a flush would write for them, handed to the unit of work
  (``uow.insert``: written at commit with the outbox rows, on PostgreSQL in one round trip:
  ``crm_kit.records.bulk.bulk_insert_all``).
- **Duplicate holders** of a chunk's keys in one query per key (a long ``IN`` list is one array
  parameter on PostgreSQL: ``crm_kit.records.bulk.one_of``).
- **Writers at once**: two chunks on PostgreSQL (each on its own connection); one on SQLite (one
  writer at a time; its lock wait would block an eventlet process).
"""
from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from crm_kit.context import Principal
from crm_kit.ids import new_id
from crm_kit.records import audit
from crm_kit.records.bulk import one_of
from crm_kit.runtime.uow import UnitOfWork
from services.customers.models import Contact, Customer, CustomerOwnership, CustomerTag

IMPORT_WRITERS = 2    # import chunks written at once on PostgreSQL (each on its own connection)
IMPORT_KIND = "import"   # the ownership stretch's start kind


def _defaults(model) -> tuple[dict, dict]:
    table = model.__table__
    values = {c.key: (c.default.arg if c.default is not None and c.default.is_scalar else None)
              for c in table.columns}
    made = {c.key: c.default.arg for c in table.columns if c.default is not None and not c.default.is_scalar}
    return values, made


def _audited(model) -> tuple[str, ...]:
    return tuple(attr.key for attr in model.__mapper__.column_attrs
                 if attr.key not in audit.AUDIT_EXCLUDED | set(getattr(model, "__audit_exclude__", ())))


_CUSTOMER_DEFAULTS, _CUSTOMER_MADE = _defaults(Customer)
_CONTACT_DEFAULTS, _CONTACT_MADE = _defaults(Contact)
CUSTOMER_ENTITY, CONTACT_ENTITY = audit.entity_name(Customer), audit.entity_name(Contact)
# The columns an entry records (as the ORM's audit would), and the customer's tags as one field of it.
CUSTOMER_AUDITED = _audited(Customer)
CONTACT_AUDITED = _audited(Contact)


def _template(defaults: dict, made: dict, **values) -> dict:
    row = dict(defaults, **values)
    for key, make in made.items():
        if row[key] is None:          # a default the template does not give: made as the ORM would
            row[key] = make(None)
    return row


def customer_template(principal: Principal, now: dt.datetime, pool_id: str | None) -> dict:
    """Every column of the customers ``principal`` imports now, but their own fields, id and keys:
    owned by the caller (a user), or in ``pool_id`` with no owner."""
    owner_id = principal.user_id if not principal.is_system and not pool_id else None
    return _template(_CUSTOMER_DEFAULTS, _CUSTOMER_MADE, owner_id=owner_id,
                     department_id=principal.department_id if owner_id else None,
                     owner_since=now if owner_id else None, pool_id=pool_id, pool_since=now if pool_id else None,
                     created_by=principal.user_id, created_at=now, updated_at=now)


def contact_template(customer_template_row: dict) -> dict:
    """Every column of an imported customer's (primary) contact, but its own fields, id and keys."""
    t = customer_template_row
    return _template(_CONTACT_DEFAULTS, _CONTACT_MADE, is_primary=True, owner_id=t["owner_id"],
                     department_id=t["department_id"], created_at=t["created_at"], updated_at=t["updated_at"])


def new_row(template: dict, fields: dict, **keys) -> dict:
    """A new record: the template, its fields (loaded), a new id and its keys."""
    return dict(template, **fields, id=new_id(), **keys)


def ownership_row(customer: dict, by: str | None) -> dict:
    """The first stretch of an imported customer's owner (as ``ownership.start`` records it)."""
    return {"id": new_id(), "customer_id": customer["id"], "owner_id": customer["owner_id"],
            "department_id": customer["department_id"], "pool_id": None, "started_at": customer["created_at"],
            "start_kind": IMPORT_KIND, "started_by": by, "ended_at": None, "end_kind": None, "end_reason": None,
            "ended_by": None}


def insert_new(uow: UnitOfWork, customers: list[dict], customer_changes: list[dict], tags: list[dict],
               contacts: list[dict], contact_changes: list[dict], stretches: list[dict]) -> None:
    """New customers, their tags, contacts and owner stretches, and the audit entries a flush would
    write for the customers and contacts, at commit (one round trip on PostgreSQL)."""
    uow.insert(Customer.__table__, customers)
    uow.insert(CustomerTag.__table__, tags)
    uow.insert(Contact.__table__, contacts)
    uow.insert(CustomerOwnership.__table__, stretches)
    if uow.audit is not None:
        rows = uow.audit.rows(CUSTOMER_ENTITY, [(c["id"], ch) for c, ch in zip(customers, customer_changes)],
                              "create", safe=True)
        rows += uow.audit.rows(CONTACT_ENTITY, [(c["id"], ch) for c, ch in zip(contacts, contact_changes)],
                               "create", safe=True)
        uow.insert(uow.audit.table, rows)


def holders(session, name_keys: list[str], phone_keys: list[str], contact_phone_keys: list[str]) -> dict:
    """Who holds these keys already: ``{("name"|"phone"|"contact_phone", key): customer id}`` --
    customers by normalised name, customers by mobile or telephone, contacts' customers by phone
    (the duplicate keys ``create_customer`` checks). The oldest holder is named."""
    dialect = session.get_bind().dialect.name
    found: dict = {}

    def note(kind, pairs):
        for key, customer_id in pairs:
            found.setdefault((kind, key), customer_id)

    if name_keys:
        note("name", session.execute(select(Customer.name_key, Customer.id).where(
            one_of(Customer.name_key, name_keys, dialect)).order_by(Customer.id)).all())
    if phone_keys:
        for column in (Customer.mobile_key, Customer.telephone_key):
            note("phone", session.execute(select(column, Customer.id).where(
                one_of(column, phone_keys, dialect)).order_by(Customer.id)).all())
    if contact_phone_keys:
        note("contact_phone", session.execute(select(Contact.phone_key, Contact.customer_id).where(
            one_of(Contact.phone_key, contact_phone_keys, dialect)).order_by(Contact.id)).all())
    return found


def writers_at_once(uow: UnitOfWork) -> int:
    """How many import chunks may be written at once on this database."""
    return IMPORT_WRITERS if uow.session_factory.kw["bind"].dialect.name == "postgresql" else 1
