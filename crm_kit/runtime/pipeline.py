"""An import's pipeline: CPU work overlapped with database waits (the CSV imports of leads and
customers: their ``application/import_chunks.py``).

:func:`run_ahead` computes item ``k+1`` in the background while the caller works on item
``k``: the import validates and builds chunk ``k+1`` while PostgreSQL inserts chunk ``k``, which
turns their sum into roughly their maximum on a machine where the database has its own core.

In a service process (eventlet monkey-patched, psycopg2 green through psycogreen) the
background work is a greenthread: it runs while the caller waits on the database socket,
and should call :func:`pause` every few items so the caller resumes as soon as its answer
is in (a greenthread is never preempted). Elsewhere (tests, scripts) it is an OS thread:
psycopg2 and sqlite3 release the GIL while they wait. Either way it runs in a copy of the
caller's context, so the principal and request id of ``crm_kit.context`` are there.

:func:`in_parallel` calls a function on each item with at most ``at_once`` calls running
at a time (several database connections working at once: the import's writers).

:func:`fewer_collections` lets the garbage collector run less often while an import builds its
rows (objects that live until it ends, which every collection would scan again).
"""
from __future__ import annotations

import contextlib
import contextvars
import gc
import threading
from typing import Callable, Iterable, Iterator, TypeVar

T = TypeVar("T")
R = TypeVar("R")


def run_ahead(fn: Callable[[T], R], items: Iterable[T]) -> Iterator[R]:
    """``fn(item)`` for each item, in order; the next one is computed while this one is used. One
    ``fn`` runs at a time, in the items' order (item ``k+1`` starts once item ``k`` is computed):
    ``fn`` may rely on what the calls before it did (an import's keys seen in earlier chunks)."""
    pending = None
    for item in items:
        if pending is not None:
            result = pending()
            pending = _start(fn, item)
            yield result
        else:
            pending = _start(fn, item)
    if pending is not None:
        yield pending()


def in_parallel(fn: Callable[[T], object], items: Iterable[T], at_once: int) -> None:
    """``fn(item)`` for each item, at most ``at_once`` at a time (1: one after the other, in the
    caller); returns when all are done, raising the first error after every started call ended."""
    if at_once <= 1:
        for item in items:
            fn(item)
        return
    running: list[Callable[[], object]] = []
    error: BaseException | None = None
    try:
        for item in items:
            running.append(_start(fn, item))
            if len(running) >= at_once:
                running.pop(0)()
    except BaseException as exc:
        error = exc
    for wait in running:
        try:
            wait()
        except BaseException as exc:
            error = error or exc
    if error is not None:
        raise error


# the collector's thresholds while a bulk job runs: generation 0 every 20,000 allocations (not 700)
RELAXED_THRESHOLDS = (20_000, 20, 20)
_relaxed = {"jobs": 0, "saved": None}
_relaxed_lock = threading.Lock()


@contextlib.contextmanager
def fewer_collections():
    """Garbage collection less often while a bulk job (an import) runs: it builds many objects that
    live until it ends (its rows, its report), and each collection of the default thresholds scans
    them again (a third of an import's CPU). Process-wide; the thresholds before the first such job
    come back when the last one ends (jobs may overlap: a counter, not a stack)."""
    with _relaxed_lock:
        if _relaxed["jobs"] == 0:
            _relaxed["saved"] = gc.get_threshold()
            gc.set_threshold(*RELAXED_THRESHOLDS)
        _relaxed["jobs"] += 1
    try:
        yield
    finally:
        with _relaxed_lock:
            _relaxed["jobs"] -= 1
            if _relaxed["jobs"] == 0:
                gc.set_threshold(*_relaxed["saved"])


def pause() -> None:
    """A point where background work lets the caller go on (a no-op outside eventlet)."""
    if _green():
        import eventlet
        eventlet.sleep(0)


def _start(fn, item) -> Callable[[], object]:
    """Start ``fn(item)``; returns a function that waits for its result (or raises its error)."""
    run = contextvars.copy_context().run
    if _green():
        import eventlet
        return eventlet.spawn(run, fn, item).wait
    outcome: dict = {}

    def work():
        try:
            outcome["value"] = run(fn, item)
        except BaseException as exc:  # handed to the caller by wait()
            outcome["error"] = exc

    thread = threading.Thread(target=work, name="run-ahead", daemon=True)
    thread.start()

    def wait():
        thread.join()
        if "error" in outcome:
            raise outcome["error"]
        return outcome["value"]

    return wait


def _green() -> bool:
    try:
        from eventlet import patcher
    except ImportError:  # pragma: no cover
        return False
    return patcher.is_monkey_patched("thread")
