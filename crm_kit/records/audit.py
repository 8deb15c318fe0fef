"""The audit trail: who changed what, when, and in which request -- recorded for you.

Every :class:`~crm_kit.runtime.uow.UnitOfWork` attaches :func:`attach` to its session.
On each flush, every new, changed or deleted instance of a mapped class is
written to the service's ``audit_log`` table (``crm_kit.records.db``) in the same
transaction as the change:

- ``entity``: the class's ``__audit_entity__`` (default: its name, lower case);
- ``entity_id``: its ``id``;
- ``action``: ``create`` / ``update`` / ``delete``, or the label the use case
  gave with ``uow.audit_action("convert")`` (it applies to every entry of that
  unit of work written after it is set);
- ``actor_id``: ``uow.audit_actor`` if the use case set it (an event handler
  acting for the user who caused the event), else the principal in context
  (:func:`crm_kit.context.current_principal`);
- ``request_id``: :func:`crm_kit.context.current_request_id`;
- ``changes``: ``{field: [before, after]}`` with JSON-safe values (Decimal and
  dates as strings); a create has ``before`` null, a delete ``after`` null.

(In a unit of work the entries of its flushes are written at commit, in the round trip of its outbox
rows: ``AuditTrail.defer``; inside a savepoint, or a session committing by itself, at the flush.)

Every mapped class is audited unless it says ``__audited__ = False``; columns in
``AUDIT_EXCLUDED`` (bookkeeping) and the class's ``__audit_exclude__`` are left
out. A list kept as rows of its own table (a customer's tags) is audited on its owner as one
field when the class names it in ``__audit_lists__ = {"tags": ("tag_rows", "tag")}`` (the field,
the relationship, the attribute of each row). Changes made with Core statements (team tables, kit tables) are not seen
by the ORM: record them with ``uow.audit_record(...)``.

:func:`history` reads one record's entries, newest first, keyset-paginated.
"""
from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal
from typing import Callable

from marshmallow import Schema, fields
from sqlalchemy import event, inspect, select
from sqlalchemy.orm import Session, attributes

from crm_kit.context import current_principal, current_request_id
from crm_kit.ids import new_id
from crm_kit.records.bulk import bulk_insert
from crm_kit.records.db import utcnow
from crm_kit.records.pagination import decode_cursor, encode_cursor
from crm_kit.records.schemas import ListQuery, load, page_of

TABLE = "audit_log"
AUDIT_EXCLUDED = frozenset({"version", "created_at", "updated_at"})


_PLAIN = frozenset({type(None), bool, int, float, str})


def json_safe(value):
    if type(value) in _PLAIN:
        return value
    if isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, (dt.datetime, dt.date, dt.time)):
        return value.isoformat()
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, dict):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [json_safe(v) for v in value]
    return str(value)


def _safe_changes(changes: dict) -> dict:
    """``json_safe`` of ``{field: [before, after]}``, without recursing where values are plain."""
    out = {}
    for key, pair in changes.items():
        if type(key) is not str or type(pair) not in (list, tuple) or len(pair) != 2:
            return json_safe(changes)
        before, after = pair
        out[key] = [before if type(before) in _PLAIN else json_safe(before),
                    after if type(after) in _PLAIN else json_safe(after)]
    return out


def created(values: dict, columns) -> dict:
    """The JSON-safe ``changes`` of a row created with these values (what :func:`changes_of` says of
    a new instance), for rows inserted without the ORM: ``rows(..., safe=True)``."""
    out = {}
    for key in columns:
        value = values[key]
        if value is not None:
            out[key] = [None, value if type(value) in _PLAIN else json_safe(value)]
    return out


def created_sharing(template: dict, columns, varying) -> Callable[[dict], dict]:
    """:func:`created` for many rows holding ``template``'s values except under the keys in
    ``varying`` (an import's rows): the shared columns' changes are made once."""
    varying = frozenset(varying)
    shared = created(template, [key for key in columns if key not in varying])
    own = [key for key in columns if key in varying]

    def changes(values: dict) -> dict:
        out = dict(shared)
        for key in own:
            value = values[key]
            if value is not None:
                out[key] = [None, value if type(value) in _PLAIN else json_safe(value)]
        return out
    return changes


def entity_name(obj_or_cls) -> str:
    cls = obj_or_cls if isinstance(obj_or_cls, type) else type(obj_or_cls)
    return getattr(cls, "__audit_entity__", None) or cls.__name__.lower()


def _audited(obj) -> bool:
    return getattr(type(obj), "__audited__", True)


_COLUMNS: dict[type, tuple[str, ...]] = {}     # per mapped class: its audited columns (mappers are fixed)


def _columns(obj) -> tuple[str, ...]:
    cls = type(obj)
    keys = _COLUMNS.get(cls)
    if keys is None:
        excluded = AUDIT_EXCLUDED | set(getattr(cls, "__audit_exclude__", ()))
        keys = _COLUMNS[cls] = tuple(attr.key for attr in inspect(obj).mapper.column_attrs
                                     if attr.key not in excluded)
    return keys


def _snapshot(obj) -> dict:
    values = inspect(obj).dict          # (what each attribute's ``loaded_value`` reads)
    return {key: values.get(key, attributes.NO_VALUE) for key in _columns(obj)}


def _list_changes(obj, kind: str) -> dict:
    """The ``__audit_lists__`` of ``obj``: ``{field: [before, after]}`` where the rows changed."""
    out = {}
    for name, (relationship, attr) in getattr(type(obj), "__audit_lists__", {}).items():
        hist = attributes.get_history(obj, relationship, passive=attributes.PASSIVE_NO_INITIALIZE)
        kept = [getattr(row, attr) for row in hist.unchanged or ()]
        before = kept + [getattr(row, attr) for row in hist.deleted or ()]
        after = kept + [getattr(row, attr) for row in hist.added or ()]
        if kind == "create" and after:
            out[name] = [None, after]
        elif kind == "delete" and before:
            out[name] = [before, None]
        elif kind == "update" and sorted(before) != sorted(after):
            out[name] = [before, after]
    return out


def changes_of(obj, kind: str) -> dict:
    """``{field: [before, after]}`` of an instance being created, updated or deleted."""
    if kind == "create":
        return {**{k: [None, json_safe(v)] for k, v in _snapshot(obj).items()
                   if v is not None and v is not attributes.NO_VALUE}, **_list_changes(obj, kind)}
    if kind == "delete":
        return {**{k: [json_safe(v), None] for k, v in _snapshot(obj).items()
                   if v is not None and v is not attributes.NO_VALUE}, **_list_changes(obj, kind)}
    out = _list_changes(obj, kind)
    modified = inspect(obj).committed_state      # (an attribute without history is not in it)
    for key in _columns(obj):
        if key not in modified:
            continue
        hist = attributes.get_history(obj, key, passive=attributes.PASSIVE_NO_INITIALIZE)
        if not hist.added and not hist.deleted:
            continue
        before = hist.deleted[0] if hist.deleted else None
        after = hist.added[0] if hist.added else None
        if before == after:
            continue
        out[key] = [json_safe(before), json_safe(after)]
    return out


class AuditTrail:
    """Per unit of work: the action label, the actor override, and the entries to write."""

    def __init__(self, table):
        self.table = table
        self.action: str | None = None
        self.actor: str | None = None
        # The entries of the flushes so far, when the unit of work writes them with its outbox rows
        # at commit (``defer``: one round trip instead of one INSERT per flush); dropped on rollback.
        # Inside a savepoint, or once the session commits by itself, entries are written at once.
        self.defer = False
        self.pending: list[dict] = []
        self._committing = False

    def row(self, entity: str, entity_id, action: str, changes: dict, label: bool = True) -> dict:
        """One entry; ``label``: the use case's action label (if set) replaces ``action``."""
        return self.rows(entity, [(entity_id, changes)], action, label)[0]

    def rows(self, entity: str, items: list[tuple], action: str, label: bool = True,
             safe: bool = False) -> list[dict]:
        """One entry per ``(entity_id, changes)``, all made now by the same actor and request;
        ``safe``: the changes are JSON-safe already (see :func:`created`)."""
        principal = current_principal()
        action = (self.action if label else None) or action
        actor_id = self.actor or (principal.user_id if principal else None)
        request_id, at = current_request_id(), utcnow()
        return [{"id": new_id(), "entity": entity, "entity_id": str(entity_id), "action": action,
                 "actor_id": actor_id, "request_id": request_id, "at": at,
                 "changes": changes if safe else _safe_changes(changes)}
                for entity_id, changes in items]

    def write(self, session: Session, rows: list[dict]) -> None:
        if rows:
            bulk_insert(session.connection(), self.table, rows)

    def take_pending(self) -> list[dict]:
        """The deferred entries (the caller writes them in this transaction)."""
        rows, self.pending = self.pending, []
        return rows

    def before_commit(self, session: Session) -> None:
        self._committing = True          # the commit's own flush writes at once
        if self.pending:
            self.write(session, self.take_pending())

    def after_commit(self, session: Session) -> None:
        self._committing = False

    def after_rollback(self, session: Session) -> None:
        self._committing = False
        self.pending = []

    def after_flush(self, session: Session, _flush_context) -> None:
        rows = []
        for kind, objs in (("create", session.new), ("update", session.dirty), ("delete", session.deleted)):
            for obj in objs:
                if not _audited(obj):
                    continue
                changes = changes_of(obj, kind)
                if kind == "update" and not changes:
                    continue
                key = inspect(obj).mapper.primary_key_from_instance(obj)
                rows.append(self.row(entity_name(obj), ":".join(str(k) for k in key), kind, changes))
        if rows and self.defer and not self._committing and not session.in_nested_transaction():
            self.pending.extend(rows)
            return
        self.write(session, rows)


_TRAIL = "crm_kit.audit_trail"      # session.info: the session's AuditTrail


def attach(session: Session, metadata) -> AuditTrail | None:
    """Record every flush of ``session`` in ``metadata``'s ``audit_log`` (if it has one).

    (The trail sits in ``session.info``; the listeners are the ``Session`` class's, registered
    once: listening on each session instance cost every unit of work four registrations.)"""
    table = metadata.tables.get(TABLE)
    if table is None:
        return None
    trail = AuditTrail(table)
    session.info[_TRAIL] = trail
    return trail


def _trail_hook(name: str):
    def hook(session, *args):
        trail = session.info.get(_TRAIL)
        if trail is not None:
            getattr(trail, name)(session, *args)
    return hook


for _name in ("after_flush", "before_commit", "after_commit", "after_rollback"):
    event.listen(Session, _name, _trail_hook(_name))


# -- reading -----------------------------------------------------------------
class AuditEntry(Schema):
    id = fields.String(required=True)
    entity = fields.String(required=True, metadata={"description": "e.g. lead, customer, contact"})
    entity_id = fields.String(required=True)
    action = fields.String(required=True, metadata={
        "description": "create, update, delete, or the use case's label (convert, team_member_set, ...)"})
    actor_id = fields.String(required=True, allow_none=True, metadata={"description": "the user who did it"})
    request_id = fields.String(required=True, allow_none=True, metadata={"description": "X-Request-ID"})
    at = fields.DateTime(required=True)
    changes = fields.Dict(keys=fields.String(), values=fields.List(fields.Raw(allow_none=True)), required=True,
                          metadata={"description": "{field: [before, after]}"})


AuditList = page_of(AuditEntry, "AuditList")


_entry = AuditEntry()


def history(session: Session, metadata, entity: str, entity_id: str, limit: int, cursor: str | None) -> dict:
    """One record's audit entries, newest first: ``{"items": [...], "next_cursor": ...}``."""
    table = metadata.tables[TABLE]
    stmt = select(table).where(table.c.entity == entity, table.c.entity_id == entity_id)
    if cursor:
        stmt = stmt.where(table.c.id < decode_cursor(cursor))
    rows = session.execute(stmt.order_by(table.c.id.desc()).limit(limit + 1)).mappings().all()
    next_cursor = encode_cursor(rows[limit - 1]["id"]) if len(rows) > limit else None
    return {"items": [_entry.dump(dict(r)) for r in rows[:limit]], "next_cursor": next_cursor}


def record_history(uow, principal, model, record_id: str, resource: str, query: dict | None,
                   read_extra=None) -> dict:
    """The use case behind every ``<resource>_history`` RPC: the record's audit entries,
    newest first, for callers who may read it (``NotFound`` otherwise). ``read_extra``: the
    service's own further way in, as for its reads (``crm_kit.records.scopes.get_for_read``)."""
    from crm_kit.records.scopes import get_for_read
    params = load(_history_query, query or {})
    with uow:
        get_for_read(uow.session, model, record_id, principal, resource, read_extra)
        return history(uow.session, uow.metadata, entity_name(model), record_id, params["limit"], params["cursor"])


_history_query = ListQuery()
