"""Previews: a use case run on a unit of work that never commits (``dry_run``).

An automatic change can be previewed (``run_job(..., dry_run=True)``, ``crm_kit.runtime.jobs``): the
use case runs exactly as it would, on a :class:`PreviewUnitOfWork`, whose ``commit()`` flushes -- so
the statements run, constraints are checked, the reply is made and the events are raised -- and then
rolls back instead of committing, keeping the events it would have stored in the outbox. Nothing is
written, nothing is published, nothing is audited (the audit rows are rolled back with the rest).

Only what goes through the unit of work is previewed: a use case that also calls another service,
sends mail or writes a file must not be previewed this way. A use case that commits in steps sees,
after each step, the database without that step (it was rolled back); each step is previewed on
its own. ``sibling()`` (work done in parallel) gives another preview, sharing ``previewed``.
"""
from __future__ import annotations

from crm_kit.runtime.uow import UnitOfWork

_NOTHING = object()


class PreviewUnitOfWork(UnitOfWork):
    """A unit of work that never commits: ``commit()`` flushes (so the reply and the events are the
    ones a commit would make), keeps the events in ``previewed``, and rolls back."""
    records_reply = False

    def __init__(self, *args, previewed: list | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.previewed = previewed if previewed is not None else []   # the envelopes it would have stored

    @classmethod
    def of(cls, uow: UnitOfWork, previewed: list) -> "PreviewUnitOfWork":
        """A preview on ``uow``'s database, for the same producer (no request, no inbox key)."""
        return cls(uow.session_factory, uow.producer, uow.metadata, headers=uow.headers, previewed=previewed)

    def commit(self, reply=_NOTHING):
        assert self.session is not None, "commit outside 'with uow:'"
        self.session.flush()
        if callable(reply):
            reply = reply()
        self.previewed.extend(self._pending)
        self.rollback()
        return None if reply is _NOTHING else reply

    def sibling(self) -> "PreviewUnitOfWork":
        return PreviewUnitOfWork(self.session_factory, self.producer, self.metadata, headers=self.headers,
                                 previewed=self.previewed)
