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

Every flush is audited (``crm_kit.records.audit``): who, when, which request, what
changed. A use case may name what it did (``uow.audit_action("convert")``),
say on whose behalf it acts (``uow.audit_actor = envelope["actor"]``), and
record changes the ORM cannot see (``uow.audit_record(...)``).

A concurrent update of a versioned row (SQLAlchemy's ``StaleDataError`` from
``version_id_col``) leaves the block as :class:`~crm_kit.errors.StaleVersion`.

**RPC requests are applied once.** In an RPC worker the unit of work knows the request
(:class:`RpcRequest`: its key, its deadline, whether it may have been handled before). A writing
use case ends with ``return uow.commit(reply)`` (``reply`` the RPC's answer, or a callable making
it, called after the flush): the request's key and that reply go into ``handled_requests`` in the
same transaction as the effect. A request delivered again (the service died between commit and
acknowledgement, or the client retried under the same ``Idempotency-Key``) finds its key on
entering ``with uow:`` and leaves as :class:`AlreadyHandled` carrying the first reply, which the
RPC entrypoint answers; two deliveries racing each other meet at the key's primary key. A use case
that commits several times (an import, chunk by chunk) passes the reply to its last commit only.
Past the request's deadline (its caller has answered 503) a unit of work neither starts nor
commits: :class:`DeadlineExceeded`, so "503" means "not done". (A request that has committed
part of its work already -- an import, chunk by chunk -- is finished instead of being left
half-written; its reply is recorded, so a retry under the same key is answered from it.)
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, Callable, Iterable

from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.orm.exc import StaleDataError

from crm_kit.errors import ServiceUnavailable, StaleVersion
from crm_kit.records import audit
from crm_kit.records.bulk import bulk_insert_all
from crm_kit.records.db import utcnow
from crm_kit.runtime import tracing
from crm_kit.runtime.events import EventType, envelopes, exchange_name


class DuplicateEvent(Exception):
    """The event this worker handles was already applied; nothing to do."""


class AlreadyHandled(Exception):
    """The RPC request this worker handles was carried out before: ``reply`` is its first answer."""

    def __init__(self, key: str, reply: Any):
        super().__init__(key)
        self.reply = reply


class DeadlineExceeded(ServiceUnavailable):
    """The caller's deadline passed: it has already been told 503, so nothing may be done now."""


@dataclass(frozen=True)
class RpcRequest:
    """The RPC request a worker handles, as far as its unit of work must know it."""
    key: str                          # the same on every delivery and retry of this request
    method: str
    deadline: float | None = None     # epoch seconds (the caller's clock; clocks are kept in sync)
    maybe_handled: bool = False       # redelivered, or a client's retry: look for the first reply

    def expired(self) -> bool:
        return self.deadline is not None and time.time() >= self.deadline


class _Progress:
    """Whether a request's work has committed anything yet, shared by its unit of work and their
    siblings: past the deadline, a request that committed nothing yet is refused ("503 means not
    done"); one that has (an import, chunk by chunk) is finished rather than left half-written."""
    committed = False


_NO_REPLY = object()
_SESSION_KEY = "crm_kit.unit_of_work"     # session.info: the unit of work the session belongs to


def of_session(session) -> "UnitOfWork | None":
    """The unit of work whose session this is (inside its ``with``), or None: code handed only
    the session may queue rows with its commit (``UnitOfWork.insert``)."""
    uow = session.info.get(_SESSION_KEY)
    return uow if uow is not None and uow.session is session else None


class UnitOfWork:
    records_reply = True     # handling an RPC request, commit(reply) records the reply

    def __init__(self, session_factory: sessionmaker, producer: str, metadata,
                 on_commit: Callable[[list[dict]], None] | None = None,
                 inbox_key: tuple[str, str] | None = None,
                 headers: dict | None = None, request: RpcRequest | None = None):
        self.session_factory = session_factory
        self.producer = producer
        self.metadata = metadata
        self.outbox = metadata.tables["outbox"]
        self.inbox = metadata.tables["processed_events"]
        self.on_commit = on_commit
        self.inbox_key = inbox_key      # (handler, event_id) when handling an event
        self.request = request          # the RPC request when handling one
        self._progress = _Progress()
        self.requests = metadata.tables["handled_requests"]
        self.reply_recorded = False     # this request's reply is in handled_requests (committed)
        self.committed = False          # something was committed by this unit of work
        self._looked_up = False
        self.headers = headers or {}
        self.session: Session | None = None
        self._pending: list[dict] = []
        self._inserts: list[tuple] = []
        self.committed_event_ids: list[str] = []
        self.audit: audit.AuditTrail | None = None
        self.default_actor: str | None = None   # the audit entries' actor unless set (an event's actor)
        self._span = None                       # the transaction's span (tracing on, inside ``with``)
        self._traceparent: str | None = None    # its context: the events raised in it carry it

    def sibling(self) -> "UnitOfWork":
        """Another unit of work on the same database, for the same caller (work done in
        parallel by one use case: each needs its own session and transaction). It keeps the
        request's deadline but records no reply (the use case's own unit of work does)."""
        request = self.request and RpcRequest(self.request.key + ":sibling", self.request.method,
                                              self.request.deadline)
        sibling = _Sibling(self.session_factory, self.producer, self.metadata, on_commit=self.on_commit,
                           headers=self.headers, request=request)
        sibling._progress = self._progress
        return sibling

    # -- lifecycle -------------------------------------------------------
    def __enter__(self) -> "UnitOfWork":
        self._check_deadline()
        if tracing.enabled:
            self._start_span()
        self.session = self.session_factory()
        self.session.info[_SESSION_KEY] = self
        self._pending = []
        self._inserts = []
        self.audit = audit.attach(self.session, self.metadata)
        if self.audit is not None:
            self.audit.defer = True      # the flushes' entries go out with the outbox rows (commit)
            if self.default_actor:
                self.audit.actor = self.default_actor
        try:
            if self.inbox_key is not None and self._already_processed():
                raise DuplicateEvent(self.inbox_key[1])
            if self.request is not None and self.request.maybe_handled and not self._looked_up:
                self._looked_up = True
                self._raise_if_handled()
        except BaseException as exc:
            self.session.close()
            self.session = None
            self._end_span(exc)
            raise
        return self

    def __exit__(self, exc_type, exc, tb):
        try:
            self.rollback()
            if exc is not None and is_integrity_error(exc):
                # A twin delivery (the same event, the same request) that committed first, met at a
                # flush of the use case's own (a unique key of the record), not at our commit.
                if self.inbox_key is not None and self._already_processed():
                    raise DuplicateEvent(self.inbox_key[1]) from None
                if self.request is not None:
                    self._raise_if_handled()
        except BaseException as raised:
            self._end_span(raised)
            raise
        finally:
            self.session.close()
            self.session = None
            self.audit = None
        if isinstance(exc, StaleDataError):
            self._end_span(stale_version())
            raise stale_version() from exc
        self._end_span(exc)
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
        """Rows written without the ORM (``crm_kit.records.bulk.bulk_insert``) when we commit, with the
        outbox rows: on PostgreSQL, one round trip for all of them. A constraint they break
        fails the commit."""
        self._inserts.append((table, rows))

    def emit(self, event: EventType, data, **extra) -> dict:
        """Raise an event about ``data`` (a record or a dict), dumped through the event's own schema
        (``extra``: values the record does not hold); it is stored in the outbox when (and only if)
        we commit."""
        return self.emit_many(event, [data], **extra)[0]

    def emit_many(self, event: EventType, items: list, **extra) -> list[dict]:
        """Raise one event per item (a bulk import): the same as ``emit`` on each."""
        return self.emit_dumped(event, [event.dump(data, **extra) for data in items])

    def emit_dumped(self, event: EventType, payloads: list[dict]) -> list[dict]:
        """Raise one event per payload made (before) by ``event.dump``."""
        envs = envelopes(event, payloads, self.producer, traceparent=self._traceparent)
        self._pending.extend(envs)
        return envs

    def commit(self, reply: Any = _NO_REPLY) -> Any:
        """Commit the change, its events and (handling an event) the event's id; handling an RPC
        request, also ``reply`` as the request's answer (a callable is called after the flush, to
        make it). Returns the reply, so that a use case ends with ``return uow.commit(reply)``."""
        assert self.session is not None, "commit outside 'with uow:'"
        recording = (reply is not _NO_REPLY and self.request is not None and self.records_reply
                     and not self.reply_recorded)
        try:
            if callable(reply):
                self.session.flush()
                reply = reply()
            if recording:
                self._inserts.append((self.requests, [{
                    "request_key": self.request.key, "method": self.request.method[:100],
                    "reply": reply, "handled_at": utcnow()}]))
            rows = self._write_outbox(self._pending)
            if self.inbox_key is not None:
                self._record_processed()
            if self._too_late():
                self.session.rollback()
                raise self._deadline_exceeded()
            self.session.commit()
        except StaleDataError as exc:
            self.session.rollback()
            raise stale_version() from exc
        except Exception as exc:
            if not is_integrity_error(exc):
                raise
            self.session.rollback()
            if self.inbox_key is not None and self._already_processed():
                raise DuplicateEvent(self.inbox_key[1]) from None
            if recording:
                self._raise_if_handled()      # the same request, delivered twice, committed first there
            raise
        self._pending = []
        self.committed = self._progress.committed = True
        self.reply_recorded = self.reply_recorded or recording
        self.committed_event_ids.extend(r["id"] for r in rows)
        if rows and self.on_commit is not None:
            self.on_commit(rows)
        return None if reply is _NO_REPLY else reply

    def rollback(self) -> None:
        self._pending = []
        self._inserts = []
        if self.session is not None:
            self.session.rollback()

    # -- internals ---------------------------------------------------------
    def _start_span(self) -> None:
        """The transaction's span (one per ``with uow:``), child of the worker's span."""
        bind = self.session_factory.kw.get("bind")
        self._span = tracing.start_span(f"transaction {self.producer}", attributes={
            "db.system.name": bind.dialect.name if bind is not None else None, "crm.service": self.producer})
        self._traceparent = tracing.traceparent_of(self._span)
        self._committed_before = len(self.committed_event_ids)

    def _end_span(self, exc: BaseException | None) -> None:
        span, self._span, self._traceparent = self._span, None, None
        if span is None:
            return
        expected = exc is None or isinstance(exc, (DuplicateEvent, AlreadyHandled)) or tracing.is_expected_error(exc)
        tracing.finish(span, exc, error_status=not expected, **{
            "crm.committed": self.committed, "crm.events": len(self.committed_event_ids) - self._committed_before})

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
        audit_rows = self.audit.take_pending() if self.audit is not None else []
        # (what session.commit still flushes is audited at that flush: AuditTrail.before_commit)
        batches = self._inserts + ([(self.audit.table, audit_rows)] if audit_rows else []) + [(self.outbox, rows)]
        bulk_insert_all(self.session.connection(), batches)
        self._inserts = []
        return rows

    def _record_processed(self) -> None:
        handler, event_id = self.inbox_key
        self.session.execute(insert(self.inbox).values(
            handler=handler, event_id=event_id, processed_at=utcnow()))

    def _check_deadline(self) -> None:
        if self._too_late():
            raise self._deadline_exceeded()

    def _too_late(self) -> bool:
        return self.request is not None and not self._progress.committed and self.request.expired()

    def _deadline_exceeded(self) -> DeadlineExceeded:
        return DeadlineExceeded(f"The {self.producer} service could not do this within the request's deadline; "
                                "nothing was changed.", {"service": self.producer, "retry_after": 1})

    def _raise_if_handled(self) -> None:
        r = self.requests
        found = self.session.execute(select(r.c.reply).where(r.c.request_key == self.request.key)).first()
        if found is not None:
            raise AlreadyHandled(self.request.key, found[0])

    def _already_processed(self) -> bool:
        handler, event_id = self.inbox_key
        row = self.session.execute(
            select(self.inbox.c.event_id).where(
                self.inbox.c.handler == handler, self.inbox.c.event_id == event_id)
        ).first()
        return row is not None


def is_integrity_error(exc: BaseException) -> bool:
    """A constraint refused the write: SQLAlchemy's ``IntegrityError``, or the driver's own where a
    statement went to it directly."""
    return isinstance(exc, IntegrityError) or any(c.__name__ == "IntegrityError" for c in type(exc).__mro__)


class _Sibling(UnitOfWork):
    """Records no reply: its use case's own unit of work answers the request."""
    records_reply = False


def purge_handled_requests(session_factory: sessionmaker, metadata, older_than) -> int:
    """Forget the replies of requests handled before ``older_than`` (no retry comes that late: the
    gateway keeps an Idempotency-Key 24 hours)."""
    table = metadata.tables["handled_requests"]
    with session_factory() as session:
        result = session.execute(table.delete().where(table.c.handled_at < older_than))
        session.commit()
        return result.rowcount or 0


def stale_version() -> StaleVersion:
    return StaleVersion("The record was changed by someone else meanwhile; reload it and retry.",
                        {"current_version": None})
