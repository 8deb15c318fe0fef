"""What a context that keeps records of customers does with customers' ``customers_merged`` and
``customer_owner_changed``, idempotently and whatever the order the events arrive in.

A context declares its table of customer references (a model with :class:`CustomerRefColumns`)
and a :class:`CustomerRefs` over it, naming which of its records follow a new owner; its handlers
call :meth:`CustomerRefs.record_merged` and :meth:`CustomerRefs.record_owner_changed`, and every
use case storing a customer id asks :meth:`CustomerRefs.current_customer_id`.

**A merge**: every record naming the merged customer (each table of the context with a
``customer_id``, found from its models, so a new table is covered by itself) names the survivor --
or the end of the survivor's own chain of merges when that one was merged further already (A into
B, B into C: the events may come in either order). The merge is remembered (``merged_into``): a
record created later naming the merged id takes the survivor.

**An owner change never touches a status**: the records the context names (``follow``: model,
status column, the statuses that follow) of that customer that the previous owner owned go to the
new owner and, where the record has one, the new department; others stay with whoever had them. A
customer that went into a pool (no new owner) leaves its records as they are. An older owner change
heard after a newer one moves them to the newest owner heard of. ``on_moved(uow, row, previous,
now)`` lets the context raise its own event for a record that moved.

Two handlers about one customer meet at its reference row (read first, written with the change:
its version), and the later one is retried by the kit.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING

from sqlalchemy import Integer, String, bindparam, select
from sqlalchemy.orm import Mapped, declared_attr, mapped_column
from sqlalchemy.orm.util import identity_key

from crm_kit.records.db import UtcDateTime, utcnow

if TYPE_CHECKING:
    from crm_kit.runtime.uow import UnitOfWork

MAX_CHAIN = 100


class CustomerRefColumns:
    """The columns of a context's customer references (mix into a model with its ``__tablename__``).
    Not audited: the records that moved carry their own entries."""
    __audited__ = False

    customer_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    merged_into: Mapped[str | None] = mapped_column(String(36))
    owner_id: Mapped[str | None] = mapped_column(String(36))
    department_id: Mapped[str | None] = mapped_column(String(36))
    owner_changed_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    recorded_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)      # last written (any change)
    version: Mapped[int] = mapped_column(Integer, default=1)

    @declared_attr.directive
    def __mapper_args__(cls):
        return {"version_id_col": cls.version}


Follow = Callable[[], Iterable[tuple[type, str, tuple[str, ...]]]]


class CustomerRefs:
    def __init__(self, ref_model: type, base, follow: Follow,
                 on_moved: Callable[["UnitOfWork", object, str, dt.datetime], None] | None = None):
        self.ref_model, self.base, self.follow, self.on_moved = ref_model, base, follow, on_moved
        self._merged_into_stmt = None

    def current_customer_id(self, session, customer_id: str) -> str:
        """The id a record naming ``customer_id`` holds now: the end of its chain of merges."""
        chain = [customer_id]
        for _ in range(MAX_CHAIN):
            merged_into = self._merged_into(session, chain[-1])
            if merged_into is None or merged_into in chain:
                break
            chain.append(merged_into)
        return chain[-1]

    def _merged_into(self, session, customer_id: str) -> str | None:
        """``merged_into`` of the reference as ``session.get`` reads it (the instance this session
        holds, else the row), without making an instance of a row only read (every use case
        storing a customer id asks, most often of a customer never merged: no row)."""
        held = session.identity_map.get(identity_key(self.ref_model, customer_id))
        if held is not None:
            return held.merged_into
        stmt = self._merged_into_stmt
        if stmt is None:
            table = self.ref_model.__table__
            stmt = self._merged_into_stmt = select(table.c.merged_into).where(
                table.c.customer_id == bindparam("customer_id"))
        return session.execute(stmt, {"customer_id": customer_id}).scalar()

    def holders(self) -> list[type]:
        """Every table of the context holding a customer id (not as its key)."""
        out = []
        for mapper in self.base.registry.mappers:
            column = mapper.columns.get("customer_id")
            if column is not None and not column.primary_key and mapper.class_ is not self.ref_model:
                out.append(mapper.class_)
        return sorted(out, key=lambda c: c.__tablename__)

    def record_merged(self, uow: "UnitOfWork", merged: dict) -> dict:
        """``merged``: the ``customers_merged`` payload as the consumer loads it. Returns what moved,
        per table."""
        survivor_id, merged_id = merged["survivor_id"], merged["merged_id"]
        with uow:
            uow.audit_action("customers_merged")
            session = uow.session
            now = utcnow()
            merged_ref = self._ref(session, merged_id, now)          # read (and written) first
            final = self.current_customer_id(session, survivor_id)
            moved: dict[str, int] = {}
            if final != merged_id:                                   # (a merge back into itself: nothing)
                merged_ref.merged_into = survivor_id
                self._ref(session, final, now)
                for model in self.holders():
                    rows = session.scalars(select(model).where(model.customer_id == merged_id)).all()
                    for row in rows:
                        row.customer_id = final
                    if rows:
                        moved[model.__tablename__] = len(rows)
            session.flush()
            uow.commit()
            return moved

    def record_owner_changed(self, uow: "UnitOfWork", changed: dict) -> dict:
        """``changed``: the ``customer_owner_changed`` payload as the consumer loads it. Returns what
        moved, per table."""
        with uow:
            uow.audit_action("customer_owner_changed")
            session = uow.session
            now = utcnow()
            customer_id = self.current_customer_id(session, changed["customer_id"])
            ref = self._ref(session, customer_id, now)
            if ref.owner_changed_at is None or changed["changed_at"] > ref.owner_changed_at:
                ref.owner_id, ref.department_id, ref.owner_changed_at = (
                    changed["owner_id"], changed["department_id"], changed["changed_at"])
            owner_id, department_id, previous = ref.owner_id, ref.department_id, changed["previous_owner_id"]
            moved: dict[str, int] = {}
            if owner_id is not None and previous is not None and previous != owner_id:
                for model, column, statuses in self.follow():
                    rows = session.scalars(select(model).where(
                        model.customer_id == customer_id, model.owner_id == previous,
                        getattr(model, column).in_(statuses))).all()
                    for row in rows:
                        row.owner_id = owner_id
                        if department_id is not None and hasattr(row, "department_id"):
                            row.department_id = department_id
                        if self.on_moved is not None:
                            self.on_moved(uow, row, previous, now)
                    if rows:
                        moved[model.__tablename__] = len(rows)
            session.flush()
            uow.commit()
            return moved

    def _ref(self, session, customer_id: str, now):
        """The customer's row, created or touched (its version moves on: a concurrent handler meets it)."""
        ref = session.get(self.ref_model, customer_id)
        if ref is None:
            ref = self.ref_model(customer_id=customer_id, recorded_at=now)
            session.add(ref)
        else:
            ref.recorded_at = now
        return ref
