"""Load for the faults, as an outside client sends it, and the book of every answer.

A *request* (:class:`Op`) is one thing the client wants done -- create this lead, convert that
one -- and its *attempts*, each an HTTP call with its status and time. Creates are unique (name,
company, phone), so the leads database says for each whether it was done, and how many times.
A create sent with an ``Idempotency-Key`` may be retried under it after a 5xx (:meth:`Ledger.settle`);
one without a key is never retried.

Workers are threads (green: the test process runs under eventlet), each with its own HTTP session.
"""
from __future__ import annotations

import collections
import itertools
import threading
import time
import uuid
from dataclasses import dataclass, field

import requests

from tests.faults.settings import CLIENT_TIMEOUT
from tests.faults.topology import Topology

_phones = itertools.count(1)


@dataclass
class Attempt:
    status: int | str          # the HTTP status, or "hang" (no answer within CLIENT_TIMEOUT), "refused"
    elapsed: float
    sent_at: float             # time.monotonic() when sent
    body: dict | None = None
    retry_after: str | None = None
    content_type: str = ""
    path: str = ""
    replayed: bool = False     # Idempotent-Replayed: true (the gateway answered from its record)


@dataclass
class Op:
    kind: str                  # "create" or "convert"
    name: str                  # create: the lead's (unique) name; convert: the lead id
    payload: dict | None
    key: str | None = None
    lead_id: str | None = None
    attempts: list[Attempt] = field(default_factory=list)

    @property
    def final(self) -> Attempt | None:
        return self.attempts[-1] if self.attempts else None

    @property
    def answered(self) -> set:
        return {a.status for a in self.attempts}

    def done_ids(self) -> set[str]:
        """The lead ids the answers named as created (every 201 of a create)."""
        return {a.body["id"] for a in self.attempts if a.status == 201 and a.body and "id" in a.body}


class Ledger:
    def __init__(self, topo: Topology, tag: str | None = None):
        self.topo = topo
        self.tag = tag or uuid.uuid4().hex[:8]
        self.ops: list[Op] = []
        self.extra: list[Attempt] = []      # answers of calls that are not creates/converts (reads, readyz)
        self._seq = itertools.count()
        self._lock = threading.Lock()
        self.in_flight: dict[str, float] = {}    # creates sent and not answered yet: name -> sent at

    # -- sending ---------------------------------------------------------------
    def call(self, method: str, path: str, session: requests.Session | None = None, record: bool = True,
             **kwargs) -> Attempt:
        started_wall = time.monotonic()
        try:
            resp = self.topo.request(method, path, session=session, **kwargs)
            body = None
            if resp.headers.get("Content-Type", "").split(";")[0].endswith("json"):
                try:
                    body = resp.json()
                except ValueError:
                    body = None
            attempt = Attempt(resp.status_code, time.monotonic() - started_wall, started_wall, body,
                              resp.headers.get("Retry-After"), resp.headers.get("Content-Type", ""), path,
                              resp.headers.get("Idempotent-Replayed") == "true")
        except requests.Timeout:
            attempt = Attempt("hang", time.monotonic() - started_wall, started_wall, path=path)
        except requests.ConnectionError:
            attempt = Attempt("refused", time.monotonic() - started_wall, started_wall, path=path)
        if record and method == "GET":
            with self._lock:
                self.extra.append(attempt)
        return attempt

    def new_create(self, keyed: bool = True) -> Op:
        n = next(self._seq)
        phone = next(_phones)
        name = f"F{self.tag} {n:05d}"
        payload = {"name": name, "company": f"Fault {self.tag} {n:05d}", "phone": f"+86 139{phone:08d}",
                   "source": "web_form"}
        op = Op("create", name, payload, key=f"fault-{self.tag}-{n}" if keyed else None)
        with self._lock:
            self.ops.append(op)
        return op

    def send_create(self, op: Op, session: requests.Session | None = None) -> Attempt:
        headers = {"Idempotency-Key": op.key} if op.key else {}
        self.in_flight[op.name] = time.monotonic()
        try:
            attempt = self.call("POST", "/api/v1/leads", session=session, json=op.payload, headers=headers)
        finally:
            self.in_flight.pop(op.name, None)
        op.attempts.append(attempt)
        if attempt.status == 201 and attempt.body:
            op.lead_id = attempt.body["id"]
        return attempt

    def create(self, keyed: bool = True, session: requests.Session | None = None) -> Op:
        op = self.new_create(keyed)
        self.send_create(op, session)
        return op

    def convert(self, lead_id: str, session: requests.Session | None = None) -> Op:
        op = next((o for o in self.ops if o.kind == "convert" and o.name == lead_id), None)
        if op is None:
            op = Op("convert", lead_id, {})
            with self._lock:
                self.ops.append(op)
        op.attempts.append(self.call("POST", f"/api/v1/leads/{lead_id}/convert", session=session, json={}))
        return op

    def convert_all(self, lead_ids: list[str], workers: int = 3) -> list[Op]:
        """Convert these leads, ``workers`` at a time; returns their conversions."""
        chunks = [lead_ids[i::workers] for i in range(workers)]
        threads = [threading.Thread(target=lambda ids=ids: [self.convert(i) for i in ids]) for ids in chunks if ids]
        for t in threads:
            t.start()
        for t in threads:
            t.join(CLIENT_TIMEOUT * len(lead_ids))
        return [op for op in self.converts() if op.name in set(lead_ids)]

    def settle(self, timeout: float = 60) -> None:
        """Once the fault is over: retry every keyed create and every conversion whose last answer
        was a 5xx or none, until each has a 2xx/4xx answer (the client's retry, as api.md allows)."""
        deadline = time.monotonic() + timeout
        session = requests.Session()
        while time.monotonic() < deadline:
            pending = [op for op in list(self.ops) if _unsettled(op)]
            if not pending:
                return
            for op in pending:
                if op.kind == "create":
                    self.send_create(op, session)
                else:
                    self.convert(op.name, session)
            if any(_unsettled(op) for op in pending):
                time.sleep(max([0.5] + [_backoff(op.final) for op in pending if op.final]))

    # -- what was answered -------------------------------------------------------
    def attempts(self) -> list[Attempt]:
        return [a for op in self.ops for a in op.attempts] + self.extra

    def statuses(self) -> collections.Counter:
        return collections.Counter(a.status for a in self.attempts())

    def worst(self) -> float:
        return max((a.elapsed for a in self.attempts()), default=0.0)

    def unexpected(self, allowed) -> list[Attempt]:
        """Answers outside ``allowed``; a conversion's 409 after a 5xx attempt is its retry finding it
        done (the lead is ``converted``), which is allowed."""
        out = []
        for op in self.ops:
            for i, a in enumerate(op.attempts):
                if a.status in allowed:
                    continue
                earlier_5xx = any(not isinstance(b.status, int) or b.status >= 500 for b in op.attempts[:i])
                if op.kind == "convert" and a.status == 409 and earlier_5xx and "converted" in str(a.body):
                    continue
                if op.kind == "create" and earlier_5xx and key_in_progress(a):
                    continue         # the key is still held by the attempt the fault cut off: retry later
                out.append(a)
        return out + [a for a in self.extra if a.status not in allowed]

    def creates(self) -> list[Op]:
        return [op for op in self.ops if op.kind == "create"]

    def converts(self) -> list[Op]:
        return [op for op in self.ops if op.kind == "convert"]


def _backoff(attempt: Attempt) -> float:
    """A polite client: after a 503 (or a 409 "in progress") it waits as told (Retry-After), at most
    a second here."""
    if attempt.status == 503 or key_in_progress(attempt):
        try:
            return min(1.0, float(attempt.retry_after or 1))
        except ValueError:
            return 1.0
    return 0.0 if isinstance(attempt.status, int) else 1.0


def key_in_progress(attempt: Attempt) -> bool:
    """409 "a request with this Idempotency-Key is still in progress" (with Retry-After)."""
    return attempt.status == 409 and "still in progress" in str((attempt.body or {}).get("detail"))


def _unsettled(op: Op) -> bool:
    if op.kind == "create" and op.key is None:
        return False                       # without a key a client must not retry a create
    final = op.final
    return final is None or not isinstance(final.status, int) or final.status >= 500 or key_in_progress(final)


class Stream:
    """``workers`` clients, each creating leads one after the other (and converting each one
    created, if ``convert``), pausing ``pace`` seconds between requests, until :meth:`stop`.
    ``keyed``: the share of creates sent with an Idempotency-Key (0..1)."""

    def __init__(self, ledger: Ledger, workers: int = 3, pace: float = 0.05, keyed: float = 1.0,
                 convert: bool = False, max_creates: int | None = None):
        self.ledger = ledger
        self.workers = workers
        self.pace = pace
        self.keyed = keyed
        self.convert = convert
        self.max_creates = max_creates
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._sent = itertools.count()
        self.errors: list[BaseException] = []

    def start(self) -> "Stream":
        for i in range(self.workers):
            thread = threading.Thread(target=self._run, args=(i,), name=f"fault-stream-{i}", daemon=True)
            thread.start()
            self._threads.append(thread)
        return self

    def _run(self, index: int) -> None:
        session = requests.Session()
        try:
            while not self._stop.is_set():
                n = next(self._sent)
                if self.max_creates is not None and n >= self.max_creates:
                    return
                keyed = (n % 100) < self.keyed * 100
                op = self.ledger.create(keyed=keyed, session=session)
                if self.convert and op.final.status == 201:
                    time.sleep(self.pace)
                    self.ledger.convert(op.lead_id, session=session)
                time.sleep(self.pace + _backoff(op.final))
        except BaseException as exc:   # reported by stop(): a worker must never die silently
            self.errors.append(exc)

    def stop(self, timeout: float = CLIENT_TIMEOUT + 10) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout)
        alive = [t.name for t in self._threads if t.is_alive()]
        assert not alive, f"load workers still waiting for an answer: {alive}"
        assert not self.errors, self.errors

    def wait_for(self, predicate, timeout: float = 30, at_least: float = 0.0) -> None:
        """Let the stream run until ``predicate()`` holds and ``at_least`` seconds have passed."""
        started = time.monotonic()
        deadline = started + at_least + timeout
        while time.monotonic() < deadline:
            if time.monotonic() >= started + at_least and predicate():
                return
            time.sleep(0.02)
        raise AssertionError(f"load never reached {predicate.__doc__ or predicate} within {timeout}s")
