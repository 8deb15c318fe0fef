"""The unit of work: one transaction, its events, and its idempotency record.

Plain Python (no nameko), so application code and tests drive it directly::

    with uow:
        lead = uow.session.get(Lead, lead_id)
        lead.convert(...)
        uow.emit(LEAD_CONVERTED, {...})
        uow.commit()

``commit`` writes the pending events to the outbox table and the handled
event's id to ``processed_events`` in the same transaction as the change,
then hands the committed outbox rows to the relay to publish now. Leaving the block
without committing rolls everything back: a change is never half applied.

Every flush is audited (``crm_kit.audit``): who, when, which request, what
changed. A use case may name what it did (``uow.audit_action("convert")``),
say on whose behalf it acts (``uow.audit_actor = envelope["actor"]``), and
record changes the ORM cannot see (``uow.audit_record(...)``).

A concurrent update of a versioned row (SQLAlchemy's ``StaleDataError`` from
``version_id_col``) leaves the block as :class:`~crm_kit.errors.StaleVersion`.
"""
from __future__ import annotations

from typing import Callable, Iterable

from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.orm.exc import StaleDataError

from crm_kit import audit
from crm_kit.db import bulk_insert_all, utcnow
from crm_kit.errors import StaleVersion
from crm_kit.events import EventType, envelopes, exchange_name


class DuplicateEvent(Exception):
    """The event this worker handles was already applied; nothing to do."""


class UnitOfWork:
    def __init__(self, session_factory: sessionmaker, producer: str, metadata,
                 on_commit: Callable[[list[dict]], None] | None = None,
                 inbox_key: tuple[str, str] | None = None,
                 headers: dict | None = None):
        self.session_factory = session_factory
        self.producer = producer
        self.metadata = metadata
        self.outbox = metadata.tables["outbox"]
        self.inbox = metadata.tables["processed_events"]
        self.on_commit = on_commit
        self.inbox_key = inbox_key      # (handler, event_id) when handling an event
        self.headers = headers or {}
        self.session: Session | None = None
        self._pending: list[dict] = []
        self._inserts: list[tuple] = []
        self.committed_event_ids: list[str] = []
        self.audit: audit.AuditTrail | None = None

    def sibling(self) -> "UnitOfWork":
        """Another unit of work on the same database, for the same caller (work done in
        parallel by one use case: each needs its own session and transaction)."""
        return UnitOfWork(self.session_factory, self.producer, self.metadata, on_commit=self.on_commit,
                          headers=self.headers)

    # -- lifecycle -------------------------------------------------------
    def __enter__(self) -> "UnitOfWork":
        self.session = self.session_factory()
        self._pending = []
        self._inserts = []
        self.audit = audit.attach(self.session, self.metadata)
        if self.inbox_key is not None and self._already_processed():
            self.session.close()
            raise DuplicateEvent(self.inbox_key[1])
        return self

    def __exit__(self, exc_type, exc, tb):
        try:
            self.rollback()
        finally:
            self.session.close()
            self.session = None
            self.audit = None
        if isinstance(exc, StaleDataError):
            raise stale_version() from exc
        return False

    # -- audit -------------------------------------------------------------
    def audit_action(self, label: str) -> None:
        """Name what this unit of work does ("convert", "delete", ...) in its audit entries."""
        self._trail().action = label

    @property
    def audit_actor(self) -> str | None:
        return self._trail().actor

    @audit_actor.setter
    def audit_actor(self, user_id: str | None) -> None:
        """Record this user (not the principal in context) as the actor."""
        self._trail().actor = user_id

    def audit_record(self, entity: str, entity_id: str, changes: dict, action: str | None = None) -> None:
        """An audit entry for a change the ORM does not see (Core statements, team tables)."""
        trail = self._trail()
        trail.write(self.session, [trail.row(entity, entity_id, action or trail.action or "update", changes,
                                             label=False)])

    def _trail(self) -> audit.AuditTrail:
        assert self.audit is not None, "audit outside 'with uow:' (or no audit_log table)"
        return self.audit

    def insert(self, table, rows: list[dict]) -> None:
        """Rows written without the ORM (``crm_kit.db.bulk_insert``) when we commit, with the
        outbox rows: on PostgreSQL, one round trip for all of them. A constraint they break
        fails the commit."""
        self._inserts.append((table, rows))

    def emit(self, event: EventType, data) -> dict:
        """Raise an event; it is stored in the outbox when (and only if) we commit."""
        return self.emit_many(event, [data])[0]

    def emit_many(self, event: EventType, items: list) -> list[dict]:
        """Raise one event per item (a bulk import): the same as ``emit`` on each."""
        return self.emit_dumped(event, [event.dump(data) for data in items])

    def emit_dumped(self, event: EventType, payloads: list[dict]) -> list[dict]:
        """Raise one event per payload made (before) by ``event.dump``."""
        envs = envelopes(event, payloads, self.producer)
        self._pending.extend(envs)
        return envs

    def commit(self) -> None:
        assert self.session is not None, "commit outside 'with uow:'"
        try:
            rows = self._write_outbox(self._pending)
            if self.inbox_key is not None:
                self._record_processed()
            self.session.commit()
        except StaleDataError as exc:
            self.session.rollback()
            raise stale_version() from exc
        except IntegrityError:
            self.session.rollback()
            if self.inbox_key is not None and self._already_processed():
                raise DuplicateEvent(self.inbox_key[1]) from None
            raise
        self._pending = []
        self.committed_event_ids.extend(r["id"] for r in rows)
        if rows and self.on_commit is not None:
            self.on_commit(rows)

    def rollback(self) -> None:
        self._pending = []
        self._inserts = []
        if self.session is not None:
            self.session.rollback()

    # -- internals ---------------------------------------------------------
    def _write_outbox(self, envelopes: Iterable[dict]) -> list[dict]:
        now = utcnow()
        rows = [{
            "id": env["event_id"],
            "event_type": env["event_type"],
            "exchange": exchange_name(self.producer),
            "body": env,
            "headers": dict(self.headers, **{"nameko.request_id": env["correlation_id"]}
                            if env["correlation_id"] else self.headers),
            "created_at": now,
            "published_at": None,
            "attempts": 0,
        } for env in envelopes]
        bulk_insert_all(self.session.connection(), self._inserts + [(self.outbox, rows)])
        self._inserts = []
        return rows

    def _record_processed(self) -> None:
        handler, event_id = self.inbox_key
        self.session.execute(insert(self.inbox).values(
            handler=handler, event_id=event_id, processed_at=utcnow()))

    def _already_processed(self) -> bool:
        handler, event_id = self.inbox_key
        row = self.session.execute(
            select(self.inbox.c.event_id).where(
                self.inbox.c.handler == handler, self.inbox.c.event_id == event_id)
        ).first()
        return row is not None


def stale_version() -> StaleVersion:
    return StaleVersion("The record was changed by someone else meanwhile; reload it and retry.",
                        {"current_version": None})
