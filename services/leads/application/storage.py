"""The one place leads' use cases meet the database below the ORM: new leads written in bulk, and
what differs between PostgreSQL and SQLite.

- **New leads without the ORM** (``create_lead``, the import's chunks): every column of a new lead
  as the ORM would insert it -- its defaults read from the model (``Lead``'s columns: the one place
  those facts live) -- and the audit entries a flush would write for them, handed to the unit of
  work (``uow.insert``: written at commit with the outbox rows, on PostgreSQL in one round trip:
  ``crm_kit.records.bulk.bulk_insert_all``).
- **A unique index's refusal**: :func:`is_refusal` knows the error whichever way the statement went
  (the ORM, or the driver directly on PostgreSQL's bulk path).
- **PostgreSQL's faster paths**: a long ``IN`` list as one array parameter (:func:`live_phone_holders`),
  and how many import chunks may be written at once (:func:`writers_at_once`: two on PostgreSQL,
  each on its own connection; SQLite has one writer at a time, and its lock wait would block an
  eventlet process).

Use cases ask these functions; none of them checks a dialect itself.
"""
from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from crm_kit.context import Principal
from crm_kit.ids import new_id
from crm_kit.records import audit
from crm_kit.records.bulk import one_of
from crm_kit.runtime.uow import UnitOfWork, is_integrity_error
from services.leads import domain
from services.leads.models import Lead

IMPORT_WRITERS = 2    # import chunks written at once on PostgreSQL (each on its own connection)

_TABLE = Lead.__table__
# The model's column defaults: a value (``source``, ``version``), or made when a lead is made
# (``created_at``, ``updated_at``: given by the template below, which makes them all at one time).
_DEFAULTS = {c.key: (c.default.arg if c.default is not None and c.default.is_scalar else None)
             for c in _TABLE.columns}
_MADE_DEFAULTS = {c.key: c.default.arg for c in _TABLE.columns if c.default is not None and not c.default.is_scalar}
LEAD_ENTITY = audit.entity_name(Lead)
# The columns a lead's audit entry records (as the ORM's audit would: crm_kit.records.audit).
LEAD_AUDITED = tuple(attr.key for attr in Lead.__mapper__.column_attrs
                     if attr.key not in audit.AUDIT_EXCLUDED | set(Lead.__audit_exclude__))


def lead_template(principal: Principal, now: dt.datetime, owner_id: str | None, department_id: str | None,
                  sla_hours: int | None) -> dict:
    """Every column of the new leads ``principal`` makes now for this owner, but their own fields,
    id and phone key (:func:`new_lead_row`)."""
    row = dict(_DEFAULTS, status=domain.initial_status(owner_id), owner_id=owner_id, department_id=department_id,
               created_by=principal.user_id, created_at=now, updated_at=now,
               assigned_at=now if owner_id else None,
               sla_due_at=domain.sla_due_at(now, sla_hours) if owner_id else None)
    for key, make in _MADE_DEFAULTS.items():
        if row[key] is None:          # a default the template does not give: made as the ORM would
            row[key] = make(None)
    return row


def new_lead_row(template: dict, fields: dict, phone_key: str | None) -> dict:
    """A new lead: the template, its fields (``LeadCreate``'s, loaded), a new id and its phone key."""
    return dict(template, **fields, id=new_id(), phone_key=phone_key)


def insert_new_leads(uow: UnitOfWork, rows: list[dict], changes: list[dict]) -> None:
    """New leads without the ORM (its per-object flush costs more than the insert itself), and the
    audit entries a flush would write for them (``changes``: ``audit.created`` of each), at commit."""
    uow.insert(_TABLE, rows)              # at commit, with the outbox rows: one round trip
    if uow.audit is not None:
        uow.insert(uow.audit.table, uow.audit.rows(
            LEAD_ENTITY, [(row["id"], change) for row, change in zip(rows, changes)], "create", safe=True))


def is_refusal(exc: BaseException) -> bool:
    """A unique index (the live phone's) refused the write."""
    return is_integrity_error(exc)


def live_phone_holders(session, phone_keys: list[str]) -> dict[str, str]:
    """``{phone_key: id}`` of the live leads holding these phones (one query, however many)."""
    if not phone_keys:
        return {}
    dialect = session.get_bind().dialect.name
    return dict(session.execute(select(Lead.phone_key, Lead.id).where(
        one_of(Lead.phone_key, phone_keys, dialect), Lead.status.in_(domain.LIVE_STATUSES))).all())


def writers_at_once(uow: UnitOfWork) -> int:
    """How many import chunks may be written at once on this database."""
    return IMPORT_WRITERS if uow.session_factory.kw["bind"].dialect.name == "postgresql" else 1
