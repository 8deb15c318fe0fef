"""Outages of the servers under load: the broker stopped, the broker killed, PostgreSQL stopped,
the broker's memory alarm.

Each runs the same way: leads are created, a batch of them converted right before the fault (so
that their ``lead_converted`` events are on their way when it strikes), while a stream of clients
keeps creating (each create with an ``Idempotency-Key``, retried after the fault like a client
honouring ``Retry-After``) and converting. During the fault every answer must come within the
deadline, as a problem+json 503 when it cannot be served (never a 500, never a hang); after it,
every event committed is delivered (each converted lead gets exactly one customer), no create is
lost or applied twice, nothing is parked, and the outboxes drain.
"""
from __future__ import annotations

import time

import pytest

from tests.faults.checks import count_creates, count_customers, unpublished_outbox
from tests.faults.load import Ledger, Stream
from tests.faults.settings import BROKER_DOWN_SECONDS, DB_DOWN_SECONDS, DEADLINE, LOAD_SECONDS, ROUNDS
from tests.integration.harness import eventually

ROUND = pytest.mark.parametrize("round_", range(ROUNDS), ids=lambda r: f"round{r + 1}")
PARKED_LINE = "event parked in dead-letter queue"


class Outage:
    """The common course of an outage; ``cause`` breaks, ``repair`` mends."""

    def __init__(self, fault, batch: int = 12, workers: int = 2, pace: float = 0.1):
        self.fault, self.topo = fault, fault.topo
        self.ledger: Ledger = fault.ledger()
        self.dlq_before = self.topo.dlq_depths()
        self.batch = [self.ledger.create().lead_id for _ in range(batch)]
        self.stream = Stream(self.ledger, workers=workers, pace=pace, keyed=1.0, convert=True)
        self.readiness: list = []
        self.ready_after = 0.0          # seconds from the repair to /readyz ok
        self.broken_at = self.repair_started = self.repaired_at = self.back_at = 0.0

    def run(self, cause, repair, down_for: float, probe_readiness: bool = False, back=None) -> None:
        """``back()``: when the repaired server could first serve (default: when the repair began)."""
        self.stream.start()
        try:
            self.stream.wait_for(lambda: sum(1 for op in self.ledger.creates() if op.final) >= len(self.batch) + 4,
                                 at_least=LOAD_SECONDS)
            self.ledger.convert_all(self.batch)              # their events are on their way ...
            cause()                                          # ... when the fault strikes
            self.broken_at = time.monotonic()
            try:
                while time.monotonic() < self.broken_at + down_for:     # the fault lasts this long
                    if probe_readiness:
                        self.readiness.append(self.ledger.call("GET", "/readyz").status)
                    time.sleep(0.5)
            finally:
                self.repair_started = time.monotonic()
                repair()
            self.repaired_at = time.monotonic()
            self.back_at = min(self.repaired_at, back() or self.repaired_at) if back else self.repair_started
            self._wait_ready(timeout=120)
            self.stream.wait_for(lambda: self._served_after(self.repaired_at) >= 3, timeout=60, at_least=LOAD_SECONDS)
        finally:
            self.stream.stop()
        self.ledger.settle(timeout=90)

    def _wait_ready(self, timeout: float) -> None:
        said = []

        def ready() -> bool:
            said.append(self.topo.readiness())
            return said[-1] == "ok"
        try:
            eventually(ready, timeout=timeout, interval=0.5)
        except AssertionError:
            gone = [f"{n}-{r}" for n, r in self.topo.instances() if self.topo.pid(n, r) is None]
            raise AssertionError(f"/readyz not ok within {timeout:.0f} s of the repair: {said[-1]}; "
                                 f"processes gone: {gone or 'none'}\n" + self._last_complaints()
                                 + "".join(self._last_words(g) for g in gone)) from None
        self.ready_after = time.monotonic() - self.repaired_at

    def _last_words(self, instance: str, lines: int = 60) -> str:
        """What a process that is gone printed last outside its JSON log (its stderr: the traceback
        that ended it), whole."""
        name, _, replica = instance.rpartition("-")
        raw = [line for line in self.topo.log(name, int(replica)).splitlines() if not line.startswith("{")]
        return f"\n--- {instance}: the last {lines} lines it printed outside its JSON log ---\n" + \
            "\n".join(raw[-lines:])

    def _last_complaints(self, per_process: int = 4) -> str:
        """The last warnings and errors each process logged since the test began: what a wait that
        ran out needs to say (the logs stay in a temporary directory CI does not keep)."""
        by_file: dict[str, list[str]] = {}
        for name, line in self.topo.logs_since(self.fault.mark):
            if '"WARNING"' in line or '"ERROR"' in line or "Traceback" in line:
                by_file.setdefault(name, []).append(line[:400])
        return "\n".join(f"{name}: {line}" for name, lines in sorted(by_file.items())
                         for line in lines[-per_process:])

    def _served_after(self, moment: float) -> int:
        return sum(1 for op in self.ledger.creates() for a in op.attempts if a.status == 201 and a.sent_at > moment)

    def during(self) -> list:
        """Answers to requests sent once the fault had taken effect and answered before the server
        was back: none of them could be served."""
        return [a for op in self.ledger.ops for a in op.attempts
                if a.sent_at > self.broken_at + 0.5 and a.sent_at + a.elapsed < self.back_at]

    def count(self):
        converted = [r.id for r in self.topo.rows("leads", "SELECT id FROM leads WHERE name LIKE :p AND status = "
                                                           "'converted'", p=f"F{self.ledger.tag} %")]
        counts = count_creates(self.topo, self.ledger).add(count_customers(self.topo, converted, timeout=90))
        try:
            eventually(lambda: not any(unpublished_outbox(self.topo).values()), timeout=60, interval=0.5)
        except AssertionError:
            counts.lost.append(f"outbox rows never published: {unpublished_outbox(self.topo)}")
        return converted, counts

    def record(self, title: str, counts, notes: str = ""):
        during = self.during()
        statuses = sorted({a.status for a in during}, key=str)
        parked = self.topo.parked_since(self.dlq_before)
        parked_lines = [line for _, line in self.topo.logs_since(self.fault.mark) if PARKED_LINE in line]
        text = (f"during the fault {len(during)} answer(s) {statuses}; parked {parked or 0}"
                + (f"; /readyz {sorted(set(self.readiness), key=str)}" if self.readiness else "")
                + f"; ready {self.ready_after:.1f} s after the repair"
                + (f"; {notes}" if notes else ""))
        self.fault.record(title, self.ledger, counts, notes=text)
        return during, parked, parked_lines

    def assert_clean(self, counts, during, parked, parked_lines, only_503_during: bool = True):
        assert not parked and not parked_lines, f"parked: {parked} {parked_lines[:3]}"
        if only_503_during:
            assert during, "no request was sent during the fault"
            assert {a.status for a in during} == {503}, {str(a.status) for a in during}
        self.fault.assert_clean(self.ledger, counts, allowed=(200, 201, 503))


@ROUND
def test_broker_stopped_for_30s(fault, round_):
    rabbit = fault.topo.servers.rabbit
    outage = Outage(fault)
    outage.run(rabbit.stop, rabbit.start, BROKER_DOWN_SECONDS, probe_readiness=True,
               back=lambda: rabbit.listening_at)
    converted, counts = outage.count()
    during, parked, lines = outage.record(f"broker stopped {BROKER_DOWN_SECONDS:.0f} s", counts,
                                          notes=f"{len(converted)} converted lead(s) checked")
    assert outage.readiness and set(outage.readiness) == {503}, outage.readiness
    outage.assert_clean(counts, during, parked, lines)


@ROUND
def test_broker_killed_under_load(fault, round_):
    rabbit = fault.topo.servers.rabbit
    outage = Outage(fault, workers=3, pace=0.05)
    outage.run(rabbit.kill, rabbit.start, 1.0, probe_readiness=True, back=lambda: rabbit.listening_at)
    converted, counts = outage.count()
    during, parked, lines = outage.record("broker killed (kill -9) under load", counts,
                                          notes=f"{len(converted)} converted lead(s) checked")
    outage.assert_clean(counts, during, parked, lines)


@ROUND
def test_postgresql_stopped_under_load(fault, round_):
    topo = fault.topo
    pg = topo.servers.pg

    def repair():
        pg.start()
        topo.dispose_engines()

    outage = Outage(fault, workers=3, pace=0.05)
    outage.run(pg.stop, repair, DB_DOWN_SECONDS)
    converted, counts = outage.count()
    during, parked, lines = outage.record(f"PostgreSQL stopped {DB_DOWN_SECONDS:.0f} s under load", counts,
                                          notes=f"{len(converted)} converted lead(s) checked")
    outage.assert_clean(counts, during, parked, lines)


@ROUND
def test_memory_alarm_on_the_broker(fault, round_):
    topo = fault.topo
    rabbit = topo.servers.rabbit

    def cause():
        rabbit.set_memory_alarm()
        eventually(lambda: "memory" in rabbit.alarms(), timeout=30, interval=0.2)

    outage = Outage(fault, workers=3, pace=0.05)
    outage.run(cause, rabbit.clear_memory_alarm, max(LOAD_SECONDS, DEADLINE * 3))   # a few deadlines long
    converted, counts = outage.count()
    during, parked, lines = outage.record("memory alarm (publishers blocked)", counts,
                                          notes=f"{len(converted)} converted lead(s) checked")
    # Requests already inside a service when publishers were blocked may still succeed: 2xx or 503.
    outage.assert_clean(counts, during, parked, lines, only_503_during=False)
    assert not [a for a in during if a.status not in (200, 201, 503)], sorted({str(a.status) for a in during})
