"""``Idempotency-Key`` when things go wrong (api.md: the same key and body within 24 hours return
the first result instead of creating twice):

- after a 4xx (422 invalid, 409 duplicate phone) the retry replays that answer;
- after a 5xx (503: leads stopped past the deadline) the key is free: the retry is carried out,
  exactly once;
- retries sent while the first attempt still runs get 409 (with ``Retry-After``), and nothing is
  created twice.
"""
from __future__ import annotations

import signal
import threading

from tests.faults.checks import count_creates, statuses_of
from tests.faults.settings import DEADLINE
from tests.faults.topology import REPLICAS
from tests.integration.harness import eventually

CONCURRENT_RETRIES = 4


def _stop_leads(topo, sig) -> None:
    for replica in range(REPLICAS["leads"]):
        topo.signal("leads", replica, sig)


def _replayed(ledger, op) -> bool:
    first, last = op.attempts[0], op.final
    return last.replayed and not first.replayed and (last.status, last.body) == (first.status, first.body)


def test_a_retry_after_a_4xx_replays_the_answer(fault):
    topo, ledger = fault.topo, fault.ledger()
    invalid = ledger.new_create(keyed=True)
    invalid.payload = dict(invalid.payload, email="not an e-mail")
    original = ledger.create(keyed=False)                       # holds the phone the next one repeats
    duplicate = ledger.new_create(keyed=True)
    duplicate.payload = dict(duplicate.payload, phone=original.payload["phone"])
    for op in (invalid, duplicate):
        ledger.send_create(op)
        ledger.send_create(op)
    counts = count_creates(topo, ledger, conflicts_expected=True)
    phone_rows = topo.rows("leads", "SELECT id FROM leads WHERE phone = :p", p=original.payload["phone"])
    fault.record("Idempotency-Key after a 4xx (422, 409)", ledger, counts,
                 notes=f"answers: invalid [{statuses_of(invalid)}], duplicate [{statuses_of(duplicate)}]")

    assert [a.status for a in invalid.attempts] == [422, 422] and _replayed(ledger, invalid), invalid.attempts
    assert [a.status for a in duplicate.attempts] == [409, 409] and _replayed(ledger, duplicate), duplicate.attempts
    assert len(phone_rows) == 1
    assert not counts.lost and not counts.twice


def test_a_retry_after_a_503_is_carried_out_exactly_once(fault):
    topo, ledger = fault.topo, fault.ledger()
    op = ledger.new_create(keyed=True)
    _stop_leads(topo, signal.SIGSTOP)
    try:
        ledger.send_create(op)
    finally:
        _stop_leads(topo, signal.SIGCONT)
    ledger.settle(timeout=60)
    ledger.send_create(op)                                    # once more: replayed, not created again
    counts = count_creates(topo, ledger)
    fault.record("Idempotency-Key after a 503", ledger, counts,
                 notes=f"answers [{statuses_of(op)}]")

    assert op.attempts[0].status == 503, op.attempts[0]
    assert DEADLINE * 0.9 <= op.attempts[0].elapsed, op.attempts[0].elapsed
    assert [a.status for a in op.attempts[1:]] == [201, 201], [a.status for a in op.attempts]
    assert len(op.done_ids()) == 1
    fault.assert_clean(ledger, counts, allowed=(201, 503))


def test_concurrent_retries_while_the_first_runs_get_409_and_nothing_is_created_twice(fault):
    topo, ledger = fault.topo, fault.ledger()
    op = ledger.new_create(keyed=True)
    first = threading.Thread(target=ledger.send_create, args=(op,))
    _stop_leads(topo, signal.SIGSTOP)                           # the first attempt waits inside leads ...
    try:
        first.start()
        eventually(lambda: topo.rows("gateway", "SELECT status FROM idempotency_records WHERE key = :k", k=op.key),
                   timeout=DEADLINE, interval=0.02)            # the first attempt holds the key
        retries = [ledger.new_create(keyed=True) for _ in range(CONCURRENT_RETRIES)]
        for retry in retries:  # ... while its retries come in, all at once
            retry.name, retry.payload, retry.key = op.name, op.payload, op.key
        threads = [threading.Thread(target=ledger.send_create, args=(r,)) for r in retries]
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
    finally:
        _stop_leads(topo, signal.SIGCONT)                       # ... and is answered within its deadline
    first.join(30)
    ledger.ops = [o for o in ledger.ops if o not in retries]     # the same request: its answers only
    ledger.extra += [r.final for r in retries]
    again = ledger.send_create(op)
    counts = count_creates(topo, ledger)
    retry_statuses = [r.final.status for r in retries]
    fault.record("Idempotency-Key: concurrent retries", ledger, counts,
                 notes=f"first {op.attempts[0].status}, concurrent retries {retry_statuses}, later {again.status}")

    assert retry_statuses == [409] * CONCURRENT_RETRIES, [(r.final.status, r.final.body) for r in retries]
    assert all(r.final.retry_after for r in retries)
    assert op.attempts[0].status == 201, op.attempts[0]
    assert again.status == 201 and again.body["id"] == op.attempts[0].body["id"]
    assert again.replayed
    fault.assert_clean(ledger, counts, allowed=(201, 409))
