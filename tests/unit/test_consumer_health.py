"""The consumers' part of the probes (``crm_kit.runtime.consumer_health``), as a table."""
from __future__ import annotations

import pytest

from crm_kit.runtime.consumer_health import WatchedConsumer, consumer_state


class _Base:
    """What nameko's QueueConsumer offers the mixin (kombu's callbacks), recording the calls."""

    def __init__(self):
        self.calls = []
        self.should_stop = False
        self._gt = None

    def on_connection_error(self, exc, interval):
        self.calls.append("error")

    def on_consume_ready(self, connection, channel, consumers, **kwargs):
        self.calls.append("ready")

    def on_consume_end(self, connection, channel):
        self.calls.append("end")


class _Consumer(WatchedConsumer, _Base):
    pass


class _Thread:
    def __init__(self, dead):
        self.dead = dead


def _consumer(history, now_at=100.0, monkeypatch=None):
    c = _Consumer()
    for at, what in history:
        monkeypatch.setattr("crm_kit.runtime.consumer_health.time.monotonic", lambda at=at: at)
        {"error": lambda: c.on_connection_error(OSError(), 2),
         "ready": lambda: c.on_consume_ready(None, None, []),
         "end": lambda: c.on_consume_end(None, None),
         "thread died": lambda: setattr(c, "_gt", _Thread(True)),
         "stopping": lambda: setattr(c, "should_stop", True)}[what]()
    return c


CASES = [
    # history (time, what)                             broker  readiness                alive
    ([],                                                True,  "starting",              True),
    ([(1, "ready")],                                    True,  "ok",                    True),
    ([(1, "ready"), (50, "end")],                       True,  "reconnecting for 50 s", True),
    ([(1, "ready"), (5, "end"), (6, "error")],          True,  "reconnecting for 95 s", True),    # lost at the end
    ([(1, "ready"), (5, "end"), (7, "ready")],          True,  "ok",                    True),
    ([(1, "ready"), (5, "error"), (9, "error")],        False, "reconnecting for 95 s", True),    # the broker is away
    ([(1, "ready"), (2, "thread died")],                True,  "stopped",               False),
    ([(1, "ready"), (2, "stopping"), (3, "thread died")], True, "ok",                   True),    # a clean stop
]


@pytest.mark.parametrize("history,broker_ok,readiness,alive", CASES)
def test_consumer_state(history, broker_ok, readiness, alive, monkeypatch):
    consumer = _consumer(history, monkeypatch=monkeypatch)
    state, is_alive = consumer_state([consumer], broker_ok, now=100.0, stall_seconds=120)
    assert (state, is_alive) == (readiness, alive)


@pytest.mark.parametrize("lost_for,broker_ok,alive", [
    (89, True, True),      # still within the stall allowance
    (91, True, False),     # the broker accepts connections, this consumer does not come back: restart it
    (500, False, True),    # the broker itself is away: a restart would not help
])
def test_a_stuck_consumer_fails_liveness_only_while_the_broker_is_there(lost_for, broker_ok, alive, monkeypatch):
    consumer = _consumer([(0, "ready"), (100 - lost_for, "end")], monkeypatch=monkeypatch)
    assert consumer_state([consumer], broker_ok, now=100.0, stall_seconds=90)[1] is alive


def test_the_mixin_passes_kombus_callbacks_on(monkeypatch):
    consumer = _consumer([(1, "ready"), (2, "end"), (3, "error")], monkeypatch=monkeypatch)
    assert consumer.calls == ["ready", "end", "error"]
    assert consumer.lost_since == 2       # lost when consuming ended, not at the later retry


def test_one_bad_consumer_among_several_names_itself(monkeypatch):
    good = _consumer([(1, "ready")], monkeypatch=monkeypatch)
    bad = _consumer([(1, "ready"), (90, "end")], monkeypatch=monkeypatch)
    assert consumer_state([good, bad], True, now=100.0) == ("reconnecting for 10 s", True)
