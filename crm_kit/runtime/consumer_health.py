"""Whether a service's consumers are connected: what its probes report.

nameko's ``QueueConsumer`` reconnects by itself after the broker goes away (kombu's
``ensure_connection``, retrying every 2, 4, ... up to 30 s); but a process whose consumer thread
died, or that has not consumed for a long time while the broker accepts connections, serves no
one and still answers ``/healthz``. :class:`WatchedConsumer` (mixed into the kit's queue
consumers) keeps when its connection was last lost and whether its thread still runs, and
:func:`consumer_state` turns it into the probes' verdict:

- readiness (``/readyz``): ``consumers`` is ``ok`` only while every consumer is connected;
- liveness (``/healthz``): fails when a consumer thread died, or a consumer has been without a
  connection for ``CONSUMER_STALL_SECONDS`` although the broker accepts connections -- the
  kubelet then restarts the pod (the broker's own outage never fails liveness: restarting would
  not help).
"""
from __future__ import annotations

import time

from crm_kit.config import env_float

CONSUMER_STALL_SECONDS = env_float("CONSUMER_STALL_SECONDS", 90.0)


class WatchedConsumer:
    """Mixin for a nameko ``QueueConsumer``: when the connection was lost, when it came back."""

    lost_since: float | None = None          # monotonic; None while connected (or not started)
    connected_once = False

    def on_connection_error(self, exc, interval):
        if self.lost_since is None:
            self.lost_since = time.monotonic()
        super().on_connection_error(exc, interval)

    def on_consume_ready(self, connection, channel, consumers, **kwargs):
        self.lost_since = None
        self.connected_once = True
        super().on_consume_ready(connection, channel, consumers, **kwargs)

    def on_consume_end(self, connection, channel):
        # the consuming loop left (the connection broke): lost until consuming again
        if not getattr(self, "should_stop", False) and self.lost_since is None:
            self.lost_since = time.monotonic()
        super().on_consume_end(connection, channel)

    def health(self, now: float | None = None) -> str:
        """``ok``, ``starting``, ``reconnecting for N s`` or ``stopped`` (its thread ended)."""
        gt = getattr(self, "_gt", None)
        if gt is not None and gt.dead and not getattr(self, "should_stop", False):
            return "stopped"
        if self.lost_since is not None:
            return f"reconnecting for {(now or time.monotonic()) - self.lost_since:.0f} s"
        return "ok" if self.connected_once else "starting"


def watched_consumers(container) -> list[WatchedConsumer]:
    """The container's queue consumers that keep their health (each shared one once)."""
    seen: dict[int, WatchedConsumer] = {}
    for ext in list(container.entrypoints) + list(container.dependencies):
        # an entrypoint holds its queue consumer; an RPC proxy holds a reply listener that does
        for value in vars(ext).values():
            for candidate in (value, getattr(value, "queue_consumer", None)):
                if isinstance(candidate, WatchedConsumer):
                    seen[id(candidate)] = candidate
    return list(seen.values())


def consumer_state(consumers, broker_ok: bool, now: float | None = None,
                   stall_seconds: float = CONSUMER_STALL_SECONDS) -> tuple[str, bool]:
    """(what readiness reports for the consumers, whether the process is alive).

    Alive unless a consumer's thread ended, or it has been reconnecting longer than
    ``stall_seconds`` while the broker accepts connections."""
    now = time.monotonic() if now is None else now
    states = [c.health(now) for c in consumers]
    bad = [s for s in states if s != "ok"]
    alive = True
    for consumer, state in zip(consumers, states):
        if state == "stopped":
            alive = False
        elif consumer.lost_since is not None and broker_ok and now - consumer.lost_since > stall_seconds:
            alive = False
    return ("ok" if not bad else ", ".join(sorted(set(bad)))), alive
