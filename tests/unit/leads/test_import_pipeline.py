"""The import's pipeline (``crm_kit.runtime.pipeline``): order, errors, the limit, and the caller's
context in the background."""
from __future__ import annotations

import time

import pytest

from crm_kit.context import request_id_var
from crm_kit.runtime.pipeline import in_parallel, pause, run_ahead


def test_run_ahead_yields_in_order_and_starts_the_next_item_before_the_caller_is_done():
    started = []

    def work(n):
        started.append(n)
        return n * 10

    seen = []
    for value in run_ahead(work, [1, 2, 3]):
        time.sleep(0.01)                 # the caller's turn: the next item is already under way
        seen.append((value, list(started)))
    assert [v for v, _ in seen] == [10, 20, 30]
    assert seen[0][1][:2] == [1, 2]


def test_run_ahead_runs_one_item_at_a_time_in_order():
    """Item k+1 starts once item k is computed (an import's chunk relies on the keys the chunks
    before it saw): never two at once, whatever each takes."""
    running, peak, order = [0], [0], []

    def work(n):
        running[0] += 1
        peak[0] = max(peak[0], running[0])
        time.sleep(0.02 if n % 2 else 0.001)
        order.append(n)
        running[0] -= 1
        return n

    assert list(run_ahead(work, range(6))) == list(range(6))
    assert order == list(range(6)) and peak[0] == 1


def test_run_ahead_raises_the_error_of_the_item_that_failed():
    def work(n):
        if n == 2:
            raise ValueError("bad item")
        return n

    got = []
    with pytest.raises(ValueError, match="bad item"):
        for value in run_ahead(work, [1, 2, 3]):
            got.append(value)
    assert got == [1]


def test_in_parallel_keeps_to_its_limit_and_waits_for_all():
    running, peak, done = [0], [0], []

    def work(n):
        running[0] += 1
        peak[0] = max(peak[0], running[0])
        time.sleep(0.02)
        running[0] -= 1
        done.append(n)

    in_parallel(work, range(6), at_once=2)
    assert sorted(done) == list(range(6)) and peak[0] <= 2


def test_in_parallel_reports_an_error_after_the_others_ended():
    done = []

    def work(n):
        time.sleep(0.01 * n)
        if n == 0:
            raise RuntimeError("first failed")
        done.append(n)

    with pytest.raises(RuntimeError, match="first failed"):
        in_parallel(work, [0, 1, 2], at_once=3)
    assert sorted(done) == [1, 2]


def test_background_work_sees_the_callers_request_id():
    token = request_id_var.set("req-42")
    try:
        assert list(run_ahead(lambda _: request_id_var.get(), [1, 2])) == ["req-42", "req-42"]
        seen = []
        in_parallel(lambda _: seen.append(request_id_var.get()), [1, 2], at_once=2)
        assert seen == ["req-42", "req-42"]
    finally:
        request_id_var.reset(token)


def test_pause_outside_eventlet_is_a_no_op():
    assert pause() is None


def test_fewer_collections_while_bulk_jobs_run_and_the_thresholds_back_after_the_last():
    import gc

    from crm_kit.runtime.pipeline import RELAXED_THRESHOLDS, fewer_collections
    before = gc.get_threshold()
    first = fewer_collections()
    first.__enter__()
    assert gc.get_threshold() == RELAXED_THRESHOLDS
    with fewer_collections():                      # a second job, overlapping the first
        assert gc.get_threshold() == RELAXED_THRESHOLDS
    assert gc.get_threshold() == RELAXED_THRESHOLDS  # the first still runs
    first.__exit__(None, None, None)
    assert gc.get_threshold() == before
    with pytest.raises(ValueError):
        with fewer_collections():
            raise ValueError("the job failed")
    assert gc.get_threshold() == before
